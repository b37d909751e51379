// `pantheragent profile` end to end: the bundled CLI against fixture trees on disk
// (plain files: the production node:fs SysfsIO), a fixture systemRoot for the conflict
// scan, and a runtimeDir for power.json. The kernel's write rules are covered
// in-process by test/power.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, CLI } from './helpers/cli.js';
import { makeSysfs, plug, type SysfsFixture } from './helpers/sysfs.js';
import { nodeSysfs } from '../src/power/sysfs.js';
import { POWER_FAILPOINTS } from '../src/power/plan.js';

const built = existsSync(CLI) ? false : 'dist/ not built (npm run build)';

function setup(name: Parameters<typeof makeSysfs>[0], power: Record<string, unknown> = {}, host = 'yoga'): SysfsFixture & { config: string; run: string; sysRoot: string } {
  const f = makeSysfs(name);
  const run = join(f.dir, 'run');
  const sysRoot = join(f.dir, 'root');
  mkdirSync(join(sysRoot, 'proc', '1'), { recursive: true });
  writeFileSync(join(sysRoot, 'proc', '1', 'comm'), 'systemd\n');
  const config = join(f.dir, 'config.json');
  writeFileSync(config, JSON.stringify({ host, stateDir: join(f.dir, 'state'), runtimeDir: run, systemRoot: sysRoot, power: { sysfsRoot: f.root, ...power } }));
  return { ...f, config, run, sysRoot };
}

test('profile auto, show, apply: JSON shapes, power.json, expected profile by power source', { skip: built }, () => {
  const f = setup('yoga-amd');
  try {
    const auto = cli(['--json', 'profile', 'auto'], { config: f.config });
    assert.equal(auto.code, 0, auto.stderr);
    const a = auto.json();
    assert.equal(a.enabled, true);
    assert.equal(a.how, 'auto');
    assert.equal(a.profile, 'balanced');
    assert.equal(a.model.name, 'lenovo-yoga-7');
    assert.deepEqual(a.failed, []);
    assert.equal(a.knobsOk, a.knobsTotal);
    assert.ok(a.changed.some((c: any) => c.knob === 'battery.charge_type' && c.before === 'Standard' && c.after === 'Long_Life'));
    assert.ok(a.knobs.every((k: any) => typeof k.why === 'string' && Array.isArray(k.files)));
    assert.ok(a.knobs.flatMap((k: any) => k.files).every((x: any) => x.path.startsWith(f.root + '/')), 'paths are absolute, under sysfsRoot');
    const state = JSON.parse(readFileSync(join(f.run, 'power.json'), 'utf8'));
    assert.equal(state.profile, 'balanced');
    assert.equal(state.how, 'auto');

    let show = cli(['--json', 'profile', 'show'], { config: f.config }).json();
    assert.equal(show.drift, false);
    assert.equal(show.active, 'balanced');
    assert.deepEqual(show.expected, { profile: 'balanced', why: 'power.onAC: on AC power' });
    assert.deepEqual(show.source, { onBattery: false, batteryPercent: 64, batteryState: 'Charging', adapters: ['AC', 'ucsi-source-psy-USBC000:001'], batteries: ['BAT0'] });
    assert.deepEqual(show.conflicts, { found: [], method: 'proc', note: null });

    plug(f.root, false);
    show = cli(['--json', 'profile', 'show'], { config: f.config }).json();
    assert.equal(show.expected.profile, 'power-saver');
    assert.equal(show.drift, true);
    assert.equal(cli(['profile', 'show'], { config: f.config }).code, 0, 'show reports, it does not fail');
    assert.equal(cli(['--json', 'profile', 'auto'], { config: f.config }).json().profile, 'power-saver');
    assert.equal(cli(['--json', 'profile', 'show'], { config: f.config }).json().drift, false);

    const apply = cli(['--json', 'profile', 'apply', 'performance'], { config: f.config });
    assert.equal(apply.code, 0, apply.stderr);
    assert.equal(apply.json().how, 'apply');
    show = cli(['--json', 'profile', 'show'], { config: f.config }).json();
    assert.equal(show.expected.profile, 'performance', 'a named profile holds until the power source changes');
    assert.equal(show.drift, false);
    // `apply` without NAME re-applies what should be in force: the held profile.
    writeFileSync(join(f.root, 'devices/system/cpu/cpufreq/policy1/energy_performance_preference'), 'power\n');
    const again = cli(['--json', 'profile', 'apply'], { config: f.config });
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual([again.json().profile, again.json().how, again.json().held], ['performance', 'apply', true]);
    assert.deepEqual(again.json().changed.map((c: any) => c.knob), ['cpu.epp']);
    // auto forgets it: the config decides for the power source.
    assert.deepEqual([cli(['--json', 'profile', 'auto'], { config: f.config }).json().profile, JSON.parse(readFileSync(join(f.run, 'power.json'), 'utf8')).how], ['power-saver', 'auto']);
    assert.equal(cli(['profile', 'apply', 'performance'], { config: f.config }).code, 0);
    const human = cli(['profile', 'show'], { config: f.config });
    assert.match(human.stdout, /performance expected \(set by 'profile apply'/);
    assert.match(human.stdout, /energy performance preference\s+performance\s+performance\s+ok/);
  } finally {
    f.cleanup();
  }
});

test('profile show reports another power manager running, and drift', { skip: built }, () => {
  const f = setup('zephyrus', {}, 'zephyrus');
  try {
    mkdirSync(join(f.sysRoot, 'proc', '812'));
    writeFileSync(join(f.sysRoot, 'proc', '812', 'comm'), 'asusd\n');
    assert.equal(cli(['profile', 'auto'], { config: f.config }).code, 0);
    const show = cli(['--json', 'profile', 'show'], { config: f.config }).json();
    assert.deepEqual(show.conflicts.found, ['asusd']);
    assert.equal(show.drift, true);
    assert.match(cli(['profile', 'show'], { config: f.config }).stdout, /asusd running/);
  } finally {
    f.cleanup();
  }
});

test('a knob the kernel refuses: reported with its errno, the rest applied, exit 1', { skip: built }, () => {
  const f = setup('zephyrus', {}, 'zephyrus');
  try {
    // /proc/version refuses every write (EIO), as a firmware attribute may.
    const target = join(f.root, 'bus/pci/devices/0000:01:00.0/power/control');
    rmSync(target);
    symlinkSync('/proc/version', target);
    const r = cli(['--json', 'profile', 'apply', 'power-saver'], { config: f.config });
    assert.equal(r.code, 1, r.stderr);
    const j = r.json();
    assert.deepEqual(j.failed, ['nvidia.runtime_pm']);
    const k = j.knobs.find((x: any) => x.id === 'nvidia.runtime_pm');
    assert.equal(k.status, 'failed');
    assert.equal(k.files[0].error.code, 'EIO');
    assert.equal(j.knobsOk, j.knobsTotal - 1);
    const io = nodeSysfs(f.root);
    assert.equal(io.read('firmware/acpi/platform_profile'), 'quiet');
    assert.equal(io.read('devices/system/cpu/intel_pstate/no_turbo'), '1');
    const human = cli(['profile', 'apply', 'power-saver'], { config: f.config });
    assert.equal(human.code, 1);
    assert.match(human.stdout, /1 knob could not be set \(nvidia\.runtime_pm\)/);
    assert.match(human.stdout, /FAILED.*EIO/);
  } finally {
    f.cleanup();
  }
});

test('servers: profile show and auto say power is off and never touch sysfs; apply is refused', { skip: built }, () => {
  const f = setup('generic', { enable: false }, 'hetzner-vps');
  try {
    const before = JSON.stringify(readFileSync(join(f.root, 'class/platform-profile/platform-profile-0/profile'), 'utf8'));
    // A sysfsRoot that does not exist would be an error if anything read it.
    const cfg = JSON.parse(readFileSync(f.config, 'utf8'));
    cfg.power.sysfsRoot = join(f.dir, 'no-such-sysfs');
    writeFileSync(f.config, JSON.stringify(cfg));
    for (const sub of ['show', 'auto']) {
      const r = cli(['--json', 'profile', sub], { config: f.config });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.json().enabled, false);
    }
    const apply = cli(['profile', 'apply', 'performance'], { config: f.config });
    assert.equal(apply.code, 1);
    assert.match(apply.stderr, /power\.enable is false/);
    assert.ok(!existsSync(join(f.run, 'power.json')));
    assert.equal(JSON.stringify(readFileSync(join(f.root, 'class/platform-profile/platform-profile-0/profile'), 'utf8')), before);
  } finally {
    f.cleanup();
  }
});

