// The Nix side, evaluated offline with Debian's nix-bin (no nixpkgs here or in CI):
// every .nix file parses; nix/module.nix is evaluated against the stub lib/pkgs in
// nix/tests/ (nix/tests/eval-module.nix) and its output checked: settings JSON that
// the agent's own check-config accepts, units, timer, firewall, initrd wipe unit,
// udev rule, assertions; the units it generates match the plain ones in systemd/;
// nix/package.nix's wrapper and lock handling; flake.nix's outputs with the stub
// nixpkgs as input, through `nix eval` and `nix flake check --no-build`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parseConfig } from '../src/config/load.js';
import { skipUnless, STRICT } from './helpers/env.js';
import { parseUnit, type Ini } from './helpers/units.js';

const ROOT = resolve(__dirname, '..');
const CLI = join(ROOT, 'dist/pantheragent.cjs');
const EVAL_MODULE = join(ROOT, 'nix/tests/eval-module.nix');
const STUB = join(ROOT, 'nix/tests/stub-nixpkgs');
const NIX_ENV = { ...process.env, NIX_CONFIG: 'experimental-features = nix-command flakes' };

const skipNix = skipUnless({ commands: ['nix-instantiate'] });
const skipFlake = skipUnless({ commands: ['nix'] });
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

function nixEvalJson(expr: string): any {
  const r = run('nix-instantiate', ['--eval', '--strict', '--json', '-E', expr]);
  assert.equal(r.code, 0, `nix-instantiate failed:\n${r.stderr}`);
  return JSON.parse(r.stdout);
}

let seq = 0;
/** Evaluates nix/module.nix with these definitions from "other modules". */
function evalModuleExpr(definitions: object, hostName = 'yoga', module?: string): string {
  const file = join(tmp, `defs-${++seq}.json`);
  writeFileSync(file, JSON.stringify(definitions));
  return `import ${JSON.stringify(EVAL_MODULE)} { config = builtins.fromJSON (builtins.readFile ${JSON.stringify(file)}); hostName = ${JSON.stringify(hostName)};${module ? ` module = ${module};` : ''} }`;
}
interface ModuleResult {
  config: any;
  cfg: any;
  failedAssertions: string[];
}
function evalModule(definitions: object, hostName = 'yoga'): ModuleResult {
  return nixEvalJson(evalModuleExpr(definitions, hostName));
}
function evalModuleFails(definitions: object): string {
  const r = run('nix-instantiate', ['--eval', '--strict', '--json', '-E', evalModuleExpr(definitions)]);
  assert.notEqual(r.code, 0, 'evaluation should fail');
  return r.stderr;
}

const readHost = (h: string) => JSON.parse(readFileSync(join(ROOT, 'hosts', `${h}.json`), 'utf8'));
const HOSTS = ['yoga', 'zephyrus', 'hetzner-vps', 'ovh-vps'];
const LAPTOPS = new Set(['yoga', 'zephyrus']);

function checkConfig(settings: unknown): { code: number; stderr: string } {
  const file = join(tmp, `settings-${++seq}.json`);
  writeFileSync(file, JSON.stringify(settings));
  const r = spawnSync(process.execPath, [CLI, 'check-config', file], { encoding: 'utf8', env: { ...process.env, PANTHERAGENT_LOG_LEVEL: 'silent' } });
  return { code: r.status ?? -1, stderr: r.stderr };
}

// --- parsing -------------------------------------------------------------------

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

test('every .nix file in the repository parses (nix-instantiate --parse)', { skip: skipNix }, () => {
  const files = nixFiles(ROOT);
  const rel = files.map((f) => relative(ROOT, f));
  for (const must of ['flake.nix', 'nix/module.nix', 'nix/package.nix', 'nix/tests/eval-module.nix']) assert.ok(rel.includes(must), `${must} is there`);
  for (const f of files) {
    const r = run('nix-instantiate', ['--parse', f]);
    assert.equal(r.code, 0, `${relative(ROOT, f)} does not parse:\n${r.stderr}`);
  }
});

// --- the module ------------------------------------------------------------------

test('disabled, the module defines nothing', { skip: skipNix }, () => {
  const r = evalModule({});
  assert.deepEqual(r.config, {});
  assert.equal(r.cfg.enable, false);
});

