// Power profiles against fixture sysfs trees that enforce the kernel's write rules
// (test/helpers/sysfs.ts): every model x profile x power source, write order under the
// EBUSY and start < end rules, refusals reported per knob, supplies found by type,
// servers never touching sysfs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../src/config/load.js';
import { applyProfile, inspect } from '../src/power/index.js';
import { readFacts, powerSource, parseBracketed } from '../src/power/facts.js';
import { detectModel, PROFILES, type ProfileName } from '../src/power/models.js';
import { thresholdOrder, planKnobs } from '../src/power/plan.js';
import { profileDrift, powerSummary } from '../src/power/drift.js';
import { commMatches, defaultProbe, viaProc, viaSystemctl, POWER_MANAGERS } from '../src/power/conflicts.js';
import { readPowerState, writePowerState } from '../src/power/state.js';
import { errnoOf, nodeSysfs } from '../src/power/sysfs.js';
import { powerStatusHuman, powerStatusJson } from '../src/cli/profile-view.js';
import { forbiddenSysfs, KernelSysfs, makeSysfs, plug, SYSFS_FIXTURES, type SysfsFixtureName } from './helpers/sysfs.js';
import { prng } from './helpers/prng.js';

function config(over: Record<string, unknown> = {}, top: Record<string, unknown> = {}) {
  return parseConfig({ host: 'testhost', ...top, power: { model: 'auto', ...over } }, 'test-config');
}
const powerOf = (root: string, over: Record<string, unknown> = {}) => config({ sysfsRoot: root, ...over }).power;

const CPUS = [0, 1, 2, 3];
const pol = (i: number, f: string) => `devices/system/cpu/cpufreq/policy${i}/${f}`;
const each = (f: string, v: string) => Object.fromEntries(CPUS.map((i) => [pol(i, f), v]));

/** What sysfs must read after applying PROFILE, written out from the model table's intent (the oracle). */
function expected(fx: SysfsFixtureName, profile: ProfileName, onBattery: boolean): Record<string, string> {
  const pp = { 'power-saver': 'low-power', balanced: 'balanced', performance: 'performance' }[profile];
  const gov = profile === 'performance' ? 'performance' : 'powersave';
  const epp = { 'power-saver': 'power', balanced: onBattery ? 'balance_power' : 'balance_performance', performance: 'performance' }[profile];
  switch (fx) {
    case 'yoga-amd':
      return {
        'firmware/acpi/platform_profile': pp,
        'class/platform-profile/platform-profile-0/profile': pp,
        ...each('scaling_governor', gov),
        ...each('energy_performance_preference', epp),
        ...each('boost', profile === 'power-saver' ? '0' : '1'),
        'class/power_supply/BAT0/charge_types': 'Long_Life',
        // charge_types covers it: the older switch is left alone.
        'bus/platform/drivers/ideapad_acpi/VPC2004:00/conservation_mode': '0',
        'bus/pci/devices/0000:c4:00.0/power/control': 'auto',
      };
    case 'yoga-intel':
      return {
        'firmware/acpi/platform_profile': pp,
        ...each('scaling_governor', gov),
        ...each('energy_performance_preference', epp),
        'devices/system/cpu/intel_pstate/no_turbo': profile === 'power-saver' ? '1' : '0',
        'bus/platform/drivers/ideapad_acpi/VPC2004:00/conservation_mode': '1',
      };
    case 'zephyrus': {
      const asusPP = profile === 'power-saver' ? 'quiet' : pp;
      return {
        'firmware/acpi/platform_profile': asusPP,
        'class/platform-profile/platform-profile-0/profile': asusPP,
        'devices/platform/asus-nb-wmi/throttle_thermal_policy': { 'power-saver': '2', balanced: '0', performance: '1' }[profile],
        'class/firmware-attributes/asus-armoury/attributes/nv_dynamic_boost/current_value': profile === 'performance' ? '25' : '5',
        'class/firmware-attributes/asus-armoury/attributes/nv_temp_target/current_value': '87',
        ...each('scaling_governor', gov),
        ...each('energy_performance_preference', epp),
        'devices/system/cpu/intel_pstate/no_turbo': profile === 'power-saver' ? '1' : '0',
        'bus/pci/devices/0000:01:00.0/power/control': profile === 'performance' ? 'on' : 'auto',
        // The Intel iGPU and the dGPU's audio function are not the dGPU's runtime PM.
        'bus/pci/devices/0000:00:02.0/power/control': 'auto',
        'bus/pci/devices/0000:01:00.1/power/control': 'on',
        'class/power_supply/BAT1/charge_control_end_threshold': '80',
      };
    }
    case 'generic':
      return {
        'class/platform-profile/platform-profile-0/profile': pp,
        // acpi-cpufreq is passive: its governor is not ours to set.
        ...each('scaling_governor', 'schedutil'),
        'devices/system/cpu/cpufreq/boost': '1',
        'class/power_supply/BATT/charge_control_start_threshold': '75',
        'class/power_supply/BATT/charge_control_end_threshold': '80',
      };
  }
}

