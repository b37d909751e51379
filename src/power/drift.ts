// The power piece's answers for the drift report (kind `profile`) and for status and
// health. Contract: /work/coord/INTERFACES.md. Read only: never writes sysfs, and
// never reads it at all when power.enable is false (servers).
import type { Config } from '../config/schema.js';
import { defaultProbe, type ConflictProbe } from './conflicts.js';
import { inspect, type Inspection } from './index.js';
import { readPowerState } from './state.js';
import { nodeSysfs, type SysfsIO } from './sysfs.js';

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

/** Test seams: a fixture sysfs and a conflict probe. Production uses /sys (power.sysfsRoot) and systemd. */
export interface PowerReadDeps {
  io?: SysfsIO;
  conflicts?: ConflictProbe;
}

function look(config: Config, deps: PowerReadDeps): Inspection {
  const io = deps.io ?? nodeSysfs(config.power.sysfsRoot);
  const probe = deps.conflicts ?? defaultProbe(config.systemRoot);
  return inspect(config.power, io, { last: readPowerState(config.runtimeDir), conflicts: probe() });
}

export async function profileDrift(config: Config, deps: PowerReadDeps = {}): Promise<ProfileDriftResult> {
  if (!config.power.enable) return { status: 'unknown', summary: 'power management is off on this host (power.enable is false)', details: { enable: false } };
  let v: Inspection;
  try {
    v = look(config, deps);
  } catch (e) {
    return { status: 'unknown', summary: `cannot read power settings under ${config.power.sysfsRoot}: ${(e as Error).message}`, details: { sysfsRoot: config.power.sysfsRoot } };
  }
  const base = {
    model: v.model.name,
    expected: v.expected.profile,
    expectedWhy: v.expected.why,
    active: v.active,
    onBattery: v.source.onBattery,
    knobsOk: v.knobsOk,
    knobsTotal: v.knobsTotal,
    conflicts: v.conflicts?.found ?? [],
    unreadable: v.unreadable,
  };
  if (v.knobsTotal === 0) {
    return { status: 'unknown', summary: `no power knob of model ${v.model.name} exists under ${config.power.sysfsRoot}`, details: base };
  }
  const drifted = v.knobs
    .filter((k) => k.status === 'drift')
    .map((k) => ({ knob: k.id, declared: k.declared, files: k.targets.filter((t) => !t.ok).map((t) => ({ path: t.path, want: t.want, actual: t.actual })) }));
  const conflicts = v.conflicts?.found ?? [];
  if (!drifted.length && !conflicts.length) {
    return { status: 'ok', summary: `profile ${v.expected.profile}: ${v.knobsOk}/${v.knobsTotal} knobs as declared`, details: base };
  }
  const parts: string[] = [];
  if (drifted.length) parts.push(`profile ${v.expected.profile}: ${drifted.length} of ${v.knobsTotal} knobs differ (${drifted.map((d) => d.knob).join(', ')})`);
  if (conflicts.length) parts.push(`${conflicts.join(', ')} also manage${conflicts.length === 1 ? 's' : ''} power`);
  return {
    status: 'drift',
    summary: parts.join('; '),
    details: {
      ...base,
      drifted,
      fix: [
        ...(drifted.length ? ["run 'pantheragent profile auto' (or 'profile show' for every knob)"] : []),
        ...conflicts.map((c) => `stop and disable ${c} (it writes the same knobs)`),
      ],
    },
  };
}

export async function powerSummary(config: Config, deps: PowerReadDeps = {}): Promise<PowerSummary | null> {
  if (!config.power.enable) return null;
  const v = look(config, deps);
  return {
    // The profile that should be in force; knobsOk/knobsTotal say how much of it is.
    profile: v.expected.profile,
    onBattery: v.source.onBattery,
    batteryPercent: v.source.batteryPercent,
    knobsOk: v.knobsOk,
    knobsTotal: v.knobsTotal,
    conflicts: v.conflicts?.found ?? [],
  };
}