test('enabled with defaults: settings, config file checked at build time, units, timer, firewall', { skip: skipNix }, () => {
  const { config, cfg, failedAssertions } = evalModule({ services: { pantheragent: { enable: true } } });
  assert.deepEqual(failedAssertions, []);

  // host defaults to networking.hostName; declared defaults are the schema's.
  assert.equal(cfg.settings.host, 'yoga');
  assert.equal(cfg.settings.stateDir, '/var/lib/pantheragent');
  assert.equal(cfg.settings.btrfs.device, '/dev/mapper/cryptroot');
  assert.equal(cfg.settings.health.port, 9473);

  // /etc/pantheragent/config.json is the output of a build step that runs check-config.
  const etc = config.environment.etc['pantheragent/config.json'].source;
  assert.match(etc, /^\/nix\/store\/[0-9a-z]{32}-pantheragent-config\.json$/);
  const pkg: string = cfg.package;
  assert.match(pkg, /^\/nix\/store\/[0-9a-z]{32}-pantheragent-0\.\d+\.\d+/);
  assert.deepEqual(config.environment.systemPackages, [pkg]);

  const s = config.systemd.services;
  assert.deepEqual(Object.keys(s).sort(), ['pantheragent', 'pantheragent-health', 'pantheragent-profile', 'pantheragent-snapshot']);

  // The root daemon.
  const d = s.pantheragent;
  assert.equal(d.serviceConfig.ExecStart, `${pkg}/bin/pantheragent daemon`);
  assert.deepEqual(d.wantedBy, ['multi-user.target']);
  assert.equal(d.serviceConfig.PrivateMounts, true, 'its top-level mount stays in its own namespace');
  assert.ok(d.serviceConfig.CapabilityBoundingSet.includes('CAP_SYS_ADMIN'));
  assert.equal(d.serviceConfig.ProtectSystem, 'strict');
  assert.deepEqual(d.serviceConfig.ReadWritePaths, ['/var/lib/pantheragent', '/run/pantheragent']);
  assert.equal(d.serviceConfig.ProtectKernelTunables, false, 'power profiles write /sys');
  assert.ok(d.serviceConfig.SystemCallFilter.includes('@mount'));
  assert.deepEqual(d.restartTriggers, [etc]);

  // The health endpoint: unprivileged, no capabilities, inet + unix only, read-only.
  const h = s['pantheragent-health'].serviceConfig;
  assert.equal(h.ExecStart, `${pkg}/bin/pantheragent serve-health`);
  assert.equal(h.DynamicUser, true);
  assert.equal(h.CapabilityBoundingSet, '');
  assert.equal(h.AmbientCapabilities, '');
  assert.equal(h.NoNewPrivileges, true);
  assert.deepEqual([...h.RestrictAddressFamilies].sort(), ['AF_INET', 'AF_INET6', 'AF_UNIX']);
  assert.equal(h.ProtectSystem, 'strict');
  assert.deepEqual(h.ReadOnlyPaths, ['-/run/pantheragent']);
  assert.equal(h.PrivateDevices, true);
  assert.equal(h.IPAddressDeny, 'any');
  assert.ok(!('ReadWritePaths' in h), 'writes nowhere');

  // snapshot --prune on a persistent timer.
  assert.equal(s['pantheragent-snapshot'].serviceConfig.ExecStart, `${pkg}/bin/pantheragent snapshot --prune`);
  assert.equal(s['pantheragent-snapshot'].serviceConfig.Type, 'oneshot');
  const t = config.systemd.timers['pantheragent-snapshot'];
  assert.deepEqual(t.timerConfig, { OnCalendar: 'hourly', Persistent: true });
  assert.deepEqual(t.wantedBy, ['timers.target']);

  // The port is opened on tailscale0 and nowhere else.
  assert.deepEqual(config.networking, { firewall: { interfaces: { tailscale0: { allowedTCPPorts: [9473] } } } });

  // State and runtime directories.
  assert.deepEqual(config.systemd.tmpfiles.rules, ['d /var/lib/pantheragent 0700 root root - -', 'd /run/pantheragent 0755 root root - -']);

  // No wipe unless asked for.
  assert.equal(config.boot, undefined);
});

test('the settings the module writes (declared defaults included) pass check-config', { skip: skipNix || needDist() }, () => {
  const { cfg } = evalModule({ services: { pantheragent: { enable: true } } });
  const r = checkConfig(cfg.settings);
  assert.equal(r.code, 0, r.stderr);
});