const MODEL_OF: Record<SysfsFixtureName, string> = { 'yoga-amd': 'lenovo-yoga-7', 'yoga-intel': 'lenovo-yoga-7', zephyrus: 'asus-zephyrus-m16', generic: 'generic' };

function readRaw(root: string, path: string): string {
  const v = readFileSync(join(root, path), 'utf8').trim();
  return path.endsWith('charge_types') ? parseBracketed(v)!.active! : v;
}

for (const fx of SYSFS_FIXTURES) {
  for (const profile of PROFILES) {
    for (const onBattery of [false, true]) {
      test(`${fx}: apply ${profile} on ${onBattery ? 'battery' : 'AC'} sets every knob, and show reports no drift`, () => {
        const f = makeSysfs(fx);
        try {
          plug(f.root, !onBattery);
          const io = new KernelSysfs(f.root);
          const power = powerOf(f.root);
          const a = applyProfile(power, io, profile);
          assert.deepEqual(a.failed, [], JSON.stringify(a.knobs.filter((k) => k.status === 'failed'), null, 1));
          assert.equal(a.model.name, MODEL_OF[fx]);
          assert.equal(a.source.onBattery, onBattery);
          assert.ok(a.knobsTotal > 0 && a.knobsOk === a.knobsTotal);
          assert.ok(io.writes.every((w) => w.error === null), `no write refused: ${JSON.stringify(io.writes.filter((w) => w.error))}`);
          for (const [path, want] of Object.entries(expected(fx, profile, onBattery))) assert.equal(readRaw(f.root, path), want, path);
          const last = { profile, how: 'apply' as const, onBattery, model: a.model.name, appliedAt: '2026-01-01T00:00:00Z', knobsOk: a.knobsOk, knobsTotal: a.knobsTotal, failed: [] };
          const v = inspect(power, io, { last, conflicts: null });
          assert.equal(v.drift, false, JSON.stringify(v.knobs.filter((k) => k.status === 'drift')));
          assert.equal(v.expected.profile, profile);
          assert.equal(v.active, profile);
          assert.equal(v.knobsOk, v.knobsTotal);
          // Applying again writes nothing: every file already reads as declared.
          const before = io.writes.length;
          assert.deepEqual(applyProfile(power, io, profile).failed, []);
          assert.equal(io.writes.length, before);
        } finally {
          f.cleanup();
        }
      });
    }
  }
}

test('profile auto follows the power source: onAC on AC, onBattery on battery', () => {
  const f = makeSysfs('zephyrus');
  try {
    const io = new KernelSysfs(f.root);
    const power = powerOf(f.root, { onAC: 'performance', onBattery: 'balanced' });
    assert.equal(applyProfile(power, io, null).profile, 'performance');
    plug(f.root, false);
    const a = applyProfile(power, io, null);
    assert.equal(a.profile, 'balanced');
    assert.match(a.why, /battery/);
    assert.deepEqual(a.failed, []);
    assert.equal(readRaw(f.root, pol(0, 'energy_performance_preference')), 'balance_power');
    // Unplugged and not re-applied: the drift check sees the AC profile still in force.
    plug(f.root, true);
    const v = inspect(power, io, { last: null, conflicts: null });
    assert.equal(v.expected.profile, 'performance');
    assert.equal(v.drift, true);
    assert.equal(v.active, 'balanced');
  } finally {
    f.cleanup();
  }
});

for (const fx of ['zephyrus', 'yoga-intel', 'yoga-amd'] as const) {
  test(`${fx}: performance -> power-saver -> performance despite EBUSY for EPP under the performance governor`, () => {
    const f = makeSysfs(fx);
    try {
      const io = new KernelSysfs(f.root);
      const power = powerOf(f.root);
      for (const p of ['performance', 'power-saver', 'performance', 'balanced', 'performance'] as const) {
        const a = applyProfile(power, io, p);
        assert.deepEqual(a.failed, [], `${p}: ${JSON.stringify(a.knobs.filter((k) => k.status !== 'ok' && k.status !== 'skipped'))}`);
        assert.equal(readRaw(f.root, pol(2, 'scaling_governor')), p === 'performance' ? 'performance' : 'powersave');
      }
      assert.deepEqual(io.writes.filter((w) => w.error), [], 'the order avoided every EBUSY');
      // Each EPP write came after its policy's governor write of the same switch.
      for (const i of CPUS) {
        const gov = io.writes.map((w, n) => (w.path === pol(i, 'scaling_governor') && w.value === 'powersave' ? n : -1)).filter((n) => n >= 0);
        const epp = io.writes.map((w, n) => (w.path === pol(i, 'energy_performance_preference') && w.value === 'power' ? n : -1)).filter((n) => n >= 0);
        assert.ok(epp.length && gov.length && gov[0]! < epp[0]!, `policy${i}: governor before EPP`);
      }
    } finally {
      f.cleanup();
    }
  });
}

