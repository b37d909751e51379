// The plain unit files in systemd/: `systemd-analyze verify` accepts them without a
// single warning once their placeholders point at real executables, their
// `systemd-analyze security --offline` exposure stays within its bounds, every
// ExecStart runs a command the CLI has, and the properties the design depends on hold.
// The udev rule is checked against udev's rule grammar. (test/nix.test.ts checks
// that the NixOS module renders the same units.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { cliCommandProblem } from './helpers/commands.js';
import { skipUnless } from './helpers/env.js';
import { parseUnit, type Ini } from './helpers/units.js';

const DIR = resolve(__dirname, '../systemd');
const UNITS = readdirSync(DIR).filter((f) => /\.(service|timer)$/.test(f)).sort();
const RULES = readdirSync(DIR).filter((f) => f.endsWith('.rules'));
const skipVerify = skipUnless({ commands: ['systemd-analyze'] });

let tmp: string;
before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'pantheragent-units-'));
});
after(() => rmSync(tmp, { recursive: true, force: true }));

const unit = (f: string) => parseUnit(readFileSync(join(DIR, f), 'utf8'));
const one = (ini: Ini, section: string, key: string) => {
  const v = ini[section]?.[key];
  assert.ok(v && v.length === 1, `${section}.${key} is set once (got ${JSON.stringify(v)})`);
  return v[0]!;
};
const words = (ini: Ini, section: string, key: string) => (ini[section]?.[key] ?? []).flatMap((v) => v.split(/\s+/).filter(Boolean));

test('systemd/ has the units and the udev rule', () => {
  assert.deepEqual(UNITS, [
    'pantheragent-health.service',
    'pantheragent-profile.service',
    'pantheragent-snapshot.service',
    'pantheragent-snapshot.timer',
    'pantheragent-wipe.service',
    'pantheragent.service',
  ]);
  assert.deepEqual(RULES, ['99-pantheragent-power.rules']);
});

/** Copies the units to a temp dir with their placeholders pointing at a real executable. */
function installCopies(dir: string, mutate?: (file: string, text: string) => string): string[] {
  const exe = join(dir, 'pantheragent');
  writeFileSync(exe, '#!/bin/sh\nexit 0\n');
  chmodSync(exe, 0o755);
  const wipe = join(dir, 'wipe.sh');
  copyFileSync(exe, wipe);
  return UNITS.map((f) => {
    let text = readFileSync(join(DIR, f), 'utf8').replaceAll('@pantheragent@', exe).replaceAll('@wipe_script@', wipe);
    if (mutate) text = mutate(f, text);
    assert.doesNotMatch(text, /@[a-z_]+@/, `${f}: every placeholder is replaced`);
    writeFileSync(join(dir, f), text);
    return join(dir, f);
  });
}

