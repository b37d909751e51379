// <runtimeDir>/power.json: the last profile this host applied, for `profile show`,
// drift and health. On tmpfs, so it starts empty at boot, when `profile auto` runs.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic, unlessMissing } from '../util/fsutil.js';
import { PROFILES, MODELS, type ModelName, type ProfileName } from './models.js';

export interface PowerState {
  profile: ProfileName;
  /** auto: chosen by power source; apply: named by someone, held until the power source changes. */
  how: 'auto' | 'apply';
  onBattery: boolean | null;
  model: ModelName;
  appliedAt: string;
  knobsOk: number;
  knobsTotal: number;
  failed: string[];
}

export const powerStatePath = (runtimeDir: string) => join(runtimeDir, 'power.json');

/** null when absent or not a state this version wrote (then the config decides, as after boot). */
export function readPowerState(runtimeDir: string): PowerState | null {
  const text = unlessMissing(() => readFileSync(powerStatePath(runtimeDir), 'utf8'), null);
  if (text === null) return null;
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return null;
  }
  const ok =
    typeof v === 'object' && v !== null &&
    (PROFILES as readonly unknown[]).includes(v.profile) &&
    (v.how === 'auto' || v.how === 'apply') &&
    (v.onBattery === null || typeof v.onBattery === 'boolean') &&
    (MODELS as readonly unknown[]).includes(v.model) &&
    typeof v.appliedAt === 'string' &&
    typeof v.knobsOk === 'number' && typeof v.knobsTotal === 'number' &&
    Array.isArray(v.failed) && v.failed.every((f) => typeof f === 'string');
  return ok ? (v as unknown as PowerState) : null;
}

export function writePowerState(runtimeDir: string, s: PowerState): void {
  mkdirSync(runtimeDir, { recursive: true, mode: 0o755 });
  writeFileAtomic(powerStatePath(runtimeDir), JSON.stringify(s, null, 2) + '\n');
}
