// Pure planning: (facts, model, profile, power source, config) -> the knobs to set,
// each with its sysfs files and wanted raw values, and the order of the writes.
// No I/O here: the executor (apply.ts) writes and reads back, the view shows.
import { PATHS, systemBatteries, type PowerFacts } from './facts.js';
import { MODEL_TABLE, type Entry, type ModelName, type ProfileKnob, type ProfileName, type ValueSpec } from './models.js';

export type KnobId = ProfileKnob | 'battery.charge_start' | 'battery.charge_end' | 'battery.charge_type' | 'ideapad.conservation_mode';

/** One file a knob writes, with the raw value it must read back. */
export interface Target {
  path: string;
  want: string;
  /** Value when the facts were read. */
  current: string | null;
  /** `charge_types` reads back as a bracketed list: compare the bracketed one. */
  bracketed?: true;
}

export interface PlannedKnob {
  id: KnobId;
  /** The value as people read it ("on", "balance_power", "80"). */
  declared: string;
  why: string;
  origin: 'model' | 'override' | 'chargeLimit';
  targets: Target[];
  /** Why nothing is written for this knob on this machine (absent, not offered); null when it applies. */
  skipped: string | null;
}

export interface PlanInput {
  facts: PowerFacts;
  model: ModelName;
  profile: ProfileName;
  onBattery: boolean;
  chargeLimit: number | null;
  overrides: Partial<Record<ProfileName, Record<string, string | number | null>>>;
}

/**
 * Kill points of a profile run, in the order reached: after the first file written (a profile
 * half applied), and after every write but before power.json records it. Nothing needs undoing
 * after either: the next run (the daemon's re-verify, the next plug event) applies the whole
 * profile again and skips what already reads as wanted.
 */
export const POWER_FAILPOINTS = ['power.after-write', 'power.before-record'] as const;

/** The order knobs are written in, and why. */
export const KNOB_ORDER: { match: (id: string) => boolean; why: string }[] = [
  { match: (id) => id === 'platform_profile', why: 'first: firmware profile changes may reset EPP and firmware tunables' },
  { match: (id) => id === 'asus.throttle_thermal_policy', why: 'the same firmware setting as platform_profile on ASUS' },
  { match: (id) => id.startsWith('armoury.'), why: 'after the profile: ASUS firmware resets its tunables on a profile change' },
  { match: (id) => id === 'cpu.governor', why: 'before EPP: the kernel refuses EPP other than performance under the performance governor (EBUSY)' },
  { match: (id) => id === 'cpu.epp', why: 'after the governor' },
  { match: (id) => id === 'cpu.boost', why: 'independent of the rest' },
  { match: (id) => id === 'nvidia.runtime_pm', why: 'independent of the rest' },
  { match: (id) => id === 'battery.charge_start' || id === 'battery.charge_end', why: 'start and end ordered so that start < end holds after every write' },
  { match: (id) => id === 'battery.charge_type' || id === 'ideapad.conservation_mode', why: 'independent of the rest' },
];
const rank = (id: string) => KNOB_ORDER.findIndex((o) => o.match(id));

export const LABELS: Record<string, string> = {
  platform_profile: 'platform profile',
  'asus.throttle_thermal_policy': 'ASUS throttle_thermal_policy',
  'cpu.governor': 'cpufreq governor',
  'cpu.epp': 'energy performance preference',
  'cpu.boost': 'CPU boost',
  'nvidia.runtime_pm': 'NVIDIA dGPU runtime PM',
  'battery.charge_start': 'charge start threshold',
  'battery.charge_end': 'charge end threshold',
  'battery.charge_type': 'charge type',
  'ideapad.conservation_mode': 'Lenovo conservation mode',
};
export const labelOf = (id: string) => LABELS[id] ?? (id.startsWith('armoury.') ? `asus-armoury ${id.slice(8)}` : id);

/** How far below the end threshold charging starts again (UPower's default pair is 75/80). */
export const CHARGE_START_GAP = 5;