for (const host of HOSTS) {
  test(`hosts/${host}.json through the module: valid for check-config, same meaning, no failed assertion`, { skip: skipNix || needDist() }, () => {
    const settings = readHost(host);
    const { config, cfg, failedAssertions } = evalModule({ services: { pantheragent: { enable: true, wipeRoot: { enable: true }, settings } } }, host);
    assert.deepEqual(failedAssertions, []);
    const r = checkConfig(cfg.settings);
    assert.equal(r.code, 0, r.stderr);
    // The declared options' defaults add keys, never change what the file means.
    assert.deepEqual(parseConfig(cfg.settings, 'module'), parseConfig(settings, host));

    const units = Object.keys(config.systemd.services).sort();
    if (LAPTOPS.has(host)) {
      assert.ok(units.includes('pantheragent-profile'));
      assert.equal(config.systemd.services['pantheragent-profile'].serviceConfig.ExecStart, `${cfg.package}/bin/pantheragent profile auto`);
      assert.match(config.services.udev.extraRules, /^SUBSYSTEM=="power_supply", .*RUN\+="\/nix\/store\/[^"]+\/bin\/systemctl --no-block start pantheragent-profile\.service"\n$/);
    } else {
      assert.ok(!units.includes('pantheragent-profile'), 'servers have no power profile unit');
      assert.equal(config.services, undefined, 'and no udev rule');
      assert.equal(config.systemd.services.pantheragent.serviceConfig.ProtectKernelTunables, true);
    }
  });
}

test('wipeRoot: the initrd unit runs the script rendered at build time, ordered around the LUKS device', { skip: skipNix }, () => {
  for (const [host, deviceUnit] of [
    ['yoga', 'dev-mapper-cryptroot.device'],
    ['hetzner-vps', 'dev-sda2.device'],
  ] as const) {
    const { config, failedAssertions } = evalModule({ services: { pantheragent: { enable: true, wipeRoot: { enable: true }, settings: readHost(host) } } }, host);
    assert.deepEqual(failedAssertions, []);
    const i = config.boot.initrd.systemd;
    const w = i.services['pantheragent-wipe'];
    assert.deepEqual(w.wantedBy, ['initrd.target']);
    assert.deepEqual(w.requires, [deviceUnit]);
    assert.deepEqual(w.after, [deviceUnit, 'local-fs-pre.target']);
    assert.deepEqual(w.before, ['sysroot.mount']);
    assert.equal(w.unitConfig.DefaultDependencies, false);
    assert.equal(w.serviceConfig.Type, 'oneshot');
    assert.match(w.serviceConfig.ExecStart, /^\/nix\/store\/[0-9a-z]{32}-pantheragent-wipe$/);
    assert.deepEqual(i.storePaths, [w.serviceConfig.ExecStart], 'the script is copied into the initrd');
    assert.match(i.extraBin.btrfs, /^\/nix\/store\/[0-9a-z]{32}-btrfs-progs\/bin\/btrfs$/);
  }
});

test('the build steps: check-config on the settings, render-initrd from the checked file', { skip: skipNix }, () => {
  // The stub runCommand keeps its build command on the derivation.
  const steps = nixEvalJson(`
    let
      r = ${evalModuleExpr({ services: { pantheragent: { enable: true, wipeRoot: { enable: true }, settings: readHost('yoga') } } })};
      configFile = r.config.environment.etc."pantheragent/config.json".source;
      wipeScript = builtins.head r.config.boot.initrd.systemd.storePaths;
    in {
      package = "\${r.cfg.package}";
      configFile = "\${configFile}";
      check = configFile.buildCommand;
      render = wipeScript.buildCommand;
    }`);
  const exe = `${steps.package}/bin/pantheragent`;
  const settingsFile = /check-config (\/nix\/store\/[0-9a-z]{32}-pantheragent-settings\.json)\n/.exec(steps.check)?.[1];
  assert.ok(settingsFile, steps.check);
  assert.ok(steps.check.includes(`${exe} --log-level error check-config ${settingsFile}\n`), steps.check);
  assert.ok(steps.check.includes(`cp ${settingsFile} $out`), 'the checked file is what is installed');
  assert.ok(steps.render.includes(`${exe} --log-level error --config ${steps.configFile} render-initrd > $out`), steps.render);
});