test('the fixture refuses what the kernel refuses (the oracle the order is checked against)', () => {
  const f = makeSysfs('zephyrus');
  try {
    const io = new KernelSysfs(f.root);
    const code = (fn: () => void) => {
      try {
        fn();
        return 'ok';
      } catch (e) {
        return (e as NodeJS.ErrnoException).code;
      }
    };
    assert.equal(code(() => io.write(pol(0, 'energy_performance_preference'), 'power')), 'EBUSY', 'EPP under performance');
    assert.equal(code(() => io.write(pol(0, 'energy_performance_preference'), 'performance')), 'ok', 'performance EPP is allowed');
    assert.equal(code(() => io.write(pol(0, 'scaling_governor'), 'schedutil')), 'EINVAL', 'governor not offered');
    assert.equal(code(() => io.write('firmware/acpi/platform_profile', 'turbo')), 'EINVAL', 'not a profile name');
    assert.equal(code(() => io.write('firmware/acpi/platform_profile', 'low-power')), 'EOPNOTSUPP', 'a profile this platform does not offer');
    assert.equal(code(() => io.write('class/firmware-attributes/asus-armoury/attributes/nv_dynamic_boost/current_value', '26')), 'EINVAL');
    assert.equal(code(() => io.write('class/firmware-attributes/asus-armoury/attributes/nv_dynamic_boost/current_value', '4')), 'EINVAL');
    assert.equal(code(() => io.write('class/firmware-attributes/asus-armoury/attributes/panel_overdrive/current_value', '2')), 'EINVAL');
    assert.equal(code(() => io.write('class/power_supply/BAT1/charge_control_end_threshold', '101')), 'EINVAL');
    assert.equal(code(() => io.write('class/power_supply/BAT1/capacity', '50')), 'EACCES', 'read-only attribute');
    assert.equal(code(() => io.write('class/power_supply/BAT1/no_such_file', '1')), 'ENOENT');
    assert.equal(code(() => io.write('bus/pci/devices/0000:01:00.0/power/control', 'off')), 'EINVAL');
    // Coupled files: the platform profile and asus-wmi's policy are one setting.
    io.write('devices/platform/asus-nb-wmi/throttle_thermal_policy', '2');
    assert.equal(io.read('firmware/acpi/platform_profile'), 'quiet');
    assert.equal(io.read('class/platform-profile/platform-profile-0/profile'), 'quiet');
    const g = makeSysfs('generic');
    try {
      const gio = new KernelSysfs(g.root);
      assert.equal(code(() => gio.write('class/power_supply/BATT/charge_control_end_threshold', '60')), 'EINVAL', 'end below start 95');
      assert.equal(code(() => gio.write('class/power_supply/BATT/charge_control_start_threshold', '100')), 'EINVAL', 'start not below end');
    } finally {
      g.cleanup();
    }
  } finally {
    f.cleanup();
  }
});

test('a refused knob is reported with its errno and the rest still apply', () => {
  const f = makeSysfs('zephyrus');
  try {
    const io = new KernelSysfs(f.root);
    const power = powerOf(f.root, { overrides: { 'power-saver': { 'armoury.nv_dynamic_boost': 99 } } });
    io.refuse.set('bus/pci/devices/0000:01:00.0/power/control', 'EACCES');
    io.refuse.set(pol(1, 'energy_performance_preference'), 'EOPNOTSUPP');
    const a = applyProfile(power, io, 'power-saver');
    assert.deepEqual([...a.failed].sort(), ['armoury.nv_dynamic_boost', 'cpu.epp', 'nvidia.runtime_pm']);
    const byId = Object.fromEntries(a.knobs.map((k) => [k.id, k]));
    assert.equal(byId['armoury.nv_dynamic_boost']!.targets[0]!.error!.code, 'EINVAL');
    assert.equal(byId['armoury.nv_dynamic_boost']!.targets[0]!.attempts, 1, 'EINVAL on a value is not retried');
    assert.equal(byId['nvidia.runtime_pm']!.targets[0]!.error!.code, 'EACCES');
    const epp = byId['cpu.epp']!;
    assert.equal(epp.targets.filter((t) => !t.ok).length, 1, 'only policy1 failed');
    assert.equal(epp.targets.find((t) => !t.ok)!.error!.code, 'EOPNOTSUPP');
    // Everything else went through.
    assert.equal(readRaw(f.root, 'firmware/acpi/platform_profile'), 'quiet');
    assert.equal(readRaw(f.root, pol(0, 'energy_performance_preference')), 'power');
    assert.equal(readRaw(f.root, pol(2, 'energy_performance_preference')), 'power');
    assert.equal(readRaw(f.root, 'devices/system/cpu/intel_pstate/no_turbo'), '1');
    assert.equal(readRaw(f.root, 'class/power_supply/BAT1/charge_control_end_threshold'), '80');
    assert.equal(a.knobsOk, a.knobsTotal - 3);
  } finally {
    f.cleanup();
  }
});