function resolveSpec(spec: ValueSpec, onBattery: boolean, offered: string[] | null): { value: string } | { skipped: string } {
  if (typeof spec === 'string') return { value: spec };
  if ('ac' in spec) return { value: onBattery ? spec.battery : spec.ac };
  const hit = spec.prefer.find((v) => offered === null || offered.includes(v));
  return hit ? { value: hit } : { skipped: `none of ${spec.prefer.join(', ')} is offered (choices: ${offered?.join(' ') || 'none'})` };
}

const intersect = (lists: string[][]) => (lists.length ? lists.reduce((a, b) => a.filter((x) => b.includes(x))) : []);

/** Where a knob lives on this machine, and the raw value for a declared one. */
function locate(id: string, declared: string, facts: PowerFacts): { targets: Target[]; declared: string } | { skipped: string } {
  const t = (path: string, want: string, current: string | null): Target => ({ path, want, current });
  switch (id) {
    case 'platform_profile':
      if (!facts.profiles.length) return { skipped: 'no platform_profile on this machine' };
      return { declared, targets: facts.profiles.map((h) => t(h.path, declared, h.current)) };
    case 'asus.throttle_thermal_policy':
      if (facts.asusThrottle === null) return { skipped: 'no asus-nb-wmi throttle_thermal_policy on this machine' };
      return { declared, targets: [t(`${PATHS.asusWmi}/throttle_thermal_policy`, declared, facts.asusThrottle)] };
    case 'cpu.governor': {
      // Only where the driver is in active mode (it has EPP): there powersave hands the choice to
      // the hardware; under a passive driver (acpi-cpufreq, schedutil) it would pin the lowest frequency.
      const ps = facts.policies.filter((p) => p.governor !== null && p.epp !== null);
      if (!ps.length) return { skipped: 'no active-mode cpufreq driver (no EPP): the governor is left to the kernel default' };
      return { declared, targets: ps.map((p) => t(`${PATHS.cpufreq}/${p.name}/scaling_governor`, declared, p.governor)) };
    }
    case 'cpu.epp': {
      const ps = facts.policies.filter((p) => p.epp !== null);
      if (!ps.length) return { skipped: 'no energy_performance_preference (the cpufreq driver is not in active mode)' };
      return { declared, targets: ps.map((p) => t(`${PATHS.cpufreq}/${p.name}/energy_performance_preference`, declared, p.epp)) };
    }
    case 'cpu.boost': {
      if (declared !== 'on' && declared !== 'off') return { skipped: `cpu.boost takes "on" or "off", not "${declared}"` };
      const on = declared === 'on';
      // intel_pstate has its own inverted switch; acpi-cpufreq one global file; amd-pstate (6.11+) one per policy.
      if (facts.noTurbo !== null) return { declared, targets: [t(`${PATHS.intelPstate}/no_turbo`, on ? '0' : '1', facts.noTurbo)] };
      if (facts.globalBoost !== null) return { declared, targets: [t(`${PATHS.cpufreq}/boost`, on ? '1' : '0', facts.globalBoost)] };
      const ps = facts.policies.filter((p) => p.boost !== null);
      if (!ps.length) return { skipped: 'no boost control (intel_pstate/no_turbo, cpufreq/boost or policy*/boost)' };
      return { declared, targets: ps.map((p) => t(`${PATHS.cpufreq}/${p.name}/boost`, on ? '1' : '0', p.boost)) };
    }
    case 'nvidia.runtime_pm':
      if (!facts.nvidia.length) return { skipped: 'no NVIDIA display controller on the PCI bus' };
      return { declared, targets: facts.nvidia.map((g) => t(`${PATHS.pci}/${g.device}/power/control`, declared, g.control)) };
    case 'battery.charge_start':
    case 'battery.charge_end': {
      const key = id === 'battery.charge_start' ? 'chargeStart' : 'chargeEnd';
      const file = id === 'battery.charge_start' ? 'charge_control_start_threshold' : 'charge_control_end_threshold';
      const bs = systemBatteries(facts.supplies).filter((b) => b[key] !== null);
      if (!bs.length) return { skipped: `no battery with ${file}` };
      return { declared, targets: bs.map((b) => t(`${PATHS.supplies}/${b.name}/${file}`, declared, String(b[key]))) };
    }
    case 'battery.charge_type': {
      const bs = systemBatteries(facts.supplies).filter((b) => b.chargeTypes?.available.includes(declared));
      if (!bs.length) return { skipped: `no battery offers charge type ${declared}` };
      return { declared, targets: bs.map((b) => ({ ...t(`${PATHS.supplies}/${b.name}/charge_types`, declared, b.chargeTypes!.active), bracketed: true as const })) };
    }
    case 'ideapad.conservation_mode':
      if (!facts.conservation.length) return { skipped: 'no ideapad_acpi conservation_mode' };
      return { declared, targets: facts.conservation.map((c) => t(c.path, declared, c.value)) };
  }
  if (id.startsWith('armoury.')) {
    const name = id.slice(8);
    const a = facts.armoury.find((x) => x.name === name);
    if (!a) return { skipped: `no asus-armoury attribute ${name}` };
    let raw = declared;
    if (declared === 'min' || declared === 'max') {
      const bound = declared === 'min' ? a.min : a.max;
      if (bound === null) return { skipped: `asus-armoury ${name} has no ${declared}_value` };
      raw = String(bound);
    }
    return { declared: raw === declared ? declared : `${raw} (${declared})`, targets: [t(`${PATHS.armoury}/${name}/current_value`, raw, a.current)] };
  }
  return { skipped: `unknown knob ${id}` };
}

