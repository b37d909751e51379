// The Nix side, evaluated offline with Debian's nix-bin (no nixpkgs here or in CI) and
// the nixos-eval kit beside the repository (../shared/nixos-eval: nixpkgs' real lib,
// NixOS's real systemd unit types and unit renderer):
// - every .nix file parses (the VM test included);
// - nix/module.nix for each host with its hosts/*.json settings: no failed assertion,
//   the rendered units (initrd ordering, hardening, timer), firewall on tailscale0
//   only, udev rule, build steps; each failure case gives its assertion message;
//   the rendered units pass `systemd-analyze verify` and `security --offline`;
//   they are the plain units of systemd/; every ExecStart runs a command the CLI has;
// - nix/package.nix with the real lib and a restatement of importNpmLock's fetch
//   rules (nix/tests/pkgs.nix): its drvPath, every lock entry fetched by URL and
//   integrity, the same nodejs for the wrapper and node-gyp, check-config per host;
// - flake.nix with a kit-made nixpkgs input: `nix flake check --no-build` and the
//   four nixosConfigurations.
// Evaluations are batched: a few nix-instantiate calls for the whole file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parseConfig } from '../src/config/load.js';
import { cliCommandProblem } from './helpers/commands.js';
import { skipUnless, STRICT } from './helpers/env.js';
import { parseUnit, type Ini } from './helpers/units.js';

const ROOT = resolve(__dirname, '..');
// Beside the repository, as CI has it (a fresh clone with shared/ next to it).
const KIT = resolve(ROOT, '..', 'shared', 'nixos-eval');
const CLI = join(ROOT, 'dist/pantheragent.cjs');
const EVAL_MODULE = join(ROOT, 'nix/tests/eval-module.nix');
const NIX_ENV = { ...process.env, NIX_CONFIG: 'experimental-features = nix-command flakes' };

const HOSTS = ['yoga', 'zephyrus', 'hetzner-vps', 'ovh-vps'];
const LAPTOPS = new Set(['yoga', 'zephyrus']);
const POWER_MANAGERS = ['power-profiles-daemon', 'tlp', 'auto-cpufreq', 'asusd'];
const SLEEP_TARGETS = ['suspend.target', 'hibernate.target', 'hybrid-sleep.target', 'suspend-then-hibernate.target'];
// What the module's units may run (INTERFACES.md, Nix): services, then build steps.
const UNIT_COMMANDS = ['daemon', 'serve-health', 'snapshot --prune', 'profile auto'];
const BUILD_COMMANDS = ['check-config', 'render-initrd'];

const skipNix = skipUnless({ commands: ['nix-instantiate'] });
function kitMissing(): string | false {
  if (skipNix) return skipNix;
  if (existsSync(join(KIT, 'eval.nix'))) return false;
  const why = `${relative(ROOT, KIT)} (the nixos-eval kit: nixpkgs' lib, NixOS's unit types and renderer) is absent beside the repository`;
  if (STRICT) throw new Error(`PANTHERAGENT_TEST_STRICT=1 but ${why}`);
  return why;
}
const skipKit = kitMissing();
const skipFlake = skipKit || skipUnless({ commands: ['nix'] });
const skipVerify = skipKit || skipUnless({ commands: ['systemd-analyze'] });
function needDist(): string | false {
  if (existsSync(CLI)) return false;
  if (STRICT) throw new Error('PANTHERAGENT_TEST_STRICT=1 but dist/pantheragent.cjs is missing (npm run build)');
  return 'dist/ not built (npm run build)';
}

let tmp: string;
before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'pantheragent-nix-'));
});
after(() => rmSync(tmp, { recursive: true, force: true }));

function run(cmd: string, args: string[], opts: { cwd?: string } = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: NIX_ENV, cwd: opts.cwd ?? ROOT, maxBuffer: 64 << 20 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
function nixEval(expr: string) {
  return run('nix-instantiate', ['--eval', '--strict', '--json', '-E', expr]);
}
function nixEvalJson(expr: string): any {
  const r = nixEval(expr);
  assert.equal(r.code, 0, `nix-instantiate failed:\n${r.stderr}`);
  return JSON.parse(r.stdout);
}
/** A Nix path for an absolute path, whatever characters it holds. */
const pathLit = (p: string) => `(/. + ${JSON.stringify(p)})`;

const hostFile = (h: string) => join(ROOT, 'hosts', `${h}.json`);
const readHost = (h: string) => JSON.parse(readFileSync(hostFile(h), 'utf8'));
let seq = 0;
function jsonFile(value: unknown): string {
  const file = join(tmp, `v-${++seq}.json`);
  writeFileSync(file, JSON.stringify(value));
  return file;
}

function checkConfig(settings: unknown): { code: number; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, 'check-config', jsonFile(settings)], { encoding: 'utf8', env: { ...process.env, PANTHERAGENT_LOG_LEVEL: 'silent' } });
  return { code: r.status ?? -1, stderr: r.stderr };
}

// --- parsing ---------------------------------------------------------------------------

function nixFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (['node_modules', '.git', 'dist', 'sandbox'].includes(e.name)) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...nixFiles(p));
    else if (e.name.endsWith('.nix')) out.push(p);
  }
  return out;
}

test('every .nix file in the repository parses (nix-instantiate --parse), the VM test included', { skip: skipNix }, () => {
  const files = nixFiles(ROOT);
  const rel = files.map((f) => relative(ROOT, f));
  for (const must of ['flake.nix', 'nix/module.nix', 'nix/package.nix', 'nix/npm-lock.nix', 'nix/example-host.nix', 'nix/tests/vm.nix', 'nix/tests/eval-module.nix', 'nix/tests/pkgs.nix'])
    assert.ok(rel.includes(must), `${must} is there`);
  const r = run('nix-instantiate', ['--parse', ...files]);
  assert.equal(r.code, 0, r.stderr);
});

