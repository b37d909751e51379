// Drift results in the index: the latest per kind (status, health and metrics read it
// without recomputing) and a row for every change of a kind's status (drift --history).
import { isoTime } from '../cli/output.js';
import type { Db } from '../store/db.js';
import { DRIFT_KINDS, type DriftCheck, type DriftKind } from './types.js';

export interface DriftChange {
  kind: DriftKind;
  at: string;
  /** null for the first result ever stored for the kind. */
  previous: DriftCheck['status'] | null;
  status: DriftCheck['status'];
  summary: string;
}

export interface DriftStanding extends DriftCheck {
  /** When the kind's status last changed (or was first measured). */
  since: string;
}

/** Changes kept per kind: enough for "when did this start", bounded for a check that flaps. */
const CHANGES_KEPT = 200;

const order = (k: string) => DRIFT_KINDS.indexOf(k as DriftKind);

interface LatestRow {
  kind: string;
  status: DriftCheck['status'];
  summary: string;
  details: string;
  measured_at: number;
  since: number;
}

function isKind(k: string): k is DriftKind {
  return (DRIFT_KINDS as readonly string[]).includes(k);
}

function standings(db: Db): DriftStanding[] {
  const rows = db.prepare('SELECT kind, status, summary, details, measured_at, since FROM drift_latest').all() as LatestRow[];
  return rows
    .filter((r) => isKind(r.kind)) // a kind a newer version stored and this one does not know
    .sort((a, b) => order(a.kind) - order(b.kind))
    .map((r) => ({ kind: r.kind as DriftKind, status: r.status, summary: r.summary, details: JSON.parse(r.details) as Record<string, unknown>, measuredAt: isoTime(r.measured_at), since: isoTime(r.since) }));
}

/** The latest stored result per kind, in DRIFT_KINDS order; [] when drift never ran. */
export function readLatestDrift(db: Db): DriftCheck[] {
  return standings(db).map(({ since: _since, ...c }) => c);
}

/** The latest result per kind with the time its status last changed. */
export function readDriftStandings(db: Db): DriftStanding[] {
  return standings(db);
}

/** Status changes, newest first. */
export function readDriftChanges(db: Db, opts: { kinds?: DriftKind[]; limit?: number } = {}): DriftChange[] {
  const rows = db.prepare('SELECT kind, at, previous, status, summary FROM drift_changes ORDER BY id DESC').all() as { kind: string; at: number; previous: DriftChange['previous']; status: DriftChange['status']; summary: string }[];
  return rows
    .filter((r) => isKind(r.kind) && (!opts.kinds || opts.kinds.includes(r.kind)))
    .slice(0, opts.limit ?? Infinity)
    .map((r) => ({ kind: r.kind as DriftKind, at: isoTime(r.at), previous: r.previous, status: r.status, summary: r.summary }));
}

export function storeDrift(db: Db, checks: DriftCheck[]): void {
  const get = db.prepare('SELECT status, since FROM drift_latest WHERE kind = ?');
  const put = db.prepare('INSERT OR REPLACE INTO drift_latest (kind, status, summary, details, measured_at, since) VALUES (?, ?, ?, ?, ?, ?)');
  const change = db.prepare('INSERT INTO drift_changes (kind, at, previous, status, summary) VALUES (?, ?, ?, ?, ?)');
  const trim = db.prepare('DELETE FROM drift_changes WHERE kind = ? AND id <= (SELECT id FROM drift_changes WHERE kind = ? ORDER BY id DESC LIMIT 1 OFFSET ?)');
  // IMMEDIATE: take the write lock up front (waiting busy_timeout), never half way through.
  db.transaction(() => {
    for (const c of checks) {
      const at = Date.parse(c.measuredAt);
      if (!Number.isFinite(at)) throw new Error(`drift result for ${c.kind}: measuredAt "${c.measuredAt}" is not an ISO time`);
      const prev = get.get(c.kind) as { status: DriftCheck['status']; since: number } | undefined;
      const changed = !prev || prev.status !== c.status;
      put.run(c.kind, c.status, c.summary, JSON.stringify(c.details), at, changed ? at : prev.since);
      if (changed) {
        change.run(c.kind, at, prev?.status ?? null, c.status, c.summary);
        trim.run(c.kind, c.kind, CHANGES_KEPT);
      }
    }
  }).immediate();
}