function offeredFor(id: string, facts: PowerFacts): string[] | null {
  if (id === 'platform_profile') return intersect(facts.profiles.map((h) => h.choices));
  return null;
}

/** The knobs of one profile on this machine, in write order. */
export function planKnobs(input: PlanInput): PlannedKnob[] {
  const { facts, onBattery } = input;
  const model = MODEL_TABLE[input.model];
  const decl = new Map<string, { spec: ValueSpec; why: string; origin: PlannedKnob['origin'] }>();
  for (const [id, row] of Object.entries(model.knobs) as [string, Record<ProfileName, Entry>][]) {
    const e = row[input.profile];
    decl.set(id, { spec: e.value, why: e.why, origin: 'model' });
  }
  const limit = input.chargeLimit;
  if (limit !== null) {
    if (model.charge.thresholds) {
      decl.set('battery.charge_start', {
        spec: String(Math.max(0, limit - CHARGE_START_GAP)),
        why: `power.chargeLimit ${limit} minus ${CHARGE_START_GAP}: charging resumes a little below the limit, not for every percent lost on AC`,
        origin: 'chargeLimit',
      });
      decl.set('battery.charge_end', { spec: String(limit), why: `power.chargeLimit: stop charging at ${limit}% to slow battery wear`, origin: 'chargeLimit' });
    }
    if (model.charge.lenovoLongLife) {
      const on = limit < 100;
      const fixed = 'Lenovo firmware has no percentage limit: conservation holds the battery near 80% (60% on older models)';
      decl.set('battery.charge_type', { spec: on ? 'Long_Life' : 'Standard', why: on ? `power.chargeLimit ${limit} < 100. ${fixed}` : 'power.chargeLimit 100: charge fully', origin: 'chargeLimit' });
      decl.set('ideapad.conservation_mode', {
        spec: on ? '1' : '0',
        why: on ? `power.chargeLimit ${limit} < 100 (the ideapad switch, for kernels without charge_types Long_Life). ${fixed}` : 'power.chargeLimit 100: charge fully',
        origin: 'chargeLimit',
      });
    }
  }
  for (const [id, v] of Object.entries(input.overrides[input.profile] ?? {})) {
    if (v === null) decl.delete(id);
    else decl.set(id, { spec: String(v), why: `power.overrides["${input.profile}"]["${id}"]`, origin: 'override' });
  }
  // An overridden end threshold brings the derived start with it, so start < end still holds.
  const end = decl.get('battery.charge_end');
  const start = decl.get('battery.charge_start');
  if (end?.origin === 'override' && start?.origin === 'chargeLimit' && Number.isFinite(Number(end.spec))) {
    decl.set('battery.charge_start', { ...start, spec: String(Math.max(0, Number(end.spec) - CHARGE_START_GAP)), why: `the overridden end threshold minus ${CHARGE_START_GAP}` });
  }

  const out: PlannedKnob[] = [];
  for (const [id, d] of decl) {
    const base = { id: id as KnobId, why: d.why, origin: d.origin };
    const value = resolveSpec(d.spec, onBattery, offeredFor(id, facts));
    if ('skipped' in value) {
      out.push({ ...base, declared: typeof d.spec === 'string' ? d.spec : 'prefer' in d.spec ? d.spec.prefer.join(' | ') : `${d.spec.ac} (AC) / ${d.spec.battery} (battery)`, targets: [], skipped: value.skipped });
      continue;
    }
    const where = locate(id, value.value, facts);
    if ('skipped' in where) out.push({ ...base, declared: value.value, targets: [], skipped: where.skipped });
    else out.push({ ...base, declared: where.declared, targets: where.targets, skipped: null });
  }
  // charge_types and conservation_mode are one firmware switch: write conservation_mode only where charge_types cannot.
  const chargeType = out.find((k) => k.id === 'battery.charge_type');
  const conservation = out.find((k) => k.id === 'ideapad.conservation_mode');
  if (chargeType && !chargeType.skipped && conservation && !conservation.skipped && conservation.origin !== 'override') {
    conservation.targets = [];
    conservation.skipped = 'covered by charge_types (the same firmware switch)';
  }
  return out.sort((a, b) => rank(a.id) - rank(b.id));
}

