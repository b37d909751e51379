// The model table: for each supported machine, each profile's value of each knob and
// why. Profiles are named as power-profiles-daemon names them. Values follow ppd's
// drivers (platform_profile, amd_pstate, intel_pstate), TLP's defaults and asusd's
// profile handling; where this table departs from them, the reason says so.
import type { PowerFacts } from './facts.js';

export const PROFILES = ['power-saver', 'balanced', 'performance'] as const;
export type ProfileName = (typeof PROFILES)[number];
export const MODELS = ['generic', 'lenovo-yoga-7', 'asus-zephyrus-m16'] as const;
export type ModelName = (typeof MODELS)[number];

/**
 * A knob's value in one profile:
 * - a string: that value;
 * - { ac, battery }: depends on the power source;
 * - { prefer: [...] }: the first the platform offers (platform_profile choices differ by vendor);
 * - 'min' / 'max' (asus-armoury): the attribute's own bound, which differs by SKU.
 */
export type ValueSpec = string | { ac: string; battery: string } | { prefer: string[] };
export interface Entry {
  value: ValueSpec;
  why: string;
}
export type ProfileRow = Record<ProfileName, Entry>;

/** Knobs a profile sets. Charge limits are not per profile: they come from power.chargeLimit. */
export type ProfileKnob = 'platform_profile' | 'asus.throttle_thermal_policy' | 'cpu.governor' | 'cpu.epp' | 'cpu.boost' | 'nvidia.runtime_pm' | `armoury.${string}`;

export interface Model {
  name: ModelName;
  description: string;
  knobs: Partial<Record<ProfileKnob, ProfileRow>>;
  /** How this machine limits charge: percentage thresholds (standard power_supply files) and/or Lenovo's fixed mode. */
  charge: { thresholds: boolean; lenovoLongLife: boolean };
}

// power-profiles-daemon's platform_profile driver: power-saver is low-power, or quiet
// where the firmware has no low-power (ASUS offers quiet, balanced, performance).
const platformProfile: ProfileRow = {
  'power-saver': { value: { prefer: ['low-power', 'quiet', 'cool'] }, why: 'firmware power limits and fan curve for the lowest draw (ppd: low-power, else quiet)' },
  balanced: { value: 'balanced', why: "the firmware's default limits" },
  performance: { value: { prefer: ['performance', 'balanced-performance'] }, why: 'highest sustained power limits the firmware allows (ppd: performance)' },
};

// ppd's amd_pstate and intel_pstate drivers: governor powersave for power-saver and
// balanced (in active mode it only hands control to EPP), performance for performance.
const governor: ProfileRow = {
  'power-saver': { value: 'powersave', why: 'active-mode pstate drivers leave frequency choice to the hardware guided by EPP; "performance" would pin EPP to performance' },
  balanced: { value: 'powersave', why: 'as power-saver: EPP carries the preference (ppd and TLP default)' },
  performance: { value: 'performance', why: 'ppd sets the performance governor; the kernel then holds EPP at performance and refuses other EPP values (EBUSY)' },
};

const epp: ProfileRow = {
  'power-saver': { value: 'power', why: 'strongest energy bias (ppd power-saver)' },
  balanced: {
    value: { ac: 'balance_performance', battery: 'balance_power' },
    why: "ppd's balanced is balance_performance; on battery balance_power, as TLP's CPU_ENERGY_PERF_POLICY_ON_BAT default",
  },
  performance: { value: 'performance', why: 'ppd performance; the only EPP the kernel accepts under the performance governor' },
};

const boostGeneric: ProfileRow = {
  'power-saver': { value: 'on', why: 'left on as ppd does: short boosts finish work sooner (race to idle)' },
  balanced: { value: 'on', why: 'kernel default' },
  performance: { value: 'on', why: 'full single-thread speed' },
};

/** Standard knobs only: what ppd would do on any laptop. */
const generic: Model = {
  name: 'generic',
  description: 'any laptop: platform_profile, cpufreq governor, EPP, boost, charge thresholds where present',
  knobs: { platform_profile: platformProfile, 'cpu.governor': governor, 'cpu.epp': epp, 'cpu.boost': boostGeneric },
  charge: { thresholds: true, lenovoLongLife: false },
};

/**
 * Lenovo Yoga 7 2-in-1: battery life first. AMD models (14AHP9, 16AHP9) run amd-pstate-epp,
 * Intel ones (Meteor Lake, Lunar Lake) intel_pstate; both expose the same cpufreq files,
 * and ideapad-laptop's DYTC platform_profile offers low-power, balanced, performance.
 */
