// The power piece's operations over one SysfsIO: inspect (read only: `profile show`,
// drift, health) and apply (`profile apply NAME`, `profile auto`). The CLI adds the
// lock and the state file; tests pass a rule-enforcing fixture IO.
import type { Config } from '../config/schema.js';
import { readFacts, powerSource, type PowerFacts, type PowerSource } from './facts.js';
import { detectModel, PROFILES, type ModelName, type ProfileName } from './models.js';
import { orderSteps, planKnobs, type PlannedKnob } from './plan.js';
import { runSteps, verify, type KnobReport, type StepResult } from './apply.js';
import type { ConflictReport } from './conflicts.js';
import type { PowerState } from './state.js';
import type { SysfsIO } from './sysfs.js';

export type PowerConfig = Config['power'];

export function resolveModel(power: PowerConfig, facts: PowerFacts): { model: ModelName; why: string } {
  if (power.model !== 'auto') return { model: power.model, why: 'power.model in the config' };
  return detectModel(facts.dmi);
}

/** The profile the config asks for on this power source; no battery and no adapter (a desktop) counts as AC. */
export function profileFor(power: PowerConfig, source: PowerSource): { profile: ProfileName; why: string } {
  return source.onBattery === true
    ? { profile: power.onBattery, why: 'power.onBattery: running on battery' }
    : { profile: power.onAC, why: source.onBattery === false ? 'power.onAC: on AC power' : 'power.onAC: no battery or adapter found (treated as AC)' };
}

/** `last` was named with `profile apply` on this same power source, so it still holds. */
const holds = (last: PowerState | null, source: PowerSource): last is PowerState => !!last && last.how === 'apply' && last.onBattery === source.onBattery;

/**
 * What should be applied now: a profile named with `profile apply` holds until the power
 * source changes (as the udev rule would then run `profile auto`); otherwise the config decides.
 */
export function expectedProfile(power: PowerConfig, source: PowerSource, last: PowerState | null): { profile: ProfileName; why: string } {
  if (holds(last, source)) {
    return { profile: last.profile, why: `set by 'profile apply' at ${last.appliedAt}; holds until the power source changes` };
  }
  return profileFor(power, source);
}

function plan(power: PowerConfig, facts: PowerFacts, model: ModelName, profile: ProfileName, source: PowerSource): PlannedKnob[] {
  return planKnobs({ facts, model, profile, onBattery: source.onBattery === true, chargeLimit: power.chargeLimit, overrides: power.overrides });
}

const counted = (ks: KnobReport[]) => ks.filter((k) => k.status !== 'skipped');

export interface Inspection {
  model: { name: ModelName; why: string };
  source: PowerSource;
  expected: { profile: ProfileName; why: string };
  /** The profile whose every knob reads as declared now, if one does. */
  active: ProfileName | null;
  last: PowerState | null;
  knobs: KnobReport[];
  knobsOk: number;
  knobsTotal: number;
  conflicts: ConflictReport | null;
  /** sysfs files that failed to read (counted as absent). */
  unreadable: PowerFacts['unreadable'];
  drift: boolean;
}

export function inspect(power: PowerConfig, io: SysfsIO, opts: { last: PowerState | null; conflicts: ConflictReport | null }): Inspection {
  const facts = readFacts(io);
  const model = resolveModel(power, facts);
  const source = powerSource(facts.supplies);
  const expected = expectedProfile(power, source, opts.last);
  const knobs = verify(io, plan(power, facts, model.model, expected.profile, source), null);
  // A profile applied for the other power source still counts (balanced on battery, just plugged in).
  const matches = (p: ProfileName) =>
    [source, { ...source, onBattery: !source.onBattery }].some((src) => {
      const ks = plan(power, facts, model.model, p, src).filter((k) => !k.skipped);
      return ks.length > 0 && ks.every((k) => k.targets.every((t) => t.current === t.want));
    });
  const active = knobs.every((k) => k.status !== 'drift') && counted(knobs).length ? expected.profile : (PROFILES.find(matches) ?? null);
  const ok = counted(knobs).filter((k) => k.status === 'ok').length;
  return {
    model: { name: model.model, why: model.why },
    source,
    expected,
    active,
    last: opts.last,
    knobs,
    knobsOk: ok,
    knobsTotal: counted(knobs).length,
    conflicts: opts.conflicts,
    unreadable: facts.unreadable,
    drift: ok < counted(knobs).length || (opts.conflicts?.found.length ?? 0) > 0,
  };
}

export interface Application {
  profile: ProfileName;
  why: string;
  /** The profile is one named earlier with `profile apply NAME`, still held (same power source). */
  held: boolean;
  /** As power.json records it: apply when named now or held, else auto. */
  how: PowerState['how'];
  model: { name: ModelName; why: string };
  source: PowerSource;
  knobs: KnobReport[];
  steps: StepResult[];
  knobsOk: number;
  knobsTotal: number;
  failed: string[];
}

/**
 * Applies NAME; with null, the expected profile: the one `last` holds (named with `profile
 * apply`, power source unchanged), else the config's for the power source (`profile auto`
 * passes no `last`). Every write is read back.
 */
export function applyProfile(power: PowerConfig, io: SysfsIO, name: ProfileName | null, last: PowerState | null = null): Application {
  const facts = readFacts(io);
  const model = resolveModel(power, facts);
  const source = powerSource(facts.supplies);
  const chosen = name ? { profile: name, why: "named on the command line ('profile apply')" } : expectedProfile(power, source, last);
  const held = !name && holds(last, source);
  const knobs = plan(power, facts, model.model, chosen.profile, source);
  const steps = runSteps(io, orderSteps(knobs));
  const reports = verify(io, knobs, steps);
  const failed = reports.filter((k) => k.status === 'failed').map((k) => k.id);
  return {
    profile: chosen.profile,
    why: chosen.why,
    held,
    how: name || held ? 'apply' : 'auto',
    model: { name: model.model, why: model.why },
    source,
    knobs: reports,
    steps,
    knobsOk: counted(reports).filter((k) => k.status === 'ok').length,
    knobsTotal: counted(reports).length,
    failed,
  };
}