test('a transient EBUSY is retried once and then succeeds; a persistent one is reported after two attempts', () => {
  const f = makeSysfs('yoga-amd');
  try {
    const io = new KernelSysfs(f.root);
    const power = powerOf(f.root);
    io.failOnce.set('firmware/acpi/platform_profile', 'EBUSY');
    const a = applyProfile(power, io, 'power-saver');
    assert.deepEqual(a.failed, []);
    const pp = a.knobs.find((k) => k.id === 'platform_profile')!;
    assert.equal(pp.targets[0]!.attempts, 2);
    io.refuse.set('firmware/acpi/platform_profile', 'EBUSY');
    const b = applyProfile(power, io, 'performance');
    assert.deepEqual(b.failed, ['platform_profile']);
    assert.equal(b.knobs.find((k) => k.id === 'platform_profile')!.targets[0]!.attempts, 2);
    assert.match(b.knobs.find((k) => k.id === 'platform_profile')!.targets[0]!.error!.message, /^EBUSY/);
  } finally {
    f.cleanup();
  }
});

test('charge thresholds move from 100 to 60 and from 60 to 90 keeping start < end at every write', () => {
  const f = makeSysfs('generic');
  try {
    const io = new KernelSysfs(f.root);
    const t = (w: string) => `class/power_supply/BATT/charge_control_${w}_threshold`;
    assert.equal(readRaw(f.root, t('end')), '100');
    let a = applyProfile(powerOf(f.root, { chargeLimit: 60 }), io, 'balanced');
    assert.deepEqual(a.failed, []);
    assert.deepEqual([readRaw(f.root, t('start')), readRaw(f.root, t('end'))], ['55', '60']);
    let order = io.writes.filter((w) => w.path.includes('threshold')).map((w) => `${w.path.includes('start') ? 'start' : 'end'}=${w.value}`);
    assert.deepEqual(order, ['start=55', 'end=60'], 'lowering: start first');
    io.writes.length = 0;
    a = applyProfile(powerOf(f.root, { chargeLimit: 90 }), io, 'balanced');
    assert.deepEqual(a.failed, []);
    assert.deepEqual([readRaw(f.root, t('start')), readRaw(f.root, t('end'))], ['85', '90']);
    order = io.writes.filter((w) => w.path.includes('threshold')).map((w) => `${w.path.includes('start') ? 'start' : 'end'}=${w.value}`);
    assert.deepEqual(order, ['end=90', 'start=85'], 'raising: end first');
    assert.ok(io.writes.every((w) => w.error === null));
    // And on a battery with only an end threshold (ASUS): 100 -> 60 -> 90.
    const z = makeSysfs('zephyrus');
    try {
      const zio = new KernelSysfs(z.root);
      for (const limit of [60, 90]) {
        assert.deepEqual(applyProfile(powerOf(z.root, { chargeLimit: limit }), zio, 'balanced').failed, []);
        assert.equal(readRaw(z.root, 'class/power_supply/BAT1/charge_control_end_threshold'), String(limit));
      }
    } finally {
      z.cleanup();
    }
  } finally {
    f.cleanup();
  }
});

test('thresholdOrder keeps start < end after every write, for every pair of valid settings', () => {
  const rnd = prng(11);
  for (let n = 0; n < 2000; n++) {
    const pair = () => {
      const a = Math.floor(rnd() * 101);
      const b = Math.floor(rnd() * 101);
      return a === b ? null : { start: Math.min(a, b), end: Math.max(a, b) };
    };
    const cur = pair();
    const want = pair();
    if (!cur || !want) continue;
    const s = { ...cur };
    for (const w of thresholdOrder(cur, want)) {
      s[w] = want[w];
      assert.ok(s.start < s.end, `${JSON.stringify(cur)} -> ${JSON.stringify(want)}: broke at ${w}`);
    }
    assert.deepEqual(s, want);
  }
});