function verify(files: string[]) {
  const r = spawnSync('systemd-analyze', ['verify', '--man=no', ...files], { encoding: 'utf8', env: { ...process.env, SYSTEMD_LOG_LEVEL: 'notice' } });
  return { code: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}
/** Lines of systemd-analyze output about our units or files. */
const aboutUs = (output: string, dir: string) => output.split('\n').filter((l) => l.includes(dir) || /pantheragent/.test(l));

test('systemd-analyze verify accepts every unit, without a warning', { skip: skipVerify }, () => {
  const dir = mkdtempSync(join(tmp, 'ok-'));
  const r = verify(installCopies(dir));
  assert.equal(r.code, 0, r.output);
  assert.deepEqual(aboutUs(r.output, dir), [], r.output);
});

test('systemd-analyze verify does report what is wrong in them (control)', { skip: skipVerify }, () => {
  const dir = mkdtempSync(join(tmp, 'bad-'));
  const files = installCopies(dir, (f, text) =>
    f === 'pantheragent-health.service' ? text.replace('ProtectSystem=strict', 'ProtectSystem=stricter').replace('[Service]', '[Service]\nFrobnicate=yes') : text,
  );
  const r = verify(files);
  const lines = aboutUs(r.output, dir);
  assert.ok(lines.some((l) => /Frobnicate/.test(l)), r.output);
  assert.ok(lines.some((l) => /stricter/.test(l)), r.output);

  const missing = mkdtempSync(join(tmp, 'missing-'));
  const copies = installCopies(missing);
  rmSync(join(missing, 'pantheragent'));
  const m = verify(copies.filter((f) => f.endsWith('/pantheragent.service')));
  assert.notEqual(m.code, 0, 'a missing executable fails verification');
  assert.match(m.output, /is not executable/);
});

test('systemd-analyze security --offline: health exposure <= 2.0, the daemon and snapshot < 3.0, profile <= 2.0', { skip: skipVerify }, (t) => {
  const dir = mkdtempSync(join(tmp, 'security-'));
  installCopies(dir);
  const score: Record<string, number> = {};
  for (const f of UNITS.filter((f) => f.endsWith('.service') && f !== 'pantheragent-wipe.service')) {
    const r = spawnSync('systemd-analyze', ['security', '--offline=true', '--no-pager', join(dir, f)], { encoding: 'utf8' });
    const m = /Overall exposure level for \S+: (\d+\.\d)/.exec(`${r.stdout}${r.stderr}`);
    assert.ok(m, `${f}:\n${r.stdout}${r.stderr}`);
    score[f] = Number(m[1]);
  }
  t.diagnostic(JSON.stringify(score));
  assert.ok(score['pantheragent-health.service']! <= 2.0, JSON.stringify(score));
  assert.ok(score['pantheragent.service']! < 3.0, JSON.stringify(score));
  assert.ok(score['pantheragent-snapshot.service']! < 3.0, JSON.stringify(score));
  assert.ok(score['pantheragent-profile.service']! <= 2.0, JSON.stringify(score));
});

test('no unit without its command: every ExecStart of systemd/ runs a command the CLI has', () => {
  const problems: string[] = [];
  for (const f of UNITS) {
    for (const line of unit(f).Service?.ExecStart ?? []) {
      const [bin, ...argv] = line.split(/\s+/);
      if (bin === '@wipe_script@') continue; // the rendered initrd script
      if (bin !== '@pantheragent@') problems.push(`${f}: runs ${bin}`);
      const p = cliCommandProblem(argv);
      if (p) problems.push(`${f}: ${p}`);
    }
  }
  assert.deepEqual(problems, []);
});

for (const f of ['pantheragent.service', 'pantheragent-snapshot.service']) {
  test(`${f}: root with CAP_SYS_ADMIN, private mounts, the Btrfs device only, strict read-only system`, () => {
    const u = unit(f);
    assert.ok(!u.Service!.User && !u.Service!.DynamicUser, 'runs as root');
    assert.ok(words(u, 'Service', 'CapabilityBoundingSet').includes('CAP_SYS_ADMIN'));
    assert.equal(one(u, 'Service', 'PrivateMounts'), 'yes');
    assert.equal(one(u, 'Service', 'DevicePolicy'), 'closed');
    assert.deepEqual(u.Service!.DeviceAllow, ['/dev/btrfs-control rw', '/dev/mapper/cryptroot rw']);
    assert.equal(one(u, 'Service', 'ProtectProc'), 'ptraceable', 'every mount namespace is checked before a delete');
    assert.equal(u.Service!.ProcSubset, undefined, 'adoption reads /proc/sys/kernel/random/boot_id');
    assert.equal(one(u, 'Service', 'ProtectSystem'), 'strict');
    assert.equal(one(u, 'Service', 'ProtectHome'), 'yes');
    assert.equal(one(u, 'Service', 'ProtectKernelTunables'), 'yes', 'only the profile unit writes /sys');
    assert.equal(one(u, 'Service', 'NoNewPrivileges'), 'yes');
    assert.deepEqual(words(u, 'Service', 'SystemCallFilter').sort(), ['@mount', '@system-service']);
  });
}

test('daemon: pantheragent daemon, started at boot', () => {
  const u = unit('pantheragent.service');
  assert.match(one(u, 'Service', 'ExecStart'), /^@pantheragent@ daemon$/);
  assert.equal(one(u, 'Install', 'WantedBy'), 'multi-user.target');
});

test('profile: writes /sys only, no devices, and runs again after every resume', () => {
  const u = unit('pantheragent-profile.service');
  assert.equal(one(u, 'Service', 'ExecStart'), '@pantheragent@ profile auto');
  assert.equal(one(u, 'Service', 'Type'), 'oneshot');
  assert.equal(one(u, 'Service', 'ProtectKernelTunables'), 'no');
  for (const k of ['PrivateDevices', 'PrivateNetwork', 'NoNewPrivileges']) assert.equal(one(u, 'Service', k), 'yes', k);
  assert.equal(one(u, 'Service', 'ProtectProc'), 'invisible');
  assert.equal(one(u, 'Service', 'ProcSubset'), 'pid');
  const sleep = ['suspend.target', 'hibernate.target', 'hybrid-sleep.target', 'suspend-then-hibernate.target'];
  assert.deepEqual(words(u, 'Install', 'WantedBy'), ['multi-user.target', ...sleep], 'at boot and after every resume');
  assert.deepEqual(words(u, 'Unit', 'After'), ['local-fs.target', ...sleep], 'ordered after the sleep target: it is reached on resume');
});

test('health: dynamic user, no capabilities, inet and unix sockets only, read-only', () => {
  const u = unit('pantheragent-health.service');
  assert.equal(one(u, 'Service', 'ExecStart'), '@pantheragent@ serve-health');
  assert.equal(one(u, 'Service', 'DynamicUser'), 'yes');
  assert.equal(one(u, 'Service', 'CapabilityBoundingSet'), '');
  assert.equal(one(u, 'Service', 'AmbientCapabilities'), '');
  assert.deepEqual(words(u, 'Service', 'RestrictAddressFamilies').sort(), ['AF_INET', 'AF_INET6', 'AF_UNIX']);
  assert.equal(one(u, 'Service', 'ProtectSystem'), 'strict');
  assert.equal(one(u, 'Service', 'ReadOnlyPaths'), '-/run/pantheragent');
  assert.ok(!u.Service!.ReadWritePaths && !u.Service!.StateDirectory && !u.Service!.RuntimeDirectory, 'writes nowhere');
  for (const k of ['PrivateDevices', 'PrivateTmp', 'PrivateUsers', 'ProtectHome', 'ProtectKernelTunables', 'ProtectKernelModules', 'ProtectControlGroups', 'RestrictNamespaces', 'NoNewPrivileges'])
    assert.equal(one(u, 'Service', k), 'yes', k);
  assert.deepEqual(words(u, 'Service', 'IPAddressAllow'), ['localhost', '100.64.0.0/10', 'fd7a:115c:a1e0::/48']);
  assert.equal(one(u, 'Service', 'IPAddressDeny'), 'any');
});

test('snapshot timer: snapshot --prune, hourly, persistent', () => {
  const s = unit('pantheragent-snapshot.service');
  assert.equal(one(s, 'Service', 'ExecStart'), '@pantheragent@ snapshot --prune');
  assert.equal(one(s, 'Service', 'Type'), 'oneshot');
  assert.equal(s.Install, undefined, 'started by the timer only');
  const t = unit('pantheragent-snapshot.timer');
  assert.equal(one(t, 'Timer', 'OnCalendar'), 'hourly');
  assert.equal(one(t, 'Timer', 'Persistent'), 'yes');
  assert.equal(one(t, 'Timer', 'RandomizedDelaySec'), '5m');
  assert.equal(one(t, 'Timer', 'FixedRandomDelay'), 'yes', 'the same offset every hour, per host');
  assert.equal(one(t, 'Timer', 'AccuracySec'), '1m');
  assert.equal(t.Timer!.Unit, undefined, 'activates pantheragent-snapshot.service, its namesake');
  assert.equal(one(t, 'Install', 'WantedBy'), 'timers.target');
});

test('wipe: initrd oneshot after the LUKS device and local-fs-pre.target, before sysroot.mount', () => {
  const u = unit('pantheragent-wipe.service');
  assert.equal(one(u, 'Unit', 'DefaultDependencies'), 'no');
  assert.equal(one(u, 'Unit', 'ConditionPathExists'), '/etc/initrd-release');
  assert.deepEqual(words(u, 'Unit', 'After'), ['dev-mapper-cryptroot.device', 'local-fs-pre.target']);
  assert.deepEqual(words(u, 'Unit', 'Requires'), ['dev-mapper-cryptroot.device']);
  assert.deepEqual(words(u, 'Unit', 'Before'), ['sysroot.mount']);
  assert.equal(one(u, 'Service', 'Type'), 'oneshot');
  assert.equal(one(u, 'Service', 'ExecStart'), '@wipe_script@');
  assert.equal(one(u, 'Install', 'WantedBy'), 'initrd.target');
  const esc = spawnSync('systemd-escape', ['-p', '--suffix=device', '/dev/mapper/cryptroot'], { encoding: 'utf8' });
  if (esc.status === 0) assert.equal(esc.stdout.trim(), 'dev-mapper-cryptroot.device');
});

// --- udev ------------------------------------------------------------------------

// udev(7): KEY{attr}? OP "value", comma separated.
const UDEV_MATCH_KEYS = new Set(['ACTION', 'DEVPATH', 'KERNEL', 'KERNELS', 'NAME', 'SYMLINK', 'SUBSYSTEM', 'SUBSYSTEMS', 'DRIVER', 'DRIVERS', 'ATTR', 'ATTRS', 'SYSCTL', 'ENV', 'CONST', 'TAG', 'TAGS', 'TEST', 'PROGRAM', 'RESULT']);
const UDEV_ASSIGN_KEYS = new Set(['NAME', 'SYMLINK', 'OWNER', 'GROUP', 'MODE', 'SECLABEL', 'ATTR', 'SYSCTL', 'ENV', 'TAG', 'RUN', 'LABEL', 'GOTO', 'IMPORT', 'OPTIONS']);
interface UdevPair {
  key: string;
  attr?: string;
  op: string;
  value: string;
}
function parseUdevLine(line: string): UdevPair[] {
  const re = /\s*([A-Z]+)(?:\{([^}]+)\})?\s*(==|!=|\+=|-=|:=|=)\s*"((?:[^"\\]|\\.)*)"\s*(,|$)/y;
  const pairs: UdevPair[] = [];
  let at = 0;
  while (at < line.length) {
    re.lastIndex = at;
    const m = re.exec(line);
    assert.ok(m, `udev grammar: cannot parse from column ${at}: ${line.slice(at)}`);
    const [, key, attr, op, value] = m;
    pairs.push({ key: key!, ...(attr ? { attr } : {}), op: op!, value: value! });
    at = re.lastIndex;
  }
  return pairs;
}