export interface Step {
  knob: KnobId;
  target: Target;
}

/**
 * Start and end thresholds of one battery, in an order that keeps start < end after each
 * write (the kernel refuses a write that would break it): lower the start first when the
 * new start is below the current end, otherwise raise the end first.
 */
export function thresholdOrder(current: { start: number | null; end: number | null }, want: { start: number | null; end: number | null }): ('start' | 'end')[] {
  if (want.start === null) return want.end === null ? [] : ['end'];
  if (want.end === null) return ['start'];
  if (current.end === null || want.start < current.end) return ['start', 'end'];
  return ['end', 'start'];
}

const batteryOf = (path: string) => path.slice(0, path.lastIndexOf('/'));

/** Every write, in order: knobs by KNOB_ORDER; each battery's thresholds by thresholdOrder. */
export function orderSteps(knobs: PlannedKnob[]): Step[] {
  const steps: Step[] = [];
  const start = knobs.find((k) => k.id === 'battery.charge_start');
  const end = knobs.find((k) => k.id === 'battery.charge_end');
  let thresholdsDone = false;
  for (const k of knobs) {
    if (k.id === 'battery.charge_start' || k.id === 'battery.charge_end') {
      if (thresholdsDone) continue;
      thresholdsDone = true;
      const batteries = [...new Set([...(start?.targets ?? []), ...(end?.targets ?? [])].map((t) => batteryOf(t.path)))];
      for (const b of batteries) {
        const s = start?.targets.find((t) => batteryOf(t.path) === b);
        const e = end?.targets.find((t) => batteryOf(t.path) === b);
        const n = (x: string | null | undefined) => (x === null || x === undefined || x === '' || !Number.isFinite(Number(x)) ? null : Number(x));
        for (const which of thresholdOrder({ start: n(s?.current), end: n(e?.current) }, { start: n(s?.want), end: n(e?.want) })) {
          steps.push(which === 'start' ? { knob: 'battery.charge_start', target: s! } : { knob: 'battery.charge_end', target: e! });
        }
      }
      continue;
    }
    for (const target of k.targets) steps.push({ knob: k.id, target });
  }
  return steps;
}