test('profile usage errors exit 64', { skip: built }, () => {
  const f = setup('generic');
  try {
    assert.equal(cli(['profile', 'apply', 'turbo'], { config: f.config }).code, 64);
    assert.equal(cli(['profile', 'frobnicate'], { config: f.config }).code, 64);
    assert.equal(cli(['profile', 'auto', 'now'], { config: f.config }).code, 64);
  } finally {
    f.cleanup();
  }
});

test('profile auto waits for the power lock, then exits 75 naming the holder', { skip: built }, () => {
  const f = setup('generic');
  const lockDir = join(f.run, 'power-lock');
  mkdirSync(lockDir, { recursive: true });
  // A stand-in holder: flock keeps the lock while its child sleeps.
  const holder = spawn('flock', [join(lockDir, 'lock'), 'sleep', '30'], { stdio: 'ignore', detached: true });
  try {
    for (let i = 0; i < 100 && spawnSync('flock', ['--nonblock', join(lockDir, 'lock'), 'true']).status === 0; i++) spawnSync('sleep', ['0.05']);
    const r = cli(['--wait', '0', 'profile', 'auto'], { config: f.config });
    assert.equal(r.code, 75, r.stderr);
    assert.match(r.stderr, /power-lock/);
  } finally {
    process.kill(-holder.pid!, 'SIGKILL');
    f.cleanup();
  }
});

for (const fp of POWER_FAILPOINTS) {
  test(`killed at ${fp}: the next profile auto completes the profile and records it`, { skip: built }, () => {
    const f = setup('zephyrus', { onAC: 'performance', onBattery: 'balanced' }, 'zephyrus');
    try {
      assert.equal(cli(['profile', 'auto'], { config: f.config }).code, 0);
      plug(f.root, false);
      const killed = cli(['profile', 'auto'], { config: f.config, env: { PANTHERAGENT_FAILPOINT: fp } });
      assert.equal(killed.code, 137, `died at ${fp}: ${killed.stderr}`);
      const mid = cli(['--json', 'profile', 'show'], { config: f.config }).json();
      if (fp === 'power.after-write') assert.equal(mid.drift, true, 'half applied');
      const again = cli(['--json', 'profile', 'auto'], { config: f.config });
      assert.equal(again.code, 0, again.stderr);
      assert.equal(again.json().profile, 'balanced');
      const show = cli(['--json', 'profile', 'show'], { config: f.config }).json();
      assert.equal(show.drift, false);
      assert.equal(show.last.profile, 'balanced');
      assert.equal(show.last.onBattery, true);
    } finally {
      f.cleanup();
    }
  });
}
