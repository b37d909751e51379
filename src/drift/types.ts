// The Drift contract (../coord/INTERFACES.md): one result per kind, read by status,
// health and metrics from the index without recomputing.
export const DRIFT_KINDS = ['reboot', 'nextboot', 'revision', 'closure', 'state', 'persistence', 'profile', 'units'] as const;
export type DriftKind = (typeof DRIFT_KINDS)[number];
export interface DriftCheck {
  kind: DriftKind;
  status: 'ok' | 'drift' | 'unknown';
  summary: string; // one line for people
  details: Record<string, unknown>; // actionable facts (paths, revisions, units, what to run)
  measuredAt: string; // ISO 8601 UTC
}
