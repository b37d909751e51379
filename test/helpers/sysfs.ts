// Fixture sysfs trees for the power tests, and a SysfsIO over them that enforces the
// kernel's write rules, since plain files accept anything. Trees are data in
// test/fixtures/sysfs/<name>.json (path -> content, formats as the kernel documents
// them), materialised into a temporary directory per test.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { nodeSysfs, type SysfsIO } from '../../src/power/sysfs.js';

export const SYSFS_FIXTURES = ['yoga-amd', 'yoga-intel', 'zephyrus', 'generic'] as const;
export type SysfsFixtureName = (typeof SYSFS_FIXTURES)[number];

export interface SysfsFixture {
  root: string;
  /** The whole temporary directory (root is `<dir>/sys`); room for a config, runtimeDir, systemRoot. */
  dir: string;
  cleanup(): void;
}

/**
 * Writes the named tree into a fresh temporary directory. `rename` renames power supplies
 * (e.g. { AC: 'ACAD', BAT0: 'BATT' }): the code must find them by their type file.
 */
export function makeSysfs(name: SysfsFixtureName, opts: { rename?: Record<string, string>; set?: Record<string, string> } = {}): SysfsFixture {
  const spec = JSON.parse(readFileSync(resolve(__dirname, '../fixtures/sysfs', `${name}.json`), 'utf8')) as { files: Record<string, string> };
  const dir = mkdtempSync(join(tmpdir(), `pantheragent-sysfs-${name}-`));
  const root = join(dir, 'sys');
  for (const [path, content] of Object.entries({ ...spec.files, ...(opts.set ?? {}) })) {
    const file = join(root, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content + '\n');
  }
  for (const [from, to] of Object.entries(opts.rename ?? {})) renameSync(join(root, 'class/power_supply', from), join(root, 'class/power_supply', to));
  return { root, dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** What the kernel does when the adapter comes or goes: online flips, batteries charge or discharge. */
export function plug(root: string, onAC: boolean): void {
  const supplies = join(root, 'class/power_supply');
  for (const s of readdirSync(supplies)) {
    const type = readFileSync(join(supplies, s, 'type'), 'utf8').trim();
    let scope = '';
    try {
      scope = readFileSync(join(supplies, s, 'scope'), 'utf8').trim();
    } catch {
      /* no scope: the system's own */
    }
    if (type === 'Mains') writeFileSync(join(supplies, s, 'online'), onAC ? '1\n' : '0\n');
    if (type === 'Battery' && scope !== 'Device') writeFileSync(join(supplies, s, 'status'), onAC ? 'Charging\n' : 'Discharging\n');
  }
}

const errno = (code: string, path: string) => Object.assign(new Error(`${code}: write ${path}`), { code });

const PROFILE_NAMES = ['low-power', 'cool', 'quiet', 'balanced', 'balanced-performance', 'performance'];
// asus-wmi: throttle_thermal_policy 0 default, 1 overboost, 2 silent <-> platform_profile.
const ASUS_POLICY: Record<string, string> = { '0': 'balanced', '1': 'performance', '2': 'quiet' };
const WRITABLE = new Set([
  'scaling_governor', 'energy_performance_preference', 'boost', 'no_turbo', 'platform_profile', 'profile', 'throttle_thermal_policy',
  'current_value', 'control', 'charge_control_start_threshold', 'charge_control_end_threshold', 'charge_types', 'conservation_mode',
]);

export interface WriteRecord {
  path: string;
  value: string;
  error: string | null;
}

/**
 * A SysfsIO over a fixture tree that refuses what the kernel refuses and changes what the
 * kernel changes alongside a write:
 * - EPP other than "performance" under the performance governor: EBUSY (amd-pstate, intel_pstate);
 *   switching to the performance governor sets EPP to performance, and back restores it;
 * - governor / EPP / charge type not in the offered list: EINVAL;
 * - platform_profile: not a profile name, EINVAL; a name not in choices, EOPNOTSUPP; the legacy
 *   file drives every class handler (and asus-wmi's throttle_thermal_policy, both ways);
 * - charge thresholds: 0..100 and start < end after the write, else EINVAL;
 * - asus-armoury current_value outside min_value..max_value or possible_values: EINVAL;
 * - runtime PM control other than auto/on, 0/1 switches other than 0/1: EINVAL;
 * - read-only attributes: EACCES; attributes that do not exist: ENOENT (sysfs creates none).
 * `refuse` makes a path fail always, `failOnce` once (then the write goes through), `failRead` its reads.
 */
export class KernelSysfs implements SysfsIO {
  readonly root: string;
  readonly writes: WriteRecord[] = [];
  readonly refuse = new Map<string, string>();
  readonly failOnce = new Map<string, string>();
  /** Reads of these paths fail with the errno (a flaky embedded controller answers EIO). */
  readonly failRead = new Map<string, string>();
  private readonly fs: SysfsIO;
  private readonly savedEpp = new Map<string, string>();

  constructor(root: string) {
    this.root = root;
    this.fs = nodeSysfs(root);
  }

  read(path: string): string | null {
    const code = this.failRead.get(path);
    if (code) throw errno(code, path);
    return this.fs.read(path);
  }

  list(dir: string): string[] {
    return this.fs.list(dir);
  }

  write(path: string, value: string): void {
    try {
      this.check(path, value);
      this.store(path, value);
      this.writes.push({ path, value, error: null });
    } catch (e) {
      this.writes.push({ path, value, error: (e as NodeJS.ErrnoException).code ?? 'EIO' });
      throw e;
    }
  }

  private sibling(path: string, name: string): string | null {
    return this.fs.read(join(dirname(path), name));
  }

  private set(path: string, value: string): void {
    writeFileSync(join(this.root, path), value + '\n');
  }

  private check(path: string, value: string): void {
    const forced = this.refuse.get(path);
    if (forced) throw errno(forced, path);
    const once = this.failOnce.get(path);
    if (once) {
      this.failOnce.delete(path);
      throw errno(once, path);
    }
    if (this.fs.read(path) === null) throw errno('ENOENT', path);
    const base = path.slice(path.lastIndexOf('/') + 1);
    if (!WRITABLE.has(base)) throw errno('EACCES', path);
    const bad = () => errno('EINVAL', path);
    const int = (lo: number, hi: number) => {
      if (!/^-?\d+$/.test(value) || Number(value) < lo || Number(value) > hi) throw bad();
      return Number(value);
    };
    switch (base) {
      case 'scaling_governor':
        if (!(this.sibling(path, 'scaling_available_governors') ?? '').split(/\s+/).includes(value)) throw bad();
        return;
      case 'energy_performance_preference':
        if (!(this.sibling(path, 'energy_performance_available_preferences') ?? '').split(/\s+/).includes(value)) throw bad();
        if (this.sibling(path, 'scaling_governor') === 'performance' && value !== 'performance') throw errno('EBUSY', path);
        return;
      case 'boost':
      case 'no_turbo':
      case 'conservation_mode':
        int(0, 1);
        return;
      case 'platform_profile':
      case 'profile': {
        if (!PROFILE_NAMES.includes(value)) throw bad();
        const choices = this.sibling(path, base === 'profile' ? 'choices' : 'platform_profile_choices') ?? '';
        if (!choices.split(/\s+/).includes(value)) throw errno('EOPNOTSUPP', path);
        return;
      }
      case 'throttle_thermal_policy':
        int(0, 2);
        return;
      case 'control':
        if (value !== 'auto' && value !== 'on') throw bad();
        return;
      case 'current_value': {
        const possible = this.sibling(path, 'possible_values');
        if (possible !== null) {
          if (!possible.split(/[;,]/).includes(value)) throw bad();
          return;
        }
        const min = Number(this.sibling(path, 'min_value'));
        const max = Number(this.sibling(path, 'max_value'));
        int(min, max);
        return;
      }
      case 'charge_control_start_threshold': {
        const v = int(0, 100);
        const end = this.sibling(path, 'charge_control_end_threshold');
        if (end !== null && !(v < Number(end))) throw bad();
        return;
      }
      case 'charge_control_end_threshold': {
        const v = int(0, 100);
        const start = this.sibling(path, 'charge_control_start_threshold');
        if (start !== null && !(Number(start) < v)) throw bad();
        return;
      }
      case 'charge_types': {
        const names = (this.fs.read(path) ?? '').split(/\s+/).map((w) => w.replace(/^\[|\]$/g, ''));
        if (!names.includes(value)) throw bad();
        return;
      }
    }
  }

  private store(path: string, value: string): void {
    const base = path.slice(path.lastIndexOf('/') + 1);
    if (base === 'charge_types') {
      const names = (this.fs.read(path) ?? '').split(/\s+/).map((w) => w.replace(/^\[|\]$/g, ''));
      this.set(path, names.map((n) => (n === value ? `[${n}]` : n)).join(' '));
      return;
    }
    if (base === 'scaling_governor') {
      const eppPath = join(dirname(path), 'energy_performance_preference');
      const epp = this.fs.read(eppPath);
      const was = this.fs.read(path);
      if (epp !== null && value === 'performance' && was !== 'performance') {
        this.savedEpp.set(eppPath, epp);
        this.set(eppPath, 'performance');
      } else if (epp !== null && value !== 'performance' && was === 'performance') {
        this.set(eppPath, this.savedEpp.get(eppPath) ?? 'balance_performance');
      }
    }
    this.set(path, value);
    if (base === 'platform_profile') this.syncProfiles(value);
    if (base === 'profile' && path.startsWith('class/platform-profile/')) this.syncFromClass();
    if (base === 'throttle_thermal_policy') this.syncProfiles(ASUS_POLICY[value]!, false);
  }

  /** The legacy file sets every handler; asus-wmi's policy follows its platform profile. */
  private syncProfiles(profile: string, toAsus = true): void {
    if (this.fs.read('firmware/acpi/platform_profile') !== null) this.set('firmware/acpi/platform_profile', profile);
    for (const h of this.fs.list('class/platform-profile')) this.set(`class/platform-profile/${h}/profile`, profile);
    const asus = 'devices/platform/asus-nb-wmi/throttle_thermal_policy';
    if (toAsus && this.fs.read(asus) !== null) {
      const code = Object.entries(ASUS_POLICY).find(([, p]) => p === profile)?.[0];
      if (code) this.set(asus, code);
    }
  }

  private syncFromClass(): void {
    const all = this.fs.list('class/platform-profile').map((h) => this.fs.read(`class/platform-profile/${h}/profile`));
    if (this.fs.read('firmware/acpi/platform_profile') !== null) this.set('firmware/acpi/platform_profile', new Set(all).size === 1 ? all[0]! : 'custom');
  }
}

/** A SysfsIO that fails the test on any access: for hosts that must never touch sysfs. */
export function forbiddenSysfs(): SysfsIO & { touched: string[] } {
  const touched: string[] = [];
  const no = (what: string) => {
    touched.push(what);
    throw new Error(`sysfs accessed: ${what}`);
  };
  return { root: '/nonexistent', touched, read: (p) => no(`read ${p}`), write: (p) => no(`write ${p}`), list: (d) => no(`list ${d}`) };
}
