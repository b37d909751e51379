// The reader: one pass over the power-related parts of sysfs into plain data. The
// planner, the view and the drift check work on these facts; nothing here writes.
// Formats are the kernel's documented ones (Documentation/ABI/testing/sysfs-class-
// power, sysfs-platform_profile, sysfs-devices-system-cpu, sysfs-class-firmware-attributes).
import { errnoOf, type SysfsIO } from './sysfs.js';

export const PATHS = {
  dmi: 'class/dmi/id',
  supplies: 'class/power_supply',
  legacyProfile: 'firmware/acpi/platform_profile',
  legacyChoices: 'firmware/acpi/platform_profile_choices',
  profileClass: 'class/platform-profile',
  cpufreq: 'devices/system/cpu/cpufreq',
  intelPstate: 'devices/system/cpu/intel_pstate',
  amdPstate: 'devices/system/cpu/amd_pstate',
  asusWmi: 'devices/platform/asus-nb-wmi',
  armoury: 'class/firmware-attributes/asus-armoury/attributes',
  ideapad: 'bus/platform/drivers/ideapad_acpi',
  pci: 'bus/pci/devices',
} as const;

export interface Supply {
  name: string;
  /** The `type` file: Mains, Battery, USB, UPS, Wireless. Supplies are known by this, never by name. */
  type: string;
  online: boolean | null;
  /** `Device` for peripherals (a mouse's battery); absent or `System` for the laptop's own. */
  scope: string | null;
  status: string | null;
  capacity: number | null;
  energyNow: number | null;
  energyFull: number | null;
  chargeStart: number | null;
  chargeEnd: number | null;
  /** `charge_types`: the offered types, and the active one (shown in brackets). */
  chargeTypes: { available: string[]; active: string | null } | null;
}

export interface CpuPolicy {
  name: string;
  driver: string | null;
  governor: string | null;
  governors: string[];
  epp: string | null;
  epps: string[];
  boost: string | null;
}

export interface ProfileHandler {
  /** Path of the `profile` file (legacy or class). */
  path: string;
  name: string;
  current: string | null;
  choices: string[];
}

export interface ArmouryAttribute {
  name: string;
  current: string | null;
  min: number | null;
  max: number | null;
  possible: string[] | null;
}

export interface PowerFacts {
  dmi: { vendor: string | null; product: string | null; version: string | null; family: string | null };
  supplies: Supply[];
  /** The legacy file when present (it drives every handler), else each class handler. */
  profiles: ProfileHandler[];
  policies: CpuPolicy[];
  noTurbo: string | null;
  globalBoost: string | null;
  pstateStatus: string | null;
  asusThrottle: string | null;
  armoury: ArmouryAttribute[];
  /** Runtime PM `power/control` of each NVIDIA display controller, by PCI address. */
  nvidia: { device: string; control: string | null }[];
  /** ideapad-laptop's conservation_mode, per ACPI device. */
  conservation: { path: string; value: string | null }[];
  /** Files that exist but failed to read (a flaky embedded controller answers EIO): treated as absent, and reported. */
  unreadable: { path: string; code: string }[];
}

const num = (s: string | null): number | null => {
  if (s === null || s === '') return null;
  const n = Number(s);
  return Number.isFinite(n) ? n : null;
};
const words = (s: string | null): string[] => (s ? s.split(/\s+/).filter(Boolean) : []);

/** `Fast [Standard] Long_Life` -> the names and the bracketed one. */
export function parseBracketed(s: string | null): { available: string[]; active: string | null } | null {
  if (s === null) return null;
  let active: string | null = null;
  const available = words(s).map((w) => {
    const m = /^\[(.+)\]$/.exec(w);
    if (m) active = m[1]!;
    return m ? m[1]! : w;
  });
  return { available, active: active ?? (available.length === 1 ? available[0]! : null) };
}

export function readSupplies(io: SysfsIO): Supply[] {
  const out: Supply[] = [];
  for (const name of io.list(PATHS.supplies)) {
    const d = `${PATHS.supplies}/${name}`;
    const type = io.read(`${d}/type`);
    if (type === null) continue;
    const online = io.read(`${d}/online`);
    out.push({
      name,
      type,
      online: online === null ? null : online === '1',
      scope: io.read(`${d}/scope`),
      status: io.read(`${d}/status`),
      capacity: num(io.read(`${d}/capacity`)),
      energyNow: num(io.read(`${d}/energy_now`)) ?? num(io.read(`${d}/charge_now`)),
      energyFull: num(io.read(`${d}/energy_full`)) ?? num(io.read(`${d}/charge_full`)),
      chargeStart: num(io.read(`${d}/charge_control_start_threshold`)),
      chargeEnd: num(io.read(`${d}/charge_control_end_threshold`)),
      chargeTypes: parseBracketed(io.read(`${d}/charge_types`)),
    });
  }
  return out;
}

/** The laptop's own batteries: type Battery, not a peripheral's (scope Device). */
export const systemBatteries = (supplies: Supply[]) => supplies.filter((s) => s.type === 'Battery' && s.scope !== 'Device');

export interface PowerSource {
  /** null when the machine has no battery and no adapter to say (a desktop or a VM): treated as AC. */
  onBattery: boolean | null;
  batteryPercent: number | null;
  batteryState: string | null;
  adapters: string[];
  batteries: string[];
}