test('power supplies are found by type, whatever their names', () => {
  const cases: [SysfsFixtureName, Record<string, string>, string, string][] = [
    ['yoga-amd', { AC: 'ACAD' }, 'ACAD', 'BAT0'],
    ['yoga-amd', { AC: 'ADP1', BAT0: 'BAT1' }, 'ADP1', 'BAT1'],
    ['yoga-intel', { AC: 'AC', BAT0: 'BATT' }, 'AC', 'BATT'],
    ['zephyrus', { AC0: 'ACAD', BAT1: 'BAT0' }, 'ACAD', 'BAT0'],
    ['generic', { ADP1: 'AC', BATT: 'BAT1' }, 'AC', 'BAT1'],
  ];
  for (const [fx, rename, ac, bat] of cases) {
    const f = makeSysfs(fx, { rename });
    try {
      const io = new KernelSysfs(f.root);
      for (const onAC of [true, false]) {
        plug(f.root, onAC);
        const s = powerSource(readFacts(io).supplies);
        assert.equal(s.onBattery, !onAC, `${fx} ${JSON.stringify(rename)}`);
        assert.ok(s.adapters.includes(ac));
        assert.deepEqual(s.batteries, [bat], 'peripheral batteries (scope Device) are not the laptop’s');
      }
      // The renamed battery's charge knobs are found too.
      const a = applyProfile(powerOf(f.root), io, 'balanced');
      assert.deepEqual(a.failed, []);
      assert.ok(a.knobs.filter((k) => k.id.startsWith('battery.') && k.status === 'ok').every((k) => k.targets.every((t) => t.path.includes(`/${bat}/`))));
    } finally {
      f.cleanup();
    }
  }
});

test('battery level and state: energy-weighted across batteries; USB-C power delivery counts as AC', () => {
  const f = makeSysfs('yoga-amd', {
    set: {
      'class/power_supply/BAT1/type': 'Battery',
      'class/power_supply/BAT1/status': 'Discharging',
      'class/power_supply/BAT1/energy_now': '10000000',
      'class/power_supply/BAT1/energy_full': '29000000',
      'class/power_supply/BAT1/capacity': '34',
    },
  });
  try {
    plug(f.root, false);
    const io = new KernelSysfs(f.root);
    const s = powerSource(readFacts(io).supplies);
    assert.equal(s.onBattery, true);
    assert.equal(s.batteryPercent, Math.round((100 * (45440000 + 10000000)) / (71000000 + 29000000)));
    assert.equal(s.batteryState, 'Discharging');
    writeFileSync(join(f.root, 'class/power_supply/ucsi-source-psy-USBC000:001/online'), '1\n');
    assert.equal(powerSource(readFacts(io).supplies).onBattery, false, 'a USB-C charger is AC');
  } finally {
    f.cleanup();
  }
});

test('model auto reads DMI: Lenovo names the model in product_version, ASUS in product_name', () => {
  assert.equal(detectModel({ vendor: 'LENOVO', product: '83DK', version: 'Yoga 7 2-in-1 14AHP9', family: 'Yoga 7 2-in-1 14AHP9' }).model, 'lenovo-yoga-7');
  assert.equal(detectModel({ vendor: 'LENOVO', product: '83JT', version: null, family: 'Yoga 7 2-in-1 14ILL10' }).model, 'lenovo-yoga-7');
  assert.equal(detectModel({ vendor: 'ASUSTeK COMPUTER INC.', product: 'ROG Zephyrus M16 GU604VY_GU604VY', version: '1.0', family: 'ROG Zephyrus M16' }).model, 'asus-zephyrus-m16');
  assert.equal(detectModel({ vendor: 'LENOVO', product: '21KC', version: 'ThinkPad X1 Carbon Gen 12', family: 'ThinkPad X1 Carbon Gen 12' }).model, 'generic');
  assert.equal(detectModel({ vendor: 'ASUSTeK COMPUTER INC.', product: 'ROG Zephyrus G14 GA403UV', version: null, family: null }).model, 'generic');
  assert.equal(detectModel({ vendor: null, product: null, version: null, family: null }).model, 'generic');
  // An explicit model wins over DMI.
  const f = makeSysfs('generic');
  try {
    assert.equal(applyProfile(powerOf(f.root, { model: 'asus-zephyrus-m16' }), new KernelSysfs(f.root), 'balanced').model.name, 'asus-zephyrus-m16');
  } finally {
    f.cleanup();
  }
});