test('assertions: stateDir must survive the wipe', { skip: skipNix }, () => {
  const msg = (settings: object, extra: object = {}) =>
    evalModule({ services: { pantheragent: { enable: true, wipeRoot: { enable: true }, settings } }, ...extra }).failedAssertions;
  const [m] = msg({});
  assert.match(m ?? '', /stateDir \(\/var\/lib\/pantheragent\) is on the root that is wiped at every boot/);
  assert.deepEqual(msg({ persistence: { directories: ['/var/lib/pantheragent'] } }), []);
  assert.deepEqual(msg({ persistence: { directories: ['/var/lib'] } }), []);
  assert.deepEqual(msg({ stateDir: '/persist/pantheragent' }), []);
  assert.equal(msg({ stateDir: '/persistent/pantheragent' }).length, 1, 'a prefix of the name is not "under"');
  // A file system of its own persists; a tmpfs does not.
  assert.deepEqual(msg({}, { fileSystems: { '/var/lib/pantheragent': { mountPoint: '/var/lib/pantheragent', fsType: 'btrfs' } } }), []);
  assert.equal(msg({}, { fileSystems: { '/var/lib': { mountPoint: '/var/lib', fsType: 'tmpfs' } } }).length, 1);
  // Without the wipe, the root is not wiped: nothing to check.
  assert.deepEqual(evalModule({ services: { pantheragent: { enable: true } } }).failedAssertions, []);
});

test('assertions: no other power manager while power.enable', { skip: skipNix }, () => {
  for (const other of ['power-profiles-daemon', 'tlp', 'auto-cpufreq', 'asusd']) {
    const on = evalModule({ services: { pantheragent: { enable: true }, [other]: { enable: true } } }).failedAssertions;
    assert.equal(on.length, 1, other);
    assert.match(on[0]!, new RegExp(`^services\\.${other} is enabled and would fight pantheragent over the power profile`));
    const off = evalModule({ services: { pantheragent: { enable: true, settings: { power: { enable: false } } }, [other]: { enable: true } } }).failedAssertions;
    assert.deepEqual(off, [], `${other} is fine on a host without power profiles`);
  }
});

test('assertions: the wipe needs systemd in stage 1', { skip: skipNix }, () => {
  const r = evalModule({
    boot: { initrd: { systemd: { enable: false } } },
    services: { pantheragent: { enable: true, wipeRoot: { enable: true }, settings: { persistence: { directories: ['/var/lib/pantheragent'] } } } },
  });
  assert.equal(r.failedAssertions.length, 1);
  assert.match(r.failedAssertions[0]!, /boot\.initrd\.systemd\.enable = true/);
});

