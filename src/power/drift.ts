// The power piece's answers for the drift report (kind `profile`) and for status/health.
// Contract: /work/coord/INTERFACES.md. Filled in by the knob layer (in progress).
import type { Config } from '../config/schema.js';

export interface ProfileDriftResult {
  status: 'ok' | 'drift' | 'unknown';
  summary: string;
  details: Record<string, unknown>;
}

export interface PowerSummary {
  profile: string | null;
  onBattery: boolean | null;
  batteryPercent: number | null;
  knobsOk: number;
  knobsTotal: number;
  conflicts: string[];
}

export async function profileDrift(config: Config): Promise<ProfileDriftResult> {
  if (!config.power.enable) return { status: 'unknown', summary: 'power management is disabled (power.enable is false)', details: { enable: false } };
  return { status: 'unknown', summary: 'power profile verification is not available yet', details: {} };
}

export async function powerSummary(config: Config): Promise<PowerSummary | null> {
  if (!config.power.enable) return null;
  return { profile: null, onBattery: null, batteryPercent: null, knobsOk: 0, knobsTotal: 0, conflicts: [] };
}