test('no home-made module system in nix/tests: the real lib comes from the kit', () => {
  assert.ok(!existsSync(join(ROOT, 'nix/tests/stub-nixpkgs')));
  for (const f of nixFiles(join(ROOT, 'nix/tests'))) assert.doesNotMatch(readFileSync(f, 'utf8'), /\bevalModules\s*=|mkOption\s*=\s*\{/, relative(ROOT, f));
});

// --- the module, every case in one evaluation -------------------------------------------

interface Eval {
  failedAssertions: string[];
  warnings: string[];
  rendered: { services: Record<string, string>; timers: Record<string, string>; initrdServices: Record<string, string> };
  systemd: { tmpfiles: string[] };
  initrd: { extraBin: Record<string, string>; storePaths: string[] };
  environment: { etc: Record<string, { source: string; mode: string }> };
  networking: { firewall: { interfaces: Record<string, { allowedTCPPorts: number[]; allowedUDPPorts: number[] }> } };
  services: { udev: { extraRules: string } };
  settings: any;
  options?: {
    package: string;
    configFile: { path: string; command: string };
    wipeScript: { path: string; command: string } | null;
    wantedBy: Record<string, string[]>;
    timers: Record<string, string[]>;
    initrdWantedBy: Record<string, string[]>;
  };
}

const without = (o: any, ...keys: string[]) => Object.fromEntries(Object.entries(o).filter(([k]) => !keys.includes(k)));
function cases(): Record<string, object> {
  const yoga = readHost('yoga');
  const c: Record<string, object> = {};
  for (const h of HOSTS) c[h] = { host: h, settings: hostFile(h), options: true };
  // Failure cases: each must give its assertion message.
  c.scriptedStage1 = { host: 'yoga', settings: hostFile('yoga'), initrdSystemd: false };
  for (const pm of POWER_MANAGERS) c[`powerManager-${pm}`] = { host: 'yoga', settings: hostFile('yoga'), extra: { services: { [pm]: { enable: true } } } };
  const wiped = { ...yoga, persistence: { ...yoga.persistence, directories: yoga.persistence.directories.filter((d: string) => d !== '/var/lib/pantheragent') } };
  c.stateDirWiped = { host: 'yoga', settings: jsonFile(wiped) };
  c.invalidHost = { host: 'web_01', settings: jsonFile(without(yoga, 'host')) };
  // Their counterparts, which must not fail.
  c.powerManagerOnServer = { host: 'hetzner-vps', settings: hostFile('hetzner-vps'), extra: { services: { tlp: { enable: true } } } };
  c.stateDirOwnFs = { host: 'yoga', settings: jsonFile(wiped), extra: { fileSystems: { '/var/lib/pantheragent': { device: '/dev/vdb', fsType: 'ext4' } } } };
  c.stateDirTmpfs = { host: 'yoga', settings: jsonFile(wiped), extra: { fileSystems: { '/var/lib': { fsType: 'tmpfs' } } } };
  c.stateDirNoWipe = { host: 'yoga', settings: jsonFile(wiped), wipe: false };
  c.upperHost = { host: 'Yoga', settings: jsonFile(without(yoga, 'host')) };
  // Options.
  c.noTimer = { host: 'yoga', settings: hostFile('yoga'), extra: { services: { pantheragent: { snapshotSchedule: null } } } };
  c.schedule = { host: 'yoga', settings: hostFile('yoga'), extra: { services: { pantheragent: { snapshotSchedule: '*:0/15' } } } };
  c.daily = { host: 'yoga', settings: hostFile('yoga'), extra: { services: { pantheragent: { snapshotSchedule: 'daily' } } } };
  c.firewallOff = { host: 'yoga', settings: hostFile('yoga'), extra: { services: { pantheragent: { openFirewall: false } } } };
  c.loopbackOnly = { host: 'yoga', settings: jsonFile({ ...yoga, health: { ...yoga.health, listen: ['loopback'] } }) };
  c.noCheck = { host: 'yoga', settings: hostFile('yoga'), options: true, extra: { services: { pantheragent: { checkConfig: false } } } };
  c.cross = { host: 'yoga', settings: hostFile('yoga'), options: true, buildSystem: 'aarch64-linux' };
  c.defaults = { host: 'yoga', wipe: false, options: true };
  c.overlay = { host: 'yoga', wipe: false, options: true, overlayPackage: true };
  return c;
}

let R: Record<string, Eval> = {};
before(() => {
  if (skipKit) return;
  const file = jsonFile(cases());
  R = nixEvalJson(`import ${pathLit(EVAL_MODULE)} { kit = ${pathLit(KIT)}; cases = builtins.fromJSON (builtins.readFile ${pathLit(file)}); }`);
});

const units = (e: Eval) => Object.fromEntries(Object.entries(e.rendered.services).map(([n, text]) => [n, parseUnit(text)]));
const one = (ini: Ini, section: string, key: string) => {
  const v = ini[section]?.[key];
  assert.ok(v && v.length === 1, `${section}.${key} is set once (got ${JSON.stringify(v)})`);
  return v[0]!;
};
const words = (ini: Ini, section: string, key: string) => (ini[section]?.[key] ?? []).flatMap((v) => v.split(/\s+/).filter(Boolean));

for (const host of HOSTS) {
  test(`${host}: the module with hosts/${host}.json evaluates with no failed assertion, and the agent accepts what it writes`, { skip: skipKit || needDist() }, () => {
    const e = R[host]!;
    assert.deepEqual(e.failedAssertions, []);
    assert.deepEqual(e.warnings, []);
    const r = checkConfig(e.settings);
    assert.equal(r.code, 0, r.stderr);
    // The declared options' defaults add keys, never change what the file means.
    assert.deepEqual(parseConfig(e.settings, 'module'), parseConfig(readHost(host), host));

    const names = Object.keys(e.rendered.services).sort();
    if (LAPTOPS.has(host)) {
      assert.deepEqual(names, ['pantheragent', 'pantheragent-health', 'pantheragent-profile', 'pantheragent-snapshot']);
      assert.match(e.services.udev.extraRules, /^SUBSYSTEM=="power_supply", ACTION=="change", ATTR\{type\}=="Mains\|USB", RUN\+="\/nix\/store\/[^"]+\/bin\/systemctl --no-block start pantheragent-profile\.service"\n$/);
    } else {
      assert.deepEqual(names, ['pantheragent', 'pantheragent-health', 'pantheragent-snapshot'], 'servers have no power profile unit');
      assert.equal(e.services.udev.extraRules, '', 'and no udev rule');
    }
    // The port is opened on the Tailscale interface and nowhere else.
    assert.deepEqual(e.networking.firewall.interfaces, { tailscale0: { allowedTCPPorts: [readHost(host).health.port], allowedUDPPorts: [] } });
    assert.deepEqual(e.systemd.tmpfiles, ['d /var/lib/pantheragent 0700 root root - -', 'd /run/pantheragent 0755 root root - -']);
  });

  test(`${host}: the initrd wipe unit runs the script rendered at build time, after the Btrfs device and local-fs-pre.target, before sysroot.mount`, { skip: skipKit }, () => {
    const e = R[host]!;
    const dev = `${readHost(host).btrfs.device.slice(1).replaceAll('-', '\\x2d').replaceAll('/', '-')}.device`;
    const w = parseUnit(e.rendered.initrdServices['pantheragent-wipe']!);
    assert.deepEqual(words(w, 'Unit', 'Requires'), [dev]);
    assert.deepEqual(words(w, 'Unit', 'After'), [dev, 'local-fs-pre.target']);
    assert.deepEqual(words(w, 'Unit', 'Before'), ['sysroot.mount']);
    assert.equal(one(w, 'Unit', 'DefaultDependencies'), 'false');
    assert.equal(one(w, 'Unit', 'ConditionPathExists'), '/etc/initrd-release');
    assert.equal(one(w, 'Service', 'Type'), 'oneshot');
    assert.match(one(w, 'Service', 'ExecStart'), /^\/nix\/store\/[0-9a-z]{32}-pantheragent-wipe$/);
    assert.deepEqual(e.initrd.storePaths, [one(w, 'Service', 'ExecStart')], 'the script is copied into the initrd');
    assert.match(e.initrd.extraBin.btrfs!, /^\/nix\/store\/[0-9a-z]{32}-btrfs-progs\/bin\/btrfs$/);
    assert.deepEqual(e.options!.initrdWantedBy, { 'pantheragent-wipe': ['initrd.target'] });
  });
}

test('the device unit name is systemd-escape -p --suffix=device of btrfs.device', { skip: skipKit || skipUnless({ commands: ['systemd-escape'] }) }, () => {
  for (const host of HOSTS) {
    const esc = spawnSync('systemd-escape', ['-p', '--suffix=device', readHost(host).btrfs.device], { encoding: 'utf8' }).stdout.trim();
    assert.deepEqual(words(parseUnit(R[host]!.rendered.initrdServices['pantheragent-wipe']!), 'Unit', 'Requires'), [esc], host);
  }
});

test('rendered units: the daemon and the snapshot service, root with the Btrfs device and btrfs-control only', { skip: skipKit }, () => {
  for (const host of HOSTS) {
    const e = R[host]!;
    const u = units(e);
    const device = readHost(host).btrfs.device;
    for (const name of ['pantheragent', 'pantheragent-snapshot']) {
      const d = u[name]!;
      assert.ok(!d.Service!.User && !d.Service!.DynamicUser, 'runs as root');
      assert.deepEqual(words(d, 'Service', 'CapabilityBoundingSet').sort(), ['CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_SYS_ADMIN', 'CAP_SYS_PTRACE']);
      assert.equal(one(d, 'Service', 'PrivateMounts'), 'true', 'its top-level mount stays in its own namespace');
      assert.equal(one(d, 'Service', 'DevicePolicy'), 'closed');
      assert.deepEqual(d.Service!.DeviceAllow, ['/dev/btrfs-control rw', `${device} rw`]);
      assert.equal(one(d, 'Service', 'ProtectProc'), 'ptraceable', 'every mount namespace is checked before a delete');
      assert.equal(d.Service!.ProcSubset, undefined, 'adoption reads /proc/sys/kernel/random/boot_id');
      assert.equal(one(d, 'Service', 'ProtectSystem'), 'strict');
      assert.equal(one(d, 'Service', 'ProtectHome'), 'true');
      assert.equal(one(d, 'Service', 'ProtectKernelTunables'), 'true', 'only the profile unit writes /sys');
      assert.deepEqual(d.Service!.ReadWritePaths, ['/var/lib/pantheragent', '/run/pantheragent']);
      assert.deepEqual(d.Service!.SystemCallFilter, ['@system-service', '@mount']);
      assert.equal(one(d, 'Service', 'NoNewPrivileges'), 'true');
    }
    assert.equal(one(u.pantheragent!, 'Service', 'Type'), 'simple');
    assert.equal(one(u.pantheragent!, 'Service', 'Restart'), 'on-failure');
    assert.match(one(u.pantheragent!, 'Unit', 'X-Restart-Triggers'), /^\/nix\/store\//, 'restarted when the configuration changes');
    assert.ok(u.pantheragent!.Service!.Environment!.includes('"NIX_REMOTE=daemon"'));
    assert.deepEqual(e.options!.wantedBy.pantheragent, ['multi-user.target']);

    const s = u['pantheragent-snapshot']!;
    assert.equal(one(s, 'Service', 'Type'), 'oneshot');
    assert.equal(one(s, 'Service', 'X-RestartIfChanged'), 'false', 'a switch does not interrupt a snapshot run');
    assert.equal(one(s, 'Service', 'IOSchedulingClass'), 'idle');
    assert.deepEqual(e.options!.wantedBy['pantheragent-snapshot'], [], 'started by its timer only');
  }
});

test('rendered units: health is unprivileged, read-only, reachable from loopback and the tailnet only', { skip: skipKit }, () => {
  for (const host of HOSTS) {
    const h = units(R[host]!)['pantheragent-health']!;
    assert.equal(one(h, 'Service', 'DynamicUser'), 'true');
    assert.equal(one(h, 'Service', 'CapabilityBoundingSet'), '');
    assert.equal(one(h, 'Service', 'AmbientCapabilities'), '');
    assert.deepEqual(words(h, 'Service', 'RestrictAddressFamilies').sort(), ['AF_INET', 'AF_INET6', 'AF_UNIX']);
    assert.equal(one(h, 'Service', 'ReadOnlyPaths'), '-/run/pantheragent');
    assert.ok(!h.Service!.ReadWritePaths, 'writes nowhere');
    for (const k of ['PrivateDevices', 'PrivateUsers', 'PrivateTmp', 'ProtectHome', 'ProtectKernelTunables', 'NoNewPrivileges']) assert.equal(one(h, 'Service', k), 'true', k);
    assert.equal(one(h, 'Service', 'ProtectProc'), 'invisible');
    assert.equal(one(h, 'Service', 'ProcSubset'), 'pid');
    assert.deepEqual(words(h, 'Service', 'IPAddressAllow'), ['localhost', '100.64.0.0/10', 'fd7a:115c:a1e0::/48']);
    assert.equal(one(h, 'Service', 'IPAddressDeny'), 'any');
    assert.deepEqual(words(h, 'Unit', 'After'), ['network.target', 'tailscaled.service', 'pantheragent.service']);
  }
});

test('rendered units: the profile unit writes /sys only, runs on AC changes and after every resume', { skip: skipKit }, () => {
  for (const host of ['yoga', 'zephyrus']) {
    const e = R[host]!;
    const p = units(e)['pantheragent-profile']!;
    assert.equal(one(p, 'Service', 'Type'), 'oneshot');
    assert.equal(one(p, 'Service', 'X-RestartIfChanged'), 'false');
    assert.equal(one(p, 'Service', 'ProtectKernelTunables'), 'false', 'power knobs live in /sys');
    for (const k of ['PrivateDevices', 'PrivateNetwork', 'NoNewPrivileges']) assert.equal(one(p, 'Service', k), 'true', k);
    assert.equal(one(p, 'Service', 'ProtectProc'), 'invisible');
    assert.equal(one(p, 'Service', 'ProcSubset'), 'pid');
    assert.deepEqual(words(p, 'Service', 'RestrictAddressFamilies'), ['AF_UNIX']);
    // The resume hook: wanted by the sleep targets, ordered after them.
    assert.deepEqual(e.options!.wantedBy['pantheragent-profile'], ['multi-user.target', ...SLEEP_TARGETS], 'at boot and after every resume');
    assert.deepEqual(words(p, 'Unit', 'After'), ['local-fs.target', ...SLEEP_TARGETS]);
  }
});

test('rendered timer: the schedule, Persistent, a fixed random delay per host, and null for no timer', { skip: skipKit }, () => {
  const t = parseUnit(R.yoga!.rendered.timers['pantheragent-snapshot']!);
  assert.equal(one(t, 'Timer', 'OnCalendar'), 'hourly');
  assert.equal(one(t, 'Timer', 'Persistent'), 'true');
  assert.equal(one(t, 'Timer', 'RandomizedDelaySec'), '5m');
  assert.equal(one(t, 'Timer', 'FixedRandomDelay'), 'true');
  assert.equal(one(t, 'Timer', 'AccuracySec'), '1m');
  assert.deepEqual(R.yoga!.options!.timers, { 'pantheragent-snapshot': ['timers.target'] });
  assert.equal(one(parseUnit(R.schedule!.rendered.timers['pantheragent-snapshot']!), 'Timer', 'OnCalendar'), '*:0/15');
  assert.deepEqual(R.noTimer!.rendered.timers, {});
  assert.ok('pantheragent-snapshot' in R.noTimer!.rendered.services, 'the service stays, for the daemon or by hand');
  // Health's snapshot-age thresholds follow a timer with one period; a calendar expression leaves them to the settings.
  assert.equal(R.daily!.settings.health.snapshotInterval, 'daily');
  assert.equal(R.yoga!.settings.health.snapshotInterval, 'hourly');
  assert.equal(R.schedule!.settings.health.snapshotInterval, undefined);
});

test('firewall: only on the Tailscale interface, only when health listens there and openFirewall', { skip: skipKit }, () => {
  assert.deepEqual(Object.keys(R.yoga!.networking.firewall.interfaces), ['tailscale0']);
  assert.deepEqual(R.firewallOff!.networking.firewall.interfaces, {});
  assert.deepEqual(R.loopbackOnly!.networking.firewall.interfaces, {});
});

test('build steps: check-config on the settings, render-initrd from the checked file; checkConfig = false; cross', { skip: skipKit }, () => {
  const o = R.yoga!.options!;
  const exe = `${o.package}/bin/pantheragent`;
  assert.match(o.package, /^\/nix\/store\/[0-9a-z]{32}-pantheragent-\d+\.\d+\.\d+$/);
  assert.equal(R.yoga!.environment.etc['pantheragent/config.json']!.source, o.configFile.path);
  const settingsFile = /check-config (\/nix\/store\/[0-9a-z]{32}-pantheragent-settings\.json)\n/.exec(o.configFile.command)?.[1];
  assert.ok(settingsFile, o.configFile.command);
  assert.equal(o.configFile.command, `${exe} --log-level error check-config ${settingsFile}\ncp ${settingsFile} $out\n`);
  assert.equal(o.wipeScript!.command, `${exe} --log-level error --config ${o.configFile.path} render-initrd > $out\nchmod 0555 $out\n`);

  // Not checked: the settings file itself is installed.
  assert.equal(R.noCheck!.options!.configFile.path, settingsFile);
  // The build machine cannot run the host's binaries: the build platform's agent runs both steps.
  const cross = R.cross!.options!;
  assert.equal(cross.package, o.package, 'the host still runs its own package');
  const buildExe = /^(\S+) --log-level error check-config/.exec(cross.configFile.command)?.[1];
  assert.ok(buildExe && buildExe !== exe, cross.configFile.command);
  assert.ok(cross.wipeScript!.command.startsWith(`${buildExe} --log-level error --config `));
});

test('package option: pkgs.pantheragent by default (the overlay); host from networking.hostName, lowercased', { skip: skipKit }, () => {
  assert.match(R.overlay!.options!.package, /^\/nix\/store\/[0-9a-z]{32}-pantheragent-from-overlay$/);
  assert.equal(R.defaults!.options!.package, R.yoga!.options!.package, 'nix/tests/pkgs.nix has the overlay: pkgs.pantheragent from nix/package.nix');
  assert.equal(R.defaults!.settings.host, 'yoga');
  assert.equal(R.upperHost!.settings.host, 'yoga');
  assert.deepEqual(R.upperHost!.failedAssertions, []);
});

// --- failure cases -----------------------------------------------------------------------

test('assertion: the wipe needs systemd in stage 1 (a scripted initrd fails)', { skip: skipKit }, () => {
  assert.deepEqual(R.scriptedStage1!.failedAssertions, ['services.pantheragent.wipeRoot.enable needs systemd in stage 1: set boot.initrd.systemd.enable = true.']);
});

test('assertion: no other power manager while power.enable (none matters on a server)', { skip: skipKit }, () => {
  for (const pm of POWER_MANAGERS) {
    const f = R[`powerManager-${pm}`]!.failedAssertions;
    assert.equal(f.length, 1, pm);
    assert.equal(f[0], `services.${pm} is enabled and would fight pantheragent over the power profile: set services.${pm}.enable = lib.mkForce false, or services.pantheragent.settings.power.enable = false.`);
  }
  assert.deepEqual(R.powerManagerOnServer!.failedAssertions, []);
});

test('assertion: stateDir must survive the wipe', { skip: skipKit }, () => {
  const [m, ...rest] = R.stateDirWiped!.failedAssertions;
  assert.deepEqual(rest, []);
  assert.match(m ?? '', /^services\.pantheragent\.settings\.stateDir \(\/var\/lib\/pantheragent\) is on the root that is wiped at every boot, so the snapshot index would be lost: put it under settings\.persistence\.storage \(\/persist\)/);
  assert.deepEqual(R.stateDirOwnFs!.failedAssertions, [], 'a file system of its own persists');
  assert.equal(R.stateDirTmpfs!.failedAssertions.length, 1, 'a tmpfs does not');
  assert.deepEqual(R.stateDirNoWipe!.failedAssertions, [], 'without the wipe, nothing to check');
});

test('assertion: a host name the agent does not accept', { skip: skipKit }, () => {
  assert.deepEqual(R.invalidHost!.failedAssertions, [
    `services.pantheragent.settings.host ("web_01", from networking.hostName unless set) is not a host name the agent accepts: lowercase letters, digits and '-', at most 63, not starting or ending with '-'. Set services.pantheragent.settings.host.`,
  ]);
});

test('option types: a wrong settings value or an unknown option fails the evaluation, naming it', { skip: skipKit }, () => {
  const fails = (c: object) => {
    const r = nixEval(`import ${pathLit(EVAL_MODULE)} { kit = ${pathLit(KIT)}; cases.c = builtins.fromJSON (builtins.readFile ${pathLit(jsonFile(c))}); }`);
    assert.notEqual(r.code, 0, 'evaluation should fail');
    return r.stderr;
  };
  assert.match(fails({ settings: jsonFile({ power: { onAC: 'turbo' } }) }), /settings\.power\.onAC' is not of type/);
  assert.match(fails({ extra: { services: { pantheragent: { snapshotInterval: 'daily' } } } }), /services\.pantheragent\.snapshotInterval' does not exist/);
});

// --- no unit without its command -----------------------------------------------------------

test('no unit without its command: every ExecStart the module renders (four hosts) and every build step runs a command the CLI has', { skip: skipKit }, () => {
  const problems: string[] = [];
  for (const host of HOSTS) {
    const e = R[host]!;
    const exe = `${e.options!.package}/bin/pantheragent`;
    for (const [name, text] of [...Object.entries(e.rendered.services), ...Object.entries(e.rendered.initrdServices)]) {
      for (const line of parseUnit(text).Service?.ExecStart ?? []) {
        if (line === e.initrd.storePaths[0]) continue; // the rendered initrd script
        const [bin, ...argv] = line.split(/\s+/);
        if (bin !== exe) problems.push(`${host} ${name}: runs ${bin}, not the package's pantheragent`);
        else if (!UNIT_COMMANDS.includes(argv.join(' '))) problems.push(`${host} ${name}: \`${argv.join(' ')}\` is not one of ${UNIT_COMMANDS.join(', ')}`);
        const p = cliCommandProblem(argv);
        if (p) problems.push(`${host} ${name}: ${p}`);
      }
    }
    for (const step of [e.options!.configFile.command, e.options!.wipeScript!.command]) {
      const argv = step.split('\n')[0]!.replace(/ > \$out$/, '').split(/\s+/).slice(1);
      const cmd = argv.find((a) => BUILD_COMMANDS.includes(a));
      if (!cmd) problems.push(`${host}: build step ${step.split('\n')[0]} runs none of ${BUILD_COMMANDS.join(', ')}`);
      const p = cliCommandProblem(argv);
      if (p) problems.push(`${host} build step: ${p}`);
    }
  }
  assert.deepEqual(problems, []);
});

test('the VM test runs commands the CLI has, and checks what the issue asks (wipe, archive, rollback root, back)', { skip: skipKit }, () => {
  const script: string = nixEvalJson(
    `((import ${pathLit(join(ROOT, 'nix/tests/vm.nix'))} { self.nixosModules.default = { }; }) { lib = import ${pathLit(join(KIT, 'nixpkgs-lib/lib'))}; }).testScript`,
  );
  const commands = [...script.matchAll(/"pantheragent ([^"]+)"/g)].map((m) => m[1]!);
  assert.ok(commands.includes('rollback root --to previous-boot --yes'), script);
  for (const c of commands) assert.equal(cliCommandProblem(c.split(/\s+/)), null, c);
  const order = ['echo canary > /canary', 'machine.reboot()', 'machine.fail("test -e /canary")', '@old_roots/*/canary', 'rollback root --to previous-boot', 'machine.reboot()', '= canary'];
  let at = 0;
  for (const step of order) {
    const i = script.indexOf(step, at);
    assert.ok(i >= 0, `${step} after offset ${at}:\n${script}`);
    at = i + step.length;
  }
});

// --- the rendered units under systemd-analyze ------------------------------------------------

/** Writes a host's rendered units with the package's executable and the wipe script pointing at a stand-in. */
function writeRendered(host: string, dir: string): string[] {
  const e = R[host]!;
  mkdirSync(dir, { recursive: true });
  const exe = join(dir, 'pantheragent');
  writeFileSync(exe, '#!/bin/sh\nexit 0\n');
  chmodSync(exe, 0o755);
  const fix = (text: string) => text.replaceAll(`${e.options!.package}/bin/pantheragent`, exe).replaceAll(e.initrd.storePaths[0]!, exe);
  const files: string[] = [];
  for (const [kind, group] of [['service', e.rendered.services], ['timer', e.rendered.timers], ['service', e.rendered.initrdServices]] as const)
    for (const [name, text] of Object.entries(group)) {
      const f = join(dir, `${name}.${kind}`);
      writeFileSync(f, fix(text));
      files.push(f);
    }
  return files;
}

test('systemd-analyze verify accepts every rendered unit of the four hosts, without a warning', { skip: skipVerify }, () => {
  for (const host of HOSTS) {
    const dir = join(tmp, `verify-${host}`);
    const files = writeRendered(host, dir);
    const r = spawnSync('systemd-analyze', ['verify', '--man=no', ...files], { encoding: 'utf8', env: { ...process.env, SYSTEMD_LOG_LEVEL: 'notice' } });
    const out = `${r.stdout}${r.stderr}`;
    assert.equal(r.status, 0, `${host}:\n${out}`);
    assert.deepEqual(out.split('\n').filter((l) => l.includes(dir) || /pantheragent/.test(l)), [], `${host}:\n${out}`);
  }
});

/** `systemd-analyze security --offline=true` overall exposure of a unit file. */
function exposure(file: string): number {
  const r = spawnSync('systemd-analyze', ['security', '--offline=true', '--no-pager', file], { encoding: 'utf8' });
  const m = /Overall exposure level for \S+: (\d+\.\d)/.exec(`${r.stdout}${r.stderr}`);
  assert.ok(m, `${file}:\n${r.stdout}${r.stderr}`);
  return Number(m[1]);
}

test('systemd-analyze security --offline: health exposure <= 2.0, the daemon < 3.0, on every host', { skip: skipVerify }, (t) => {
  for (const host of HOSTS) {
    const dir = join(tmp, `security-${host}`);
    writeRendered(host, dir);
    const score = Object.fromEntries(Object.keys(R[host]!.rendered.services).map((n) => [n, exposure(join(dir, `${n}.service`))]));
    t.diagnostic(`${host}: ${JSON.stringify(score)}`);
    assert.ok(score['pantheragent-health']! <= 2.0, `${host} health: ${score['pantheragent-health']}`);
    assert.ok(score.pantheragent! < 3.0, `${host} daemon: ${score.pantheragent}`);
    assert.ok(score['pantheragent-snapshot']! < 3.0, `${host} snapshot: ${score['pantheragent-snapshot']}`);
    if (score['pantheragent-profile'] !== undefined) assert.ok(score['pantheragent-profile'] <= 2.0, `${host} profile: ${score['pantheragent-profile']}`);
  }
});

// --- the module's units are the plain ones in systemd/ ----------------------------------------

const BOOL: Record<string, string> = { yes: 'true', true: 'true', on: 'true', '1': 'true', no: 'false', false: 'false', off: 'false', '0': 'false' };
/** A directive's values as a sorted multiset of words, booleans spelled one way. */
const norm = (values: string[]) => values.flatMap((v) => v.split(/\s+/).filter(Boolean)).map((w) => BOOL[w] ?? w).sort();
// Where a plain install and NixOS differ by nature: how directories are made (systemd
// *Directory= there, tmpfiles + ReadWritePaths here), documentation links, the
// executable's path (compared without it), NixOS's own keys and environment.
const INSTALL_SPECIFIC = new Set(['StateDirectory', 'StateDirectoryMode', 'RuntimeDirectory', 'RuntimeDirectoryMode', 'RuntimeDirectoryPreserve', 'ReadWritePaths', 'Documentation', 'ExecStart', 'X-Restart-Triggers', 'X-RestartIfChanged', 'Environment']);
const env = (values: string[] = []) => values.map((v) => v.replace(/^"(.*)"$/, '$1')).filter((v) => !/^(PATH|TZDIR)=/.test(v)).sort();

test('the module renders the units of systemd/ (same directives and values) for a laptop', { skip: skipKit }, () => {
  const e = R.yoga!;
  const o = e.options!;
  const rendered: [string, string, string[]][] = [
    ...Object.entries(e.rendered.services).map(([n, text]): [string, string, string[]] => [`${n}.service`, text, o.wantedBy[n] ?? []]),
    ...Object.entries(e.rendered.timers).map(([n, text]): [string, string, string[]] => [`${n}.timer`, text, o.timers[n] ?? []]),
    ...Object.entries(e.rendered.initrdServices).map(([n, text]): [string, string, string[]] => [`${n}.service`, text, o.initrdWantedBy[n] ?? []]),
  ];
  assert.deepEqual(rendered.map((r) => r[0]).sort(), readdirSync(join(ROOT, 'systemd')).filter((f) => /\.(service|timer)$/.test(f)).sort());
  for (const [file, text, wantedBy] of rendered) {
    const plain = parseUnit(readFileSync(join(ROOT, 'systemd', file), 'utf8'));
    const nix: Ini = { ...parseUnit(text), ...(wantedBy.length ? { Install: { WantedBy: wantedBy } } : {}) };
    for (const section of new Set([...Object.keys(plain), ...Object.keys(nix)])) {
      const a = plain[section] ?? {};
      const b = nix[section] ?? {};
      for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
        if (INSTALL_SPECIFIC.has(key)) continue;
        assert.deepEqual(norm(b[key] ?? []), norm(a[key] ?? []), `${file} [${section}] ${key}: module vs systemd/`);
      }
    }
    assert.deepEqual(env(nix.Service?.Environment), env(plain.Service?.Environment), `${file}: Environment`);
    const argsOf = (v: string[] | undefined) => (v?.[0] ?? '').split(/\s+/).slice(1);
    assert.deepEqual(argsOf(nix.Service?.ExecStart), argsOf(plain.Service?.ExecStart), `${file}: ExecStart arguments`);
  }
  const rule = (text: string) =>
    text
      .split('\n')
      .filter((l) => l.trim() && !l.trim().startsWith('#'))
      .map((l) => l.replace(/RUN\+="\S*\/systemctl /, 'RUN+="systemctl '))
      .join('\n');
  assert.equal(rule(e.services.udev.extraRules), rule(readFileSync(join(ROOT, 'systemd/99-pantheragent-power.rules'), 'utf8')));
});

// --- nix/package.nix ------------------------------------------------------------------------

const PKGS = (extra = '') => `(import ${pathLit(join(ROOT, 'nix/tests/pkgs.nix'))} { kit = ${pathLit(KIT)}; ${extra} })`;

test('package.nix evaluates with the real lib and importNpmLock\'s fetch rules: every lock entry is fetched by URL and integrity', { skip: skipKit }, () => {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8'));
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const p = nixEvalJson(`
    let
      pkgs = ${PKGS()};
      p = pkgs.pantheragent;
      mirror = p.override { npmRegistry = "https://npm.example.org/mirror/"; };
      urls = q: builtins.mapAttrs (_: e: e.resolved or null) q.packageLock.packages;
    in {
      inherit (p) drvPath name version;
      node = "\${p.nodejs}";
      defaultNode = "\${pkgs.nodejs}";
      hookNode = "\${p.npmConfigHook.nodejs}";
      node22 = let q = p.override { nodejs = pkgs.nodejs_22; }; in { wrapper = q.installPhaseText; hook = "\${q.npmConfigHook.nodejs}"; node = "\${q.nodejs}"; want = "\${pkgs.nodejs_22}"; };
      hasHash = p ? npmDepsHash;
      installPhase = p.installPhaseText;
      tools = map (t: "\${t}/bin") [ pkgs.btrfs-progs pkgs.util-linux pkgs.coreutils pkgs.systemd pkgs.iproute2 ];
      mainProgram = p.meta.mainProgram;
      lock = p.packageLock.packages;
      fetched = builtins.mapAttrs (_: e: e.resolved or null) p.npmDeps.packages;
      packageJson = p.npmDeps.packageJson;
      urls = urls p;
      mirrorUrls = urls mirror;
      mirrorDrv = mirror.drvPath;
    }`);
  assert.match(p.drvPath, /^\/nix\/store\/[0-9a-z]{32}-pantheragent-\d+\.\d+\.\d+\.drv$/);
  assert.equal(p.version, pkg.version);
  assert.equal(p.hasHash, false, 'no npmDepsHash to keep');
  assert.equal(p.mainProgram, 'pantheragent');

  // Every entry npm downloads has an address npm would use, and its integrity; the
  // restated importNpmLock turned each into a fetched store path (file:...).
  let n = 0;
  for (const [path, entry] of Object.entries<any>(lock.packages)) {
    if (!path || entry.link || entry.inBundle) continue;
    n++;
    const name: string = entry.name ?? path.split('node_modules/').pop();
    const url = `https://registry.npmjs.org/${name}/-/${name.split('/').pop()}-${entry.version}.tgz`;
    assert.equal(p.lock[path].resolved, entry.resolved ?? url, path);
    assert.equal(p.lock[path].integrity, entry.integrity, path);
    assert.match(p.fetched[path], /^file:\/nix\/store\/[0-9a-z]{32}-[^/]+\.tgz$/, path);
    assert.equal(p.mirrorUrls[path], entry.resolved ?? url.replace('https://registry.npmjs.org/', 'https://npm.example.org/mirror/'), path);
  }
  assert.ok(n > 50, `${n} entries`);
  assert.equal(p.fetched[''], null, 'the root package is not fetched');
  for (const deps of ['dependencies', 'devDependencies'])
    for (const name of Object.keys(pkg[deps] ?? {})) assert.equal(p.packageJson[deps][name], p.fetched[`node_modules/${name}`], `${deps}.${name}`);
  assert.notEqual(p.mirrorDrv, p.drvPath, 'the registry is a package argument');

  // One Node.js: nixpkgs' default, for the wrapper and for node-gyp's headers.
  assert.equal(p.node, p.defaultNode);
  assert.equal(p.hookNode, p.node);
  // Another Node.js (e.g. 22): the wrapper, the build and node-gyp follow it together.
  assert.equal(p.node22.node, p.node22.want);
  assert.equal(p.node22.hook, p.node22.want);
  assert.ok(p.node22.wrapper.includes(`makeWrapper ${p.node22.want}/bin/node `));
  const wrap = /makeWrapper (\S+) \$out\/bin\/pantheragent \\\n\s+--add-flags \$out\/lib\/pantheragent\/dist\/pantheragent\.cjs \\\n\s+--prefix PATH : (\S+)/.exec(p.installPhase);
  assert.ok(wrap, `the wrapper:\n${p.installPhase}`);
  assert.equal(wrap[1], `${p.node}/bin/node`);
  assert.deepEqual(wrap[2]!.split(':'), p.tools);
  assert.match(p.installPhase, /npm prune --omit=dev/);
});

test('package.nix: passthru.tests runs check-config on every host of hosts/ with the built package', { skip: skipKit }, () => {
  const t = nixEvalJson(`let p = ${PKGS()}.pantheragent; in { out = "\${p}"; tests = builtins.mapAttrs (_: d: { inherit (d) drvPath buildCommand; }) p.tests; }`);
  const hosts = readdirSync(join(ROOT, 'hosts')).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5));
  assert.deepEqual(Object.keys(t.tests).sort(), hosts.map((h) => `check-config-${h}`).sort());
  for (const h of hosts) {
    const cmd: string = t.tests[`check-config-${h}`].buildCommand;
    assert.match(cmd, new RegExp(`^${t.out}/bin/pantheragent --log-level error check-config /nix/store/[0-9a-z]{32}-${h}\\.json\\ntouch \\$out\\n$`));
  }
});

test('nix/npm-lock.nix: npm\'s address for scoped, nested and aliased entries; links, bundled and already-resolved entries kept', { skip: skipKit }, () => {
  const integrity = 'sha512-AAAA';
  const lock = {
    lockfileVersion: 3,
    packages: {
      '': { name: 'x', version: '1.0.0' },
      'node_modules/a': { version: '1.2.3', integrity },
      'node_modules/@s/b': { version: '2.0.0-rc.1', integrity },
      'node_modules/a/node_modules/c': { version: '0.1.0', integrity },
      'node_modules/alias': { name: '@real/thing', version: '3.0.0', integrity },
      'node_modules/linked': { link: true, resolved: 'packages/linked' },
      'node_modules/a/node_modules/bundled': { version: '1.0.0', inBundle: true },
      'node_modules/pinned': { version: '1.0.0', integrity, resolved: 'https://other.example/pinned-1.0.0.tgz' },
    },
  };
  const out = nixEvalJson(
    `import ${pathLit(join(ROOT, 'nix/npm-lock.nix'))} { lib = import ${pathLit(join(KIT, 'nixpkgs-lib/lib'))}; npmRegistry = "https://r.example/npm"; } (builtins.fromJSON (builtins.readFile ${pathLit(jsonFile(lock))}))`,
  );
  const r = (p: string) => out.packages[p].resolved;
  assert.equal(r('node_modules/a'), 'https://r.example/npm/a/-/a-1.2.3.tgz');
  assert.equal(r('node_modules/@s/b'), 'https://r.example/npm/@s/b/-/b-2.0.0-rc.1.tgz');
  assert.equal(r('node_modules/a/node_modules/c'), 'https://r.example/npm/c/-/c-0.1.0.tgz');
  assert.equal(r('node_modules/alias'), 'https://r.example/npm/@real/thing/-/thing-3.0.0.tgz');
  assert.equal(r('node_modules/linked'), 'packages/linked');
  assert.equal(r('node_modules/a/node_modules/bundled'), undefined);
  assert.equal(r('node_modules/pinned'), 'https://other.example/pinned-1.0.0.tgz');
  assert.equal(out.packages[''].resolved, undefined);
  assert.equal(out.lockfileVersion, 3);

  const broken = { packages: { '': {}, 'node_modules/d': { version: '1.0.0' } } };
  const f = nixEval(
    `import ${pathLit(join(ROOT, 'nix/npm-lock.nix'))} { lib = import ${pathLit(join(KIT, 'nixpkgs-lib/lib'))}; npmRegistry = "https://r.example/"; } (builtins.fromJSON (builtins.readFile ${pathLit(jsonFile(broken))}))`,
  );
  assert.notEqual(f.code, 0);
  assert.match(f.stderr, /entry node_modules\/d has no version or integrity to fetch it by/);
});

// --- flake.nix ----------------------------------------------------------------------------------

test('flake.nix with a kit-made nixpkgs: nix flake check --no-build, four nixosConfigurations with the flake\'s own package', { skip: skipFlake }, () => {
  // Flakes in a git tree see only committed files: evaluate copies instead.
  const agent = join(tmp, 'agent');
  const nixpkgs = join(tmp, 'nixpkgs');
  for (const f of ['flake.nix', 'nix', 'hosts', 'package.json', 'package-lock.json', 'build.mjs', 'tsconfig.json', 'src']) cpSync(join(ROOT, f), join(agent, f), { recursive: true });
  cpSync(join(ROOT, 'nix/tests/kit-nixpkgs/flake.nix'), join(nixpkgs, 'flake.nix'));
  cpSync(join(ROOT, 'nix/tests/pkgs.nix'), join(nixpkgs, 'pkgs.nix'));
  cpSync(KIT, join(nixpkgs, 'kit'), { recursive: true });
  const flags = ['--no-write-lock-file', '--override-input', 'nixpkgs', `path:${nixpkgs}`];

  const c = run('nix', ['flake', 'check', '--no-build', ...flags, `path:${agent}`]);
  assert.equal(c.code, 0, c.stderr);

  const show = run('nix', ['flake', 'show', '--json', ...flags, `path:${agent}`]);
  assert.equal(show.code, 0, show.stderr);
  const outputs = JSON.parse(show.stdout);
  assert.deepEqual(Object.keys(outputs).sort(), ['checks', 'nixosConfigurations', 'nixosModules', 'overlays', 'packages']);
  assert.deepEqual(Object.keys(outputs.nixosConfigurations).sort(), [...HOSTS].sort());
  const hostChecks = HOSTS.map((h) => `check-config-${h}`);
  assert.deepEqual(Object.keys(outputs.checks['x86_64-linux']).sort(), [...hostChecks, 'package', 'vm-wipe-rollback'].sort());
  assert.deepEqual(Object.keys(outputs.checks['aarch64-linux']).sort(), [...hostChecks, 'package'].sort(), 'the VM test needs KVM on x86_64');

  const e = run('nix', [
    'eval',
    '--json',
    ...flags,
    `path:${agent}#nixosConfigurations`,
    '--apply',
    'cs: builtins.mapAttrs (_: c: { toplevel = c.config.system.build.toplevel.name; package = "${c.config.services.pantheragent.package}"; units = builtins.attrNames c.config.rendered.services; wipe = c.config.rendered.initrdServices ? pantheragent-wipe; host = c.config.services.pantheragent.settings.host; }) cs',
  ]);
  assert.equal(e.code, 0, e.stderr);
  const confs = JSON.parse(e.stdout);
  const pkg = run('nix', ['eval', '--raw', ...flags, `path:${agent}#packages.x86_64-linux.default.outPath`]);
  assert.equal(pkg.code, 0, pkg.stderr);
  for (const host of HOSTS) {
    const h = confs[host];
    assert.equal(h.toplevel, `nixos-system-${host}`, 'no failed assertion');
    assert.equal(h.package, pkg.stdout, 'nixosModules.default defaults to the flake\'s own package');
    assert.equal(h.host, host);
    assert.equal(h.wipe, true);
    assert.equal(h.units.includes('pantheragent-profile'), LAPTOPS.has(host), host);
  }
});