test('udev rule: power_supply changes of AC adapters queue `pantheragent profile auto`', () => {
  const text = readFileSync(join(DIR, RULES[0]!), 'utf8');
  const lines = text.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'));
  assert.equal(lines.length, 1);
  const pairs = parseUdevLine(lines[0]!);
  for (const p of pairs) {
    const isMatch = p.op === '==' || p.op === '!=';
    assert.ok((isMatch ? UDEV_MATCH_KEYS : UDEV_ASSIGN_KEYS).has(p.key), `${p.key}${p.op} is a udev ${isMatch ? 'match' : 'assignment'} key`);
  }
  const get = (key: string, op: string) => pairs.find((p) => p.key === key && p.op === op);
  assert.equal(get('SUBSYSTEM', '==')?.value, 'power_supply');
  assert.equal(get('ACTION', '==')?.value, 'change');
  assert.deepEqual(get('ATTR', '=='), { key: 'ATTR', attr: 'type', op: '==', value: 'Mains|USB' }, 'matched by type, not by name');
  const run = get('RUN', '+=')!.value.split(/\s+/);
  assert.ok(run[0]!.startsWith('/') && run[0]!.endsWith('/systemctl'), 'RUN needs an absolute path');
  assert.deepEqual(run.slice(1), ['--no-block', 'start', 'pantheragent-profile.service']);
  assert.ok(existsSync(join(DIR, 'pantheragent-profile.service')));
  assert.equal(one(unit('pantheragent-profile.service'), 'Service', 'ExecStart'), '@pantheragent@ profile auto');
});