test('overrides: a value replaces the table, null leaves the knob alone; every knob says why', () => {
  const f = makeSysfs('yoga-amd');
  try {
    const io = new KernelSysfs(f.root);
    const facts = readFacts(io);
    const knobs = planKnobs({
      facts,
      model: 'lenovo-yoga-7',
      profile: 'power-saver',
      onBattery: true,
      chargeLimit: 80,
      overrides: { 'power-saver': { 'cpu.boost': 'on', 'cpu.epp': null } },
    });
    assert.equal(knobs.find((k) => k.id === 'cpu.boost')!.declared, 'on');
    assert.equal(knobs.find((k) => k.id === 'cpu.boost')!.origin, 'override');
    assert.equal(knobs.find((k) => k.id === 'cpu.epp'), undefined);
    assert.ok(knobs.every((k) => k.why.length > 10), 'every knob has its reason');
    // Write order: platform profile first, governor before EPP, charge last.
    const ids = planKnobs({ facts, model: 'lenovo-yoga-7', profile: 'balanced', onBattery: false, chargeLimit: 80, overrides: {} }).map((k) => k.id);
    assert.ok(ids.indexOf('platform_profile') < ids.indexOf('cpu.governor'));
    assert.ok(ids.indexOf('cpu.governor') < ids.indexOf('cpu.epp'));
    // An overridden end threshold takes the derived start along.
    const g = makeSysfs('generic');
    try {
      const gio = new KernelSysfs(g.root);
      const a = applyProfile(powerOf(g.root, { chargeLimit: 80, overrides: { balanced: { 'battery.charge_end': 60 } } }), gio, 'balanced');
      assert.deepEqual(a.failed, []);
      assert.equal(readRaw(g.root, 'class/power_supply/BATT/charge_control_start_threshold'), '55');
      assert.equal(readRaw(g.root, 'class/power_supply/BATT/charge_control_end_threshold'), '60');
    } finally {
      g.cleanup();
    }
    // chargeLimit null: charge is not managed at all.
    assert.ok(!planKnobs({ facts, model: 'lenovo-yoga-7', profile: 'balanced', onBattery: false, chargeLimit: null, overrides: {} }).some((k) => k.id.startsWith('battery.') || k.id.startsWith('ideapad.')));
    // chargeLimit 100 on Lenovo: Standard charging.
    assert.deepEqual(applyProfile(powerOf(f.root, { chargeLimit: 100 }), io, 'balanced').failed, []);
    assert.equal(readRaw(f.root, 'class/power_supply/BAT0/charge_types'), 'Standard');
  } finally {
    f.cleanup();
  }
  assert.throws(() => config({ overrides: { balanced: { 'cpu.turbo': 'on' } } }), /power\.overrides\.balanced/);
  assert.throws(() => config({ overrides: { turbo: {} } }), /power\.overrides/);
});

test('servers (power.enable false) never touch sysfs', async () => {
  const cfg = config({ enable: false, sysfsRoot: '/nonexistent-sysfs' });
  const io = forbiddenSysfs();
  const probe = () => {
    throw new Error('conflict probe run on a server');
  };
  assert.equal(await powerSummary(cfg, { io, conflicts: probe }), null);
  const d = await profileDrift(cfg, { io, conflicts: probe });
  assert.equal(d.status, 'unknown');
  assert.match(d.summary, /power\.enable is false/);
  assert.deepEqual(io.touched, []);
});