/** AC when any Mains or USB (USB-C power delivery) supply is online; battery when a system battery exists and none is. */
export function powerSource(supplies: Supply[]): PowerSource {
  const adapters = supplies.filter((s) => (s.type === 'Mains' || s.type === 'USB') && s.scope !== 'Device');
  const batteries = systemBatteries(supplies);
  const anyOnline = adapters.some((a) => a.online === true);
  let percent: number | null = null;
  const withEnergy = batteries.filter((b) => b.energyNow !== null && b.energyFull !== null && b.energyFull > 0);
  if (batteries.length && withEnergy.length === batteries.length) {
    const now = withEnergy.reduce((a, b) => a + b.energyNow!, 0);
    const full = withEnergy.reduce((a, b) => a + b.energyFull!, 0);
    percent = Math.round((100 * now) / full);
  } else {
    const caps = batteries.map((b) => b.capacity).filter((c): c is number => c !== null);
    if (caps.length) percent = Math.round(caps.reduce((a, b) => a + b, 0) / caps.length);
  }
  const states = [...new Set(batteries.map((b) => b.status).filter((s): s is string => s !== null))];
  return {
    onBattery: anyOnline ? false : batteries.length ? true : adapters.length ? false : null,
    batteryPercent: percent,
    batteryState: states.length ? states.join(', ') : null,
    adapters: adapters.map((a) => a.name),
    batteries: batteries.map((b) => b.name),
  };
}

function readProfiles(io: SysfsIO): ProfileHandler[] {
  const legacy = io.read(PATHS.legacyProfile);
  if (legacy !== null) return [{ path: PATHS.legacyProfile, name: 'acpi', current: legacy, choices: words(io.read(PATHS.legacyChoices)) }];
  return io.list(PATHS.profileClass).flatMap((h) => {
    const d = `${PATHS.profileClass}/${h}`;
    const current = io.read(`${d}/profile`);
    if (current === null) return [];
    return [{ path: `${d}/profile`, name: io.read(`${d}/name`) ?? h, current, choices: words(io.read(`${d}/choices`)) }];
  });
}

function readPolicies(io: SysfsIO): CpuPolicy[] {
  return io
    .list(PATHS.cpufreq)
    .filter((n) => /^policy\d+$/.test(n))
    .sort((a, b) => Number(a.slice(6)) - Number(b.slice(6)))
    .map((name) => {
      const d = `${PATHS.cpufreq}/${name}`;
      return {
        name,
        driver: io.read(`${d}/scaling_driver`),
        governor: io.read(`${d}/scaling_governor`),
        governors: words(io.read(`${d}/scaling_available_governors`)),
        epp: io.read(`${d}/energy_performance_preference`),
        epps: words(io.read(`${d}/energy_performance_available_preferences`)),
        boost: io.read(`${d}/boost`),
      };
    });
}

function readArmoury(io: SysfsIO): ArmouryAttribute[] {
  return io.list(PATHS.armoury).map((name) => {
    const d = `${PATHS.armoury}/${name}`;
    const possible = io.read(`${d}/possible_values`);
    return {
      name,
      current: io.read(`${d}/current_value`),
      min: num(io.read(`${d}/min_value`)),
      max: num(io.read(`${d}/max_value`)),
      // The firmware-attributes ABI separates possible values with ";" (some drivers use ",").
      possible: possible === null ? null : possible.split(/[;,]/).map((v) => v.trim()).filter(Boolean),
    };
  });
}

function readNvidia(io: SysfsIO): PowerFacts['nvidia'] {
  return io.list(PATHS.pci).flatMap((dev) => {
    const d = `${PATHS.pci}/${dev}`;
    // Vendor 0x10de is NVIDIA; PCI class 0x03xxxx is a display controller (VGA or 3D).
    if (io.read(`${d}/vendor`) !== '0x10de' || !(io.read(`${d}/class`) ?? '').startsWith('0x03')) return [];
    return [{ device: dev, control: io.read(`${d}/power/control`) }];
  });
}

function readConservation(io: SysfsIO): PowerFacts['conservation'] {
  return io.list(PATHS.ideapad).flatMap((dev) => {
    const path = `${PATHS.ideapad}/${dev}/conservation_mode`;
    const value = io.read(path);
    return value === null ? [] : [{ path, value }];
  });
}

/** One bad attribute must not stop the rest: a read error counts as absent and is listed. */
function tolerant(io: SysfsIO, unreadable: PowerFacts['unreadable']): SysfsIO {
  const guard = <T>(path: string, fn: () => T, absent: T): T => {
    try {
      return fn();
    } catch (e) {
      unreadable.push({ path, code: errnoOf(e) });
      return absent;
    }
  };
  return {
    root: io.root,
    read: (p) => guard(p, () => io.read(p), null),
    list: (d) => guard(d, () => io.list(d), []),
    write: (p, v) => io.write(p, v),
  };
}

export function readFacts(sysfs: SysfsIO): PowerFacts {
  const unreadable: PowerFacts['unreadable'] = [];
  const io = tolerant(sysfs, unreadable);
  return {
    dmi: {
      vendor: io.read(`${PATHS.dmi}/sys_vendor`),
      product: io.read(`${PATHS.dmi}/product_name`),
      version: io.read(`${PATHS.dmi}/product_version`),
      family: io.read(`${PATHS.dmi}/product_family`),
    },
    supplies: readSupplies(io),
    profiles: readProfiles(io),
    policies: readPolicies(io),
    noTurbo: io.read(`${PATHS.intelPstate}/no_turbo`),
    globalBoost: io.read(`${PATHS.cpufreq}/boost`),
    pstateStatus: io.read(`${PATHS.intelPstate}/status`) ?? io.read(`${PATHS.amdPstate}/status`),
    asusThrottle: io.read(`${PATHS.asusWmi}/throttle_thermal_policy`),
    armoury: readArmoury(io),
    nvidia: readNvidia(io),
    conservation: readConservation(io),
    unreadable,
  };
}