const yoga: Model = {
  name: 'lenovo-yoga-7',
  description: 'Lenovo Yoga 7 2-in-1 (ideapad-laptop; amd-pstate-epp or intel_pstate)',
  knobs: {
    platform_profile: platformProfile,
    'cpu.governor': governor,
    'cpu.epp': epp,
    'cpu.boost': {
      'power-saver': { value: 'off', why: "boost costs disproportionate power on a 15-28 W part; off for battery life (TLP's CPU_BOOST_ON_BAT=0 advice)" },
      balanced: { value: 'on', why: 'responsive on AC, which is where this host runs balanced' },
      performance: { value: 'on', why: 'full single-thread speed' },
    },
  },
  // ideapad-laptop has no percentage threshold: only a conservation mode (charge_types Long_Life on newer kernels).
  charge: { thresholds: true, lenovoLongLife: true },
};

/**
 * ASUS ROG Zephyrus M16 (GU603/GU604/GU605): Intel intel_pstate, NVIDIA dGPU, asus-wmi
 * platform_profile (quiet, balanced, performance) backed by throttle_thermal_policy,
 * and asus-armoury firmware attributes on recent kernels. Performance first.
 */
const zephyrus: Model = {
  name: 'asus-zephyrus-m16',
  description: 'ASUS ROG Zephyrus M16 (asus-wmi, asus-armoury, intel_pstate, NVIDIA dGPU)',
  knobs: {
    platform_profile: platformProfile,
    // asus-wmi's own file for the same firmware setting (0 balanced, 1 performance, 2 quiet), as
    // asusd writes it on kernels without platform_profile; read back here so both views agree.
    'asus.throttle_thermal_policy': {
      'power-saver': { value: '2', why: 'silent: the quiet fan curve and lowest power limits (asusd Quiet)' },
      balanced: { value: '0', why: 'the firmware default (asusd Balanced)' },
      performance: { value: '1', why: 'overboost: highest power limits (asusd Performance)' },
    },
    // Written after the platform profile: the firmware resets its tunables when the profile changes (asusd re-applies them the same way).
    'armoury.nv_dynamic_boost': {
      'power-saver': { value: 'min', why: 'no CPU power shifted to the dGPU when saving power' },
      balanced: { value: 'min', why: 'this host runs balanced on battery, where dGPU boost only drains it' },
      performance: { value: 'max', why: 'let the dGPU borrow the most power under load (heavy development on AC)' },
    },
    'cpu.governor': governor,
    'cpu.epp': epp,
    'cpu.boost': {
      'power-saver': { value: 'off', why: 'turbo on a 45 W H-series part drains the battery fastest; off when saving power' },
      balanced: { value: 'on', why: 'kernel default; balanced is the on-battery profile of a performance-first host' },
      performance: { value: 'on', why: 'full single-thread speed' },
    },
    'nvidia.runtime_pm': {
      'power-saver': { value: 'auto', why: 'let the idle dGPU reach D3cold: the largest single saving on battery (TLP RUNTIME_PM_ON_BAT=auto)' },
      balanced: { value: 'auto', why: 'as power-saver: balanced is the on-battery profile here' },
      performance: { value: 'on', why: 'keep the dGPU powered for compute and games without resume latency (TLP RUNTIME_PM_ON_AC=on)' },
    },
  },
  // asus-wmi offers charge_control_end_threshold only.
  charge: { thresholds: true, lenovoLongLife: false },
};

export const MODEL_TABLE: Record<ModelName, Model> = { generic, 'lenovo-yoga-7': yoga, 'asus-zephyrus-m16': zephyrus };

/**
 * model: auto. Lenovo puts the marketing name in product_version / product_family and the
 * machine type (e.g. 83DK) in product_name; ASUS puts it in product_name.
 */
export function detectModel(dmi: PowerFacts['dmi']): { model: ModelName; why: string } {
  const vendor = (dmi.vendor ?? '').toLowerCase();
  const names = [dmi.product, dmi.version, dmi.family].filter((s): s is string => !!s);
  const seen = `sys_vendor "${dmi.vendor ?? '?'}", product "${names.join(' / ') || '?'}"`;
  if (vendor.startsWith('lenovo') && names.some((n) => /\byoga\s*7\b/i.test(n))) return { model: 'lenovo-yoga-7', why: `DMI: ${seen}` };
  if (vendor.startsWith('asustek') && names.some((n) => /zephyrus\s*m16/i.test(n))) return { model: 'asus-zephyrus-m16', why: `DMI: ${seen}` };
  return { model: 'generic', why: `DMI ${seen} is not a known model: standard knobs only` };
}