test('profileDrift and powerSummary: ok after apply, drift on a changed knob or a running power manager', async () => {
  const f = makeSysfs('yoga-intel');
  const run = join(f.dir, 'run');
  try {
    const io = new KernelSysfs(f.root);
    const cfg = config({ sysfsRoot: f.root }, { runtimeDir: run });
    const none = () => ({ found: [], method: 'proc' as const, note: null });
    const a = applyProfile(cfg.power, io, null);
    writePowerState(run, { profile: a.profile, how: 'auto', onBattery: a.source.onBattery, model: a.model.name, appliedAt: new Date().toISOString(), knobsOk: a.knobsOk, knobsTotal: a.knobsTotal, failed: a.failed });
    assert.equal(readPowerState(run)!.profile, 'balanced');
    let d = await profileDrift(cfg, { io, conflicts: none });
    assert.equal(d.status, 'ok', d.summary);
    const s = await powerSummary(cfg, { io, conflicts: none });
    assert.deepEqual(s, { profile: 'balanced', onBattery: false, batteryPercent: 100, knobsOk: a.knobsOk, knobsTotal: a.knobsTotal, conflicts: [] });
    writeFileSync(join(f.root, pol(3, 'energy_performance_preference')), 'power\n');
    d = await profileDrift(cfg, { io, conflicts: none });
    assert.equal(d.status, 'drift');
    assert.match(d.summary, /cpu\.epp/);
    assert.deepEqual((d.details.drifted as { files: unknown[] }[])[0]!.files, [{ path: pol(3, 'energy_performance_preference'), want: 'balance_performance', actual: 'power' }]);
    applyProfile(cfg.power, io, null);
    d = await profileDrift(cfg, { io, conflicts: () => ({ found: ['tlp'], method: 'proc', note: null }) });
    assert.equal(d.status, 'drift');
    assert.match(d.summary, /tlp/);
    // A profile named with `apply` holds until the power source changes.
    writePowerState(run, { profile: 'performance', how: 'apply', onBattery: false, model: 'lenovo-yoga-7', appliedAt: new Date().toISOString(), knobsOk: 0, knobsTotal: 0, failed: [] });
    applyProfile(cfg.power, io, 'performance');
    assert.equal((await profileDrift(cfg, { io, conflicts: none })).status, 'ok');
    plug(f.root, false);
    const onBat = await profileDrift(cfg, { io, conflicts: none });
    assert.equal(onBat.details.expected, 'power-saver', 'source changed: the config decides again');
    // No knob of the model exists: unknown, with why.
    const empty = mkdtempSync(join(tmpdir(), 'pantheragent-empty-sysfs-'));
    try {
      const e = await profileDrift(config({ sysfsRoot: empty }, { runtimeDir: run }), { conflicts: none });
      assert.equal(e.status, 'unknown');
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  } finally {
    f.cleanup();
  }
});

test('conflicts: systemctl states, a /proc scan by process name, TLP by its run directory', () => {
  const states = ['active', 'inactive', 'inactive', 'activating', 'inactive'];
  assert.deepEqual(viaSystemctl(() => ({ status: 0, stdout: states.join('\n') + '\n' })), ['power-profiles-daemon', 'tuned']);
  assert.equal(viaSystemctl(() => ({ status: 1, stdout: '', error: new Error('ENOENT') })), null);
  assert.equal(viaSystemctl(() => ({ status: 1, stdout: 'System has not been booted with systemd\n' })), null);
  assert.equal(POWER_MANAGERS.length, states.length);
  assert.ok(commMatches('power-profiles-', 'power-profiles-daemon'), 'comm is cut at 15 characters');
  assert.ok(commMatches('.auto-cpufreq-w', 'auto-cpufreq'), 'NixOS wrapper');
  assert.ok(commMatches('asusd', 'asusd'));
  assert.ok(!commMatches('bash', 'asusd'));
  const root = mkdtempSync(join(tmpdir(), 'pantheragent-proc-'));
  try {
    const proc = (pid: number, comm: string) => {
      mkdirSync(join(root, 'proc', String(pid)), { recursive: true });
      writeFileSync(join(root, 'proc', String(pid), 'comm'), comm + '\n');
    };
    proc(1, 'systemd');
    proc(812, 'asusd');
    proc(901, '.auto-cpufreq-w');
    mkdirSync(join(root, 'proc', 'self'), { recursive: true });
    assert.deepEqual(viaProc(root).found, ['auto-cpufreq', 'asusd']);
    mkdirSync(join(root, 'run/tlp'), { recursive: true });
    assert.deepEqual(defaultProbe(root)().found, ['tlp', 'auto-cpufreq', 'asusd']);
    assert.match(viaProc(join(root, 'missing')).note!, /not readable/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('an attribute that fails to read is reported as unreadable, and the rest still apply', () => {
  const f = makeSysfs('zephyrus');
  try {
    const io = new KernelSysfs(f.root);
    io.failRead.set('class/power_supply/BAT1/energy_now', 'EIO');
    io.failRead.set('class/firmware-attributes/asus-armoury/attributes/nv_dynamic_boost/current_value', 'EIO');
    const a = applyProfile(powerOf(f.root), io, 'performance');
    assert.deepEqual(a.failed, ['armoury.nv_dynamic_boost'], 'unreadable after the write: not verified, so failed');
    assert.match(a.knobs.find((k) => k.id === 'armoury.nv_dynamic_boost')!.targets[0]!.error!.message, /^EIO.*reading it back/);
    assert.equal(a.source.batteryPercent, 71, 'falls back to capacity');
    const v = inspect(powerOf(f.root), io, { last: null, conflicts: null });
    assert.deepEqual(v.unreadable.map((u) => u.code), ['EIO', 'EIO']);
  } finally {
    f.cleanup();
  }
});

test('the production SysfsIO (node:fs) on a plain directory: trimmed reads, null when absent, errors carry errno', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pantheragent-nodesysfs-'));
  try {
    mkdirSync(join(dir, 'class/power_supply/BAT0'), { recursive: true });
    writeFileSync(join(dir, 'class/power_supply/BAT0/status'), 'Discharging\n');
    writeFileSync(join(dir, 'class/power_supply/BAT0/charge_control_end_threshold'), '100\n');
    mkdirSync(join(dir, 'class/power_supply/AC'), { recursive: true });
    const io = nodeSysfs(dir);
    assert.equal(io.root, dir);
    assert.equal(io.read('class/power_supply/BAT0/status'), 'Discharging');
    assert.equal(io.read('class/power_supply/BAT0/missing'), null);
    assert.equal(io.read('class/power_supply/NOPE/status'), null);
    assert.deepEqual(io.list('class/power_supply'), ['AC', 'BAT0']);
    assert.deepEqual(io.list('class/nothing'), []);
    io.write('class/power_supply/BAT0/charge_control_end_threshold', '80');
    assert.equal(readFileSync(join(dir, 'class/power_supply/BAT0/charge_control_end_threshold'), 'utf8'), '80', 'one bare value per write');
    assert.throws(() => io.write('class/nothing/x', '1'), (e: NodeJS.ErrnoException) => e.code === 'ENOENT');
    assert.throws(() => io.read('class/power_supply'), (e: NodeJS.ErrnoException) => e.code === 'EISDIR', 'other read errors propagate');
    assert.equal(errnoOf(new Error('plain')), 'EIO');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('from any kernel-valid starting state, every profile and charge limit applies with no write refused (seeded)', () => {
  const rnd = prng(7);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const EPPS = ['default', 'performance', 'balance_performance', 'balance_power', 'power'];
  for (const fx of SYSFS_FIXTURES) {
    const f = makeSysfs(fx);
    try {
      const io = new KernelSysfs(f.root);
      const put = (p: string, v: string) => writeFileSync(join(f.root, p), v + '\n');
      for (let n = 0; n < 40; n++) {
        for (const i of CPUS) {
          if (io.read(pol(i, 'energy_performance_preference')) === null) continue;
          const gov = pick(['performance', 'powersave']);
          put(pol(i, 'scaling_governor'), gov);
          put(pol(i, 'energy_performance_preference'), gov === 'performance' ? 'performance' : pick(EPPS));
        }
        if (fx === 'generic') {
          const s = Math.floor(rnd() * 100);
          put('class/power_supply/BATT/charge_control_start_threshold', String(s));
          put('class/power_supply/BATT/charge_control_end_threshold', String(s + 1 + Math.floor(rnd() * (100 - s))));
        }
        plug(f.root, rnd() < 0.5);
        const profile = pick(PROFILES);
        const chargeLimit = pick([null, 20, 55, 60, 80, 90, 100]);
        io.writes.length = 0;
        const a = applyProfile(powerOf(f.root, { chargeLimit }), io, profile);
        assert.deepEqual(a.failed, [], `${fx} #${n} ${profile} limit ${chargeLimit}`);
        assert.deepEqual(io.writes.filter((w) => w.error), [], `${fx} #${n}: no refusal on the way`);
      }
    } finally {
      f.cleanup();
    }
  }
});

test('status line: power source, profile with knobs, charge limit, conflicts; null on servers', async () => {
  assert.equal(await powerStatusJson(config({ enable: false })), null);
  assert.equal(powerStatusHuman(null), null);
  const f = makeSysfs('yoga-amd');
  try {
    const sysRoot = join(f.dir, 'root');
    mkdirSync(join(sysRoot, 'proc', '42'), { recursive: true });
    writeFileSync(join(sysRoot, 'proc', '42', 'comm'), 'tuned\n');
    plug(f.root, false);
    const cfg = config({ sysfsRoot: f.root }, { runtimeDir: join(f.dir, 'run'), systemRoot: sysRoot });
    applyProfile(cfg.power, new KernelSysfs(f.root), null);
    const p = await powerStatusJson(cfg);
    assert.deepEqual(p, { profile: 'power-saver', onBattery: true, batteryPercent: 64, knobsOk: 5, knobsTotal: 5, conflicts: ['tuned'], chargeLimit: 80 });
    assert.deepEqual(powerStatusHuman(p), ['on battery 64%', 'profile power-saver (5/5 knobs as declared), charge limit 80%, tuned also running: disable it']);
    assert.deepEqual(powerStatusHuman({ error: 'EIO' }), ['unknown', 'EIO']);
  } finally {
    f.cleanup();
  }
});