test('options: typed settings, snapshot schedule, firewall switch', { skip: skipNix }, () => {
  assert.match(evalModuleFails({ services: { pantheragent: { enable: true, settings: { power: { onAC: 'turbo' } } } } }), /settings\.power\.onAC' is not of type/);
  assert.match(evalModuleFails({ services: { pantheragent: { enable: true, settings: { health: { port: 70000 } } } } }), /settings\.health\.port' is not of type/);
  assert.match(evalModuleFails({ services: { pantheragent: { enable: true, settings: { stateDir: 'var/lib/x' } } } }), /settings\.stateDir' is not of type/);
  assert.match(evalModuleFails({ services: { pantheragent: { enable: true, snapshotInterval: 'daily' } } }), /services\.pantheragent\.snapshotInterval' does not exist/);

  const r = evalModule({ services: { pantheragent: { enable: true, snapshotSchedule: '*:0/15', settings: { health: { port: 9999 } } } } });
  assert.equal(r.config.systemd.timers['pantheragent-snapshot'].timerConfig.OnCalendar, '*:0/15');
  assert.deepEqual(r.config.networking.firewall.interfaces.tailscale0.allowedTCPPorts, [9999]);
  assert.deepEqual(evalModule({ services: { pantheragent: { enable: true, openFirewall: false } } }).config.networking, undefined);
  assert.deepEqual(evalModule({ services: { pantheragent: { enable: true, settings: { health: { listen: ['loopback'] } } } } }).config.networking, undefined);
  // Freeform keys pass through to the JSON (check-config judges them).
  const f = evalModule({ services: { pantheragent: { enable: true, settings: { timezone: 'UTC', power: { chargeLimit: 60 } } } } });
  assert.equal(f.cfg.settings.timezone, 'UTC');
  assert.equal(f.cfg.settings.power.chargeLimit, 60);
  assert.equal(f.cfg.settings.power.onBattery, 'power-saver');
});

// --- the module's units are the plain ones in systemd/ ----------------------------


const BOOL: Record<string, string> = { yes: 'true', true: 'true', on: 'true', '1': 'true', no: 'false', false: 'false', off: 'false', '0': 'false' };
/** A directive's values as a sorted multiset of words, booleans spelled one way. */
const norm = (values: string[]) => values.flatMap((v) => v.split(/\s+/).filter(Boolean)).map((w) => BOOL[w] ?? w).sort();
const toStrings = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : [v === true ? 'true' : v === false ? 'false' : String(v)]);

/** The unit the NixOS module would write, in the same shape as parseUnit. */
function renderNixUnit(u: any, kind: 'service' | 'timer'): Ini {
  const unit: Record<string, string[]> = {};
  const install: Record<string, string[]> = {};
  if (u.description) unit.Description = [u.description];
  for (const [k, key] of [['after', 'After'], ['before', 'Before'], ['wants', 'Wants'], ['requires', 'Requires']] as const) if (u[k]) unit[key] = u[k];
  for (const [k, v] of Object.entries(u.unitConfig ?? {})) unit[k] = toStrings(v);
  if (u.wantedBy) install.WantedBy = u.wantedBy;
  const body: Record<string, string[]> = {};
  for (const [k, v] of Object.entries((kind === 'service' ? u.serviceConfig : u.timerConfig) ?? {})) body[k] = toStrings(v);
  if (u.environment) body.Environment = Object.entries(u.environment).map(([k, v]) => `${k}=${v}`);
  return { Unit: unit, [kind === 'service' ? 'Service' : 'Timer']: body, ...(Object.keys(install).length ? { Install: install } : {}) };
}

// Where a plain install and NixOS differ by nature: how directories are made (systemd
// *Directory= there, tmpfiles + ReadWritePaths here), documentation links, and the
// executable's path (compared without it).
const INSTALL_SPECIFIC = new Set(['StateDirectory', 'StateDirectoryMode', 'RuntimeDirectory', 'RuntimeDirectoryMode', 'RuntimeDirectoryPreserve', 'ReadWritePaths', 'Documentation', 'ExecStart']);

test('the module generates the units of systemd/ (same directives and values)', { skip: skipNix }, () => {
  const { config } = evalModule({
    services: { pantheragent: { enable: true, wipeRoot: { enable: true }, settings: { persistence: { directories: ['/var/lib/pantheragent'] } } } },
  });
  const pairs: [string, any, 'service' | 'timer'][] = [
    ['pantheragent.service', config.systemd.services.pantheragent, 'service'],
    ['pantheragent-health.service', config.systemd.services['pantheragent-health'], 'service'],
    ['pantheragent-snapshot.service', config.systemd.services['pantheragent-snapshot'], 'service'],
    ['pantheragent-profile.service', config.systemd.services['pantheragent-profile'], 'service'],
    ['pantheragent-snapshot.timer', config.systemd.timers['pantheragent-snapshot'], 'timer'],
    ['pantheragent-wipe.service', config.boot.initrd.systemd.services['pantheragent-wipe'], 'service'],
  ];
  assert.deepEqual(pairs.map((p) => p[0]).sort(), readdirSync(join(ROOT, 'systemd')).filter((f) => /\.(service|timer)$/.test(f)).sort());
  for (const [file, nixUnit, kind] of pairs) {
    const plain = parseUnit(readFileSync(join(ROOT, 'systemd', file), 'utf8'));
    const nix = renderNixUnit(nixUnit, kind);
    for (const section of new Set([...Object.keys(plain), ...Object.keys(nix)])) {
      const a = plain[section] ?? {};
      const b = nix[section] ?? {};
      for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
        if (INSTALL_SPECIFIC.has(key)) continue;
        assert.deepEqual(norm(b[key] ?? []), norm(a[key] ?? []), `${file} [${section}] ${key}: module vs systemd/`);
      }
    }
    const argsOf = (v: string[] | undefined) => (v?.[0] ?? '').split(/\s+/).slice(1);
    assert.deepEqual(argsOf(nix.Service?.ExecStart), argsOf(plain.Service?.ExecStart), `${file}: ExecStart arguments`);
  }

  const rule = (text: string) =>
    text
      .split('\n')
      .filter((l) => l.trim() && !l.trim().startsWith('#'))
      .map((l) => l.replace(/RUN\+="\S*\/systemctl /, 'RUN+="systemctl '))
      .join('\n');
  assert.equal(rule(config.services.udev.extraRules), rule(readFileSync(join(ROOT, 'systemd/99-pantheragent-power.rules'), 'utf8')));
});

// --- nix/package.nix ----------------------------------------------------------------

function evalPackage(args: string, expr: string): any {
  return nixEvalJson(`
    let
      lib = import ${JSON.stringify(join(STUB, 'lib.nix'))};
      pkgs = import ${JSON.stringify(join(STUB, 'pkgs.nix'))} { inherit lib; system = "x86_64-linux"; };
      p = pkgs.callPackage ${JSON.stringify(join(ROOT, 'nix/package.nix'))} ${args};
    in ${expr}`);
}

test('package.nix: buildNpmPackage with importNpmLock, Node 20, tools on the wrapper PATH', { skip: skipNix }, () => {
  const p = evalPackage('{ }', `{
    inherit (p) pname version builder npmBuildScript;
    installPhase = p.installPhase;
    nodejs = "\${p.nodejs}";
    node20 = "\${pkgs.nodejs_20}";
    hook = "\${p.npmConfigHook}";
    importHook = "\${pkgs.importNpmLock.npmConfigHook}";
    hasHash = p ? npmDepsHash;
    tools = map (t: "\${t}/bin") [ pkgs.btrfs-progs pkgs.util-linux pkgs.coreutils pkgs.systemd pkgs.iproute2 ];
    mainProgram = p.meta.mainProgram;
  }`);
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  assert.equal(p.builder, 'buildNpmPackage');
  assert.equal(p.pname, 'pantheragent');
  assert.equal(p.version, pkg.version);
  assert.equal(p.npmBuildScript, 'build');
  assert.equal(p.nodejs, p.node20);
  assert.equal(p.hook, p.importHook);
  assert.equal(p.hasHash, false, 'no npmDepsHash to keep');
  assert.equal(p.mainProgram, 'pantheragent');
  const wrap = /makeWrapper (\S+) \$out\/bin\/pantheragent \\\n\s+--add-flags \$out\/lib\/pantheragent\/dist\/pantheragent\.cjs \\\n\s+--prefix PATH : (\S+)/.exec(p.installPhase);
  assert.ok(wrap, `the wrapper:\n${p.installPhase}`);
  assert.equal(wrap[1], `${p.node20}/bin/node`);
  assert.deepEqual(wrap[2]!.split(':'), p.tools);
  assert.match(p.installPhase, /npm prune --omit=dev/);
  assert.match(p.installPhase, /cp -r dist node_modules \$out\/lib\/pantheragent\//);
});

test('package.nix: lock entries without "resolved" get the registry address npm would use', { skip: skipNix }, () => {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8'));
  const r = evalPackage('{ npmRegistry = "https://registry.example/npm/"; }', `{
    lock = p.npmDeps.args.packageLock.packages;
    root = p.npmDeps.args.npmRoot;
  }`);
  for (const [path, entry] of Object.entries<any>(lock.packages)) {
    if (!path) continue;
    const name: string = entry.name ?? path.split('node_modules/').pop();
    const expected = entry.resolved ?? `https://registry.example/npm/${name}/-/${name.split('/').pop()}-${entry.version}.tgz`;
    assert.equal(r.lock[path].resolved, expected, path);
    assert.equal(r.lock[path].integrity, entry.integrity, path);
  }
  const scoped = Object.keys(lock.packages).find((k) => k.includes('node_modules/@'));
  if (scoped) assert.match(r.lock[scoped].resolved, /\/@[^/]+\/[^/]+\/-\/[^/@]+-\d[^/]*\.tgz$/);

  // Without a registry, building says what to pass (evaluating the package does not fail).
  assert.equal(evalPackage('{ }', 'p.name'), `pantheragent-${lock.version}`);
  const missing = lock.packages && Object.keys(lock.packages).find((k) => k && !lock.packages[k].resolved);
  if (missing) {
    const fail = run('nix-instantiate', [
      '--eval',
      '--strict',
      '-E',
      `let lib = import ${JSON.stringify(join(STUB, 'lib.nix'))}; pkgs = import ${JSON.stringify(join(STUB, 'pkgs.nix'))} { inherit lib; system = "x86_64-linux"; }; in (pkgs.callPackage ${JSON.stringify(join(ROOT, 'nix/package.nix'))} { }).npmDeps.args.packageLock.packages.${JSON.stringify(missing)}.resolved`,
    ]);
    assert.notEqual(fail.code, 0);
    assert.match(fail.stderr, /Pass the npm registry's base URL/);
  }
});

// --- flake.nix ------------------------------------------------------------------------

test('flake.nix: outputs with a stub nixpkgs input (nix eval, nix flake check --no-build)', { skip: skipFlake || skipNix }, () => {
  // Flakes in a git tree see only committed files: evaluate copies instead.
  const agent = join(tmp, 'agent');
  const stub = join(tmp, 'stub');
  const check = join(tmp, 'check');
  for (const f of ['flake.nix', 'nix', 'package.json', 'package-lock.json', 'build.mjs', 'tsconfig.json', 'src']) cpSync(join(ROOT, f), join(agent, f), { recursive: true });
  cpSync(STUB, stub, { recursive: true });
  cpSync(join(ROOT, 'hosts/yoga.json'), join(check, 'yoga.json'));
  writeFileSync(
    join(check, 'flake.nix'),
    `{
      inputs.nixpkgs.url = "path:${stub}";
      inputs.agent.url = "path:${agent}";
      inputs.agent.inputs.nixpkgs.follows = "nixpkgs";
      outputs = { self, nixpkgs, agent }:
        let
          pkgs = nixpkgs.legacyPackages.x86_64-linux;
          evalModule = import (agent + "/nix/tests/eval-module.nix");
          m = evalModule {
            module = agent.nixosModules.default;
            config.services.pantheragent = { enable = true; wipeRoot.enable = true; settings = builtins.fromJSON (builtins.readFile ./yoga.json); };
          };
        in {
          summary = {
            systems = builtins.attrNames agent.packages;
            packages = builtins.mapAttrs (_: ps: { names = builtins.attrNames ps; name = ps.default.name; system = ps.default.system; }) agent.packages;
            overlay = (agent.overlays.default pkgs pkgs).pantheragent.name;
            overlayIsPackage = (agent.overlays.default pkgs pkgs).pantheragent.drvPath == agent.packages.x86_64-linux.default.drvPath;
            moduleUnits = builtins.attrNames m.config.systemd.services;
            moduleWipe = m.config.boot.initrd.systemd.services ? pantheragent-wipe;
            moduleFailed = m.failedAssertions;
          };
        };
    }`,
  );
  const flags = ['--no-write-lock-file'];
  const r = run('nix', ['eval', '--json', ...flags, `path:${check}#summary`]);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;
  assert.deepEqual(s.systems, ['aarch64-linux', 'x86_64-linux']);
  for (const sys of s.systems) assert.deepEqual(s.packages[sys], { names: ['default'], name: `pantheragent-${version}`, system: sys });
  assert.equal(s.overlay, `pantheragent-${version}`);
  assert.equal(s.overlayIsPackage, true);
  assert.deepEqual(s.moduleUnits, ['pantheragent', 'pantheragent-health', 'pantheragent-profile', 'pantheragent-snapshot']);
  assert.equal(s.moduleWipe, true);
  assert.deepEqual(s.moduleFailed, []);

  const override = ['--override-input', 'nixpkgs', `path:${stub}`];
  const c = run('nix', ['flake', 'check', '--no-build', ...flags, ...override, `path:${agent}`]);
  assert.equal(c.code, 0, c.stderr);
  const show = run('nix', ['flake', 'show', '--json', ...flags, ...override, `path:${agent}`]);
  assert.equal(show.code, 0, show.stderr);
  const outputs = JSON.parse(show.stdout);
  assert.deepEqual(Object.keys(outputs).sort(), ['nixosModules', 'overlays', 'packages']);
  assert.equal(outputs.nixosModules.default.type, 'nixos-module');
  assert.equal(outputs.overlays.default.type, 'nixpkgs-overlay');
  assert.equal(outputs.packages['x86_64-linux'].default.type, 'derivation');
});
