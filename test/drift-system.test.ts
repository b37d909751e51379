// The drift readers against real things: NixOS-shaped symlink trees (reboot, nextboot),
// real git repositories and a git daemon on loopback (revision), the real nix on a
// fixture flake with a private store (closure), real bind mounts in a private mount
// namespace (persistence), and the bundled CLI (exit codes, --json, --history).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configSchema, type Config } from '../src/config/schema.js';
import { readFlakeRevision } from '../src/drift/flake.js';
import { compareNextboot, readNextbootFacts } from '../src/drift/nextboot.js';
import { resolveIn } from '../src/drift/paths.js';
import { compareReboot, readRebootFacts } from '../src/drift/reboot.js';
import { runDrift } from '../src/drift/run.js';
import type { DriftCheck, DriftKind } from '../src/drift/types.js';
import { openDb } from '../src/store/db.js';
import { makeBtrfs, layoutHost } from './helpers/btrfs.js';
import { boot, link, nixosSystem, put, store } from './fixtures/drift/nixos.js';
import { cli, writeConfig } from './helpers/cli.js';
import { BTRFS_REQ, skipUnless } from './helpers/env.js';

const FIX = join(__dirname, 'fixtures/drift');
let tmp: string;
before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'pantheragent-drift-'));
});
after(() => rmSync(tmp, { recursive: true, force: true }));

let n = 0;
const fresh = (name: string) => {
  const d = join(tmp, `${name}-${++n}`);
  mkdirSync(d, { recursive: true });
  return d;
};
function config(dir: string, overrides: Record<string, any> = {}): Config {
  return configSchema.parse({
    host: 'testhost',
    stateDir: join(dir, 'state'),
    runtimeDir: join(dir, 'run'),
    systemRoot: join(dir, 'root'),
    btrfs: { device: join(dir, 'no-device') },
    power: { enable: false },
    timezone: 'UTC',
    ...overrides,
    drift: { flake: `git+file://${join(dir, 'no-flake')}`, ...overrides.drift },
  });
}

async function one(cfg: Config, kind: DriftKind, opts: Parameters<typeof runDrift>[1] = {}): Promise<DriftCheck> {
  const [c] = await runDrift(cfg, { ...opts, kinds: [kind] });
  return c!;
}

// --- reboot, nextboot --------------------------------------------------------------------

test('resolveIn follows absolute links inside the system root, never on the host', () => {
  const root = join(fresh('resolve'), 'root');
  const top = nixosSystem(root, 'a', '6.12.9');
  boot(root, top, top, { generation: 1, toplevel: top });
  assert.deepEqual(resolveIn(root, '/run/current-system/kernel'), { path: `${store('linux-6.12.9')}/bzImage`, exists: true });
  assert.deepEqual(resolveIn(root, '/nix/var/nix/profiles/system'), { path: top, exists: true });
  assert.deepEqual(resolveIn(root, '/run/current-system/missing/x'), { path: `${top}/missing/x`, exists: false });
  link(root, '/loop', '/loop');
  assert.throws(() => resolveIn(root, '/loop'), /too many levels of symbolic links/);
});

test('reboot and nextboot on NixOS-shaped trees: after switch, after boot, and in step', async () => {
  const dir = fresh('boot');
  const root = join(dir, 'root');
  const cfg = config(dir);
  const old = nixosSystem(root, 'old', '6.12.9');
  const sameKernel = nixosSystem(root, 'same-kernel', '6.12.9');
  const next = nixosSystem(root, 'new', '6.12.11');

  // Booted old, switched to a system with the same kernel: nothing needs a reboot.
  boot(root, old, sameKernel, { generation: 42, toplevel: sameKernel });
  assert.equal(compareReboot(readRebootFacts(root)).summary, "the running kernel 6.12.9, initrd and modules are the current system's");
  assert.equal((await one(cfg, 'nextboot')).summary, 'the next boot starts the running system (generation 42)');

  // nixos-rebuild switch to a new kernel: reboot drifts, naming both versions.
  rmSync(join(root, 'run'), { recursive: true });
  rmSync(join(root, 'nix/var'), { recursive: true });
  boot(root, old, next, { generation: 43, toplevel: next });
  const r = await one(cfg, 'reboot');
  assert.equal(r.status, 'drift');
  assert.equal(r.summary, 'kernel, initrd, kernel-modules changed since boot (6.12.9 -> 6.12.11): reboot to run them');
  assert.deepEqual((r.details.changed as { item: string; booted: string; current: string }[])[0], { item: 'kernel', booted: `${store('linux-6.12.9')}/bzImage`, current: `${store('linux-6.12.11')}/bzImage` });
  assert.equal((await one(cfg, 'nextboot')).status, 'ok');

  // nixos-rebuild boot: the running system is still the old one, the profile is new.
  rmSync(join(root, 'run'), { recursive: true });
  boot(root, old, old, null);
  const nb = compareNextboot(readNextbootFacts(root));
  assert.equal(nb.status, 'drift');
  assert.equal(nb.summary, 'the next boot starts generation 43 (nixos-system-testhost-new), not the running system (nixos-system-testhost-old)');
  assert.equal(nb.details.nextBoot, next);
  assert.equal(nb.details.current, old);
  assert.equal((await one(cfg, 'reboot')).status, 'ok');

  // Not NixOS at all.
  const bare = config(fresh('bare'));
  assert.equal((await one(bare, 'reboot')).status, 'unknown');
  assert.equal((await one(bare, 'nextboot')).status, 'unknown');
});

// --- revision ----------------------------------------------------------------------------

const GIT_ENV = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.org', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.org', GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' };
function git(repo: string, ...args: string[]): string {
  const r = spawnSync('git', ['-C', repo, ...args], { encoding: 'utf8', env: GIT_ENV });
  assert.equal(r.status, 0, `git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}
function commit(repo: string, file: string, content: string): string {
  writeFileSync(join(repo, file), content);
  git(repo, 'add', file);
  git(repo, 'commit', '-q', '-m', `${file}: ${content}`);
  return git(repo, 'rev-parse', 'HEAD');
}
function repo(dir: string): string {
  const r = join(dir, 'flake');
  mkdirSync(r);
  git(r, 'init', '-q', '-b', 'main');
  return r;
}

/** A host whose running system says it was built from `revision`. */
function running(dir: string, revision: string, via: 'file' | 'nixos-version' = 'file'): void {
  const root = join(dir, 'root');
  rmSync(root, { recursive: true, force: true });
  const top = via === 'file' ? nixosSystem(root, revision, '6.12.9', { revision }) : nixosSystem(root, revision, '6.12.9', { nixosVersion: JSON.stringify({ nixosVersion: '25.05', configurationRevision: revision }) });
  boot(root, top, top, null);
}

test('revision on real git repositories: same, behind, ahead, diverged, dirty, unknown commit, no git', { skip: skipUnless({ commands: ['git'] }) }, async () => {
  const dir = fresh('rev');
  const r = repo(dir);
  const cfg = config(dir, { drift: { flake: `git+file://${r}` } });
  const a = commit(r, 'flake.nix', 'a');
  const b = commit(r, 'flake.nix', 'b');
  const c = commit(r, 'flake.nix', 'c');

  running(dir, c);
  let v = await one(cfg, 'revision');
  assert.equal(v.summary, `running ${c.slice(0, 7)}, the flake's revision`);
  assert.equal(v.status, 'ok');

  running(dir, a, 'nixos-version');
  v = await one(cfg, 'revision');
  assert.equal(v.summary, `running ${a.slice(0, 7)} is 2 commits behind ${r} (${c.slice(0, 7)})`);
  assert.equal(v.details.runningFrom, '/run/current-system/sw/bin/nixos-version --json');
  assert.equal(v.details.run, `nixos-rebuild switch --flake 'git+file://${r}#testhost'`);

  // Built from a commit on another branch that descends from the checkout's HEAD.
  git(r, 'checkout', '-q', '-b', 'feature');
  const d = commit(r, 'host.nix', 'd');
  git(r, 'checkout', '-q', 'main');
  running(dir, d);
  v = await one(cfg, 'revision');
  assert.equal(v.summary, `running ${d.slice(0, 7)} is 1 commit ahead of ${r} (${c.slice(0, 7)}): the checkout is behind what runs`);
  assert.deepEqual([v.details.ahead, v.details.behind], [1, 0]);

  // A branch from b with its own commit: 1 ahead, 1 behind.
  git(r, 'checkout', '-q', '-b', 'old', b);
  const e = commit(r, 'other.nix', 'e');
  git(r, 'checkout', '-q', 'main');
  running(dir, e);
  assert.equal((await one(cfg, 'revision')).summary, `running ${e.slice(0, 7)} and ${r} (${c.slice(0, 7)}) have diverged: 1 ahead, 1 behind`);

  // Not in this clone at all.
  running(dir, 'f'.repeat(40));
  assert.match((await one(cfg, 'revision')).summary, new RegExp(`^running fffffff is not in ${r} \\(at ${c.slice(0, 7)}\\)`));

  // Dirty: a changed tracked file is drift; an untracked one is not part of the flake.
  running(dir, c);
  writeFileSync(join(r, 'untracked.nix'), 'x');
  assert.equal((await one(cfg, 'revision')).status, 'ok');
  writeFileSync(join(r, 'flake.nix'), 'c, edited');
  v = await one(cfg, 'revision');
  assert.equal(v.summary, `${r} has 1 uncommitted change on top of the running ${c.slice(0, 7)}`);
  assert.deepEqual(v.details.dirtyFiles, ['flake.nix']);
  git(r, 'checkout', '-q', '--', 'flake.nix');

  // The running system itself was built dirty (self.dirtyRev).
  running(dir, `${c}-dirty`);
  assert.match((await one(cfg, 'revision')).summary, /built from uncommitted changes on top of/);

  // A branch named in the flake reference: that branch, not the checkout's HEAD.
  running(dir, e);
  assert.equal((await one(config(dir, { drift: { flake: `git+file://${r}?ref=old` } }), 'revision')).status, 'ok');
  git(r, 'tag', 'v1', a);
  running(dir, a);
  assert.equal((await one(config(dir, { drift: { flake: `git+file://${r}?ref=v1` } }), 'revision')).status, 'ok', 'a tag');
  assert.match((await one(config(dir, { drift: { flake: `git+file://${r}?ref=nope` } }), 'revision')).summary, /has no branch or tag "nope"$/);

  // No git: a plain directory.
  const plain = join(dir, 'plain');
  mkdirSync(plain);
  v = await one(config(dir, { drift: { flake: plain } }), 'revision');
  assert.equal(v.status, 'unknown');
  assert.match(v.summary, new RegExp(`^${plain} is not a git checkout`));

  // No configurationRevision recorded.
  running(dir, 'not a revision');
  assert.match((await one(cfg, 'revision')).summary, /"not a revision" .* is not a git commit/);
});

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

test('revision of a remote flake: git ls-remote against a git daemon on loopback; unreachable is unknown', { skip: skipUnless({ commands: ['git'] }) }, async (t) => {
  const dir = fresh('remote');
  const r = repo(dir);
  const a = commit(r, 'flake.nix', 'a');
  const b = commit(r, 'flake.nix', 'b');
  const port = await freePort();
  // git-daemon itself, not `git daemon`: git would run it as a child that outlives a kill of git.
  const daemonBin = join(spawnSync('git', ['--exec-path'], { encoding: 'utf8' }).stdout.trim(), 'git-daemon');
  const daemon: ChildProcess = spawn(daemonBin, ['--export-all', `--base-path=${dir}`, '--listen=127.0.0.1', `--port=${port}`, '--reuseaddr', dir], { env: GIT_ENV, stdio: 'ignore' });
  t.after(() => daemon.kill('SIGKILL'));
  const url = `git+git://127.0.0.1:${port}/flake`;
  // Wait (bounded) for the daemon to answer.
  let up = false;
  for (let i = 0; i < 50 && !up; i++) {
    up = (await readFlakeRevision(url, AbortSignal.timeout(2000))).rev === b;
    if (!up) await new Promise((res) => setTimeout(res, 100));
  }
  assert.ok(up, 'git daemon answered');
  running(dir, b);
  assert.equal((await one(config(dir, { drift: { flake: url } }), 'revision')).status, 'ok');
  running(dir, a);
  const v = await one(config(dir, { drift: { flake: url } }), 'revision');
  assert.equal(v.summary, `running ${a.slice(0, 7)}, but git://127.0.0.1:${port}/flake is at ${b.slice(0, 7)}`);
  const gone = await one(config(dir, { drift: { flake: `git+git://127.0.0.1:${await freePort()}/flake` } }), 'revision');
  assert.equal(gone.status, 'unknown');
  assert.match(gone.summary, /^git ls-remote git:\/\/127\.0\.0\.1:\d+\/flake failed \(no network\?\)/);
});

// --- closure -----------------------------------------------------------------------------

const NIX_SYSTEM = process.arch === 'arm64' ? 'aarch64-linux' : 'x86_64-linux';
let nixEnvSaved: Record<string, string | undefined> | null = null;

/** nix with a private store under the test's directory, no substituters, no network. */
function useTempNix(dir: string): void {
  const keys = ['HOME', 'XDG_CACHE_HOME', 'NIX_CONFIG'];
  nixEnvSaved = Object.fromEntries(keys.map((k) => [k, process.env[k]]));
  mkdirSync(join(dir, 'home'), { recursive: true });
  process.env.HOME = join(dir, 'home');
  process.env.XDG_CACHE_HOME = join(dir, 'home/.cache');
  process.env.NIX_CONFIG = [
    `store = ${join(dir, 'store')}`,
    'substituters =',
    'build-users-group =',
    // builds run in the private store's sandbox: give the fixture's /bin/sh builder its files
    `sandbox-paths = ${['/bin', '/lib', '/lib64', '/usr'].filter((d) => existsSync(d)).join(' ')}`,
  ].join('\n');
}
function restoreNix(): void {
  if (!nixEnvSaved) return;
  for (const [k, v] of Object.entries(nixEnvSaved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  nixEnvSaved = null;
}
function nix(...args: string[]): string {
  // Not in NIX_CONFIG: drift passes --extra-experimental-features itself, and that is what is tested.
  const r = spawnSync('nix', ['--extra-experimental-features', 'nix-command flakes', ...args], { encoding: 'utf8', env: process.env });
  assert.equal(r.status, 0, `nix ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

function fixtureFlake(dir: string): string {
  const r = repo(dir);
  cpSync(join(FIX, 'flake/flake.nix'), join(r, 'flake.nix'));
  writeFileSync(join(r, 'system.nix'), JSON.stringify(NIX_SYSTEM) + '\n');
  git(r, 'add', 'flake.nix', 'system.nix');
  git(r, 'commit', '-q', '-m', 'fixture flake');
  return r;
}

test('closure with the real nix on a fixture flake: ok, drift naming both paths, package changes, cache, errors, timeout', { skip: skipUnless({ commands: ['nix', 'nix-store', 'git'] }) }, async (t) => {
  const dir = fresh('closure');
  useTempNix(dir);
  t.after(restoreNix);
  const r = fixtureFlake(dir);
  const flake = `git+file://${r}`;
  const attr = (host: string) => `${flake}#nixosConfigurations.${host}.config.system.build.toplevel`;
  const declared = nix('eval', '--raw', `${attr('testhost')}.outPath`);
  const older = nix('eval', '--raw', `${attr('older')}.outPath`);
  assert.match(declared, /^\/nix\/store\/[0-9a-z]{32}-nixos-system-testhost$/);
  const db = openDb(join(dir, 'state'));
  t.after(() => db.close());
  const cfg = (drift: Record<string, unknown> = {}) => config(dir, { drift: { flake, ...drift } });
  const root = join(dir, 'root');
  const runningSystem = (toplevel: string) => {
    rmSync(join(root, 'run'), { recursive: true, force: true });
    link(root, '/run/current-system', toplevel);
  };

  // The running system is what the flake declares: evaluated once, then from the cache.
  runningSystem(declared);
  let v = await one(cfg(), 'closure', { db });
  assert.equal(v.status, 'ok', v.summary);
  assert.equal(v.details.from, 'eval');
  assert.equal(v.details.revision, git(r, 'rev-parse', 'HEAD'));
  v = await one(cfg(), 'closure', { db });
  assert.equal(v.details.from, 'cache');

  // A different running system: drift naming both paths; not built, so no package list, with why.
  runningSystem(older);
  v = await one(cfg(), 'closure', { db });
  assert.equal(v.status, 'drift');
  assert.equal(v.details.current, older);
  assert.equal(v.details.expected, declared);
  assert.match(v.summary, /^running [0-9a-z]{8}…-nixos-system-testhost, the flake declares [0-9a-z]{8}…-nixos-system-testhost$/);
  assert.equal(v.details.packages, null);
  assert.match(String(v.details.packagesWhy), /not both systems are in the Nix store/);
  assert.equal(v.details.run, `nixos-rebuild switch --flake '${flake}#testhost'`);

  // Both built: diff-closures names the package that changed.
  nix('build', '--no-link', attr('testhost'), attr('older'));
  v = await one(cfg(), 'closure', { db });
  assert.deepEqual(v.details.packages, ['hello: 1.0 → 2.0']);
  assert.match(v.summary, /; 1 package change$/);

  // drift.expectedToplevel: no evaluation at all.
  v = await one(cfg({ expectedToplevel: older }), 'closure', { db });
  assert.equal(v.status, 'ok');
  assert.equal(v.details.from, 'config');

  // Uncommitted changes evaluate to something else: cached under the commit plus a digest
  // of the changes, so the same edits hit the cache and other edits do not.
  const host = (hello: string) => readFileSync(join(FIX, 'flake/flake.nix'), 'utf8').replace('testhost = host "testhost" "2.0"', `testhost = host "testhost" "${hello}"`);
  writeFileSync(join(r, 'flake.nix'), host('3.0'));
  runningSystem(declared);
  v = await one(cfg(), 'closure', { db });
  assert.deepEqual([v.status, v.details.from], ['drift', 'eval']);
  assert.match(String(v.details.revision), /^[0-9a-f]{40}\+[0-9a-f]{16}$/);
  assert.equal((await one(cfg(), 'closure', { db })).details.from, 'cache');
  writeFileSync(join(r, 'flake.nix'), host('4.0'));
  assert.equal((await one(cfg(), 'closure', { db })).details.from, 'eval');
  git(r, 'checkout', '-q', '--', 'flake.nix');
  assert.deepEqual(((await one(cfg(), 'closure', { db })).details.from), 'cache', 'back to the commit: its cached evaluation');

  // An evaluation error: unknown with nix's own message.
  v = await one(cfg({ attribute: 'nixosConfigurations.broken' }), 'closure', { db });
  assert.equal(v.status, 'unknown');
  assert.match(v.summary, /^nix eval .*#nixosConfigurations\.broken\.config\.system\.build\.toplevel\.outPath failed: error: fixture: this configuration does not evaluate$/);

  // An evaluation that does not end: unknown after the timeout, the other kinds unaffected, nix killed.
  const t0 = Date.now();
  const checks = await runDrift(cfg({ attribute: 'nixosConfigurations.slow', timeouts: { closure: 1 } }), { db, kinds: ['closure', 'nextboot'] });
  const ms = Date.now() - t0;
  assert.deepEqual(checks.map((c) => c.kind), ['nextboot', 'closure']);
  assert.equal(checks[1]!.summary, 'timed out after 1s: evaluating the flake is slow: set drift.expectedToplevel, or raise drift.timeouts.closure');
  assert.ok(ms < 5000, `returned ${ms} ms after start`);
  await new Promise((res) => setTimeout(res, 200));
  const left = readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('nixosConfigurations.slow');
      } catch {
        return false; // exited meanwhile
      }
    });
  assert.deepEqual(left, [], 'the timed-out nix eval was killed');
});

// --- persistence -------------------------------------------------------------------------

const CLI_ENV = { PANTHERAGENT_LOG_LEVEL: 'warn' };

test('persistence with real bind mounts in a private mount namespace', { skip: skipUnless({ root: true, commands: ['unshare', 'mount'] }) }, () => {
  const dir = fresh('persist');
  const root = join(dir, 'root');
  for (const d of ['persist/etc/nixos', 'persist/var/lib/nixos', 'persist/etc/ssh', 'etc/nixos', 'var/lib/nixos', 'etc/ssh', 'elsewhere/ssh', 'proc']) mkdirSync(join(root, d), { recursive: true });
  put(root, '/persist/etc/machine-id', 'id\n');
  put(root, '/persist/etc/adjtime', '0\n');
  put(root, '/etc/adjtime', '');
  link(root, '/etc/machine-id', '/persist/etc/machine-id');
  rmSync(join(root, 'proc'), { recursive: true });
  symlinkSync('/proc', join(root, 'proc')); // the namespace's own mount table
  const cfgFile = join(dir, 'config.json');
  const writeCfg = (persistence: object) =>
    writeFileSync(cfgFile, JSON.stringify({ host: 'testhost', stateDir: join(dir, 'state'), runtimeDir: join(dir, 'run'), systemRoot: root, btrfs: { device: join(dir, 'no-device') }, power: { enable: false }, persistence }));
  const inNamespace = (mounts: [string, string][]) => {
    const script = [...mounts.map(([from, to]) => `mount --bind '${join(root, from)}' '${join(root, to)}'`), `exec '${process.execPath}' '${join(__dirname, '../dist/pantheragent.cjs')}' --config '${cfgFile}' drift --check persistence --json`].join(' && ');
    const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script], { encoding: 'utf8', env: { ...process.env, ...CLI_ENV } });
    return { code: r.status, json: JSON.parse(r.stdout || 'null') as { checks: DriftCheck[] } | null, stderr: r.stderr };
  };
  const mounts: [string, string][] = [
    ['persist/etc/nixos', 'etc/nixos'],
    ['persist/etc/adjtime', 'etc/adjtime'],
    ['elsewhere/ssh', 'etc/ssh'],
  ];

  writeCfg({ storage: '/persist', directories: ['/etc/nixos'], files: ['/etc/machine-id', '/etc/adjtime'] });
  let r = inNamespace(mounts);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json!.checks[0]!.summary, 'all 3 declared paths are in /persist and mounted');

  writeCfg({ storage: '/persist', directories: ['/etc/nixos', '/var/lib/nixos', '/etc/ssh', '/var/lib/missing'], files: ['/etc/machine-id', '/etc/adjtime'] });
  r = inNamespace(mounts);
  assert.equal(r.code, 2, r.stderr);
  const c = r.json!.checks[0]!;
  assert.equal(c.status, 'drift');
  const problems = Object.fromEntries((c.details.problems as { path: string; problems: string[] }[]).map((p) => [p.path, p.problems]));
  assert.deepEqual(Object.keys(problems).sort(), ['/etc/ssh', '/var/lib/missing', '/var/lib/nixos']);
  assert.deepEqual(problems['/var/lib/nixos'], ['not mounted: neither a bind mount of nor a link to /persist/var/lib/nixos']);
  assert.match(problems['/etc/ssh']![0]!, new RegExp(`^mounted from ${join(root, 'elsewhere/ssh')} \\(device \\d+:\\d+\\), not from /persist/etc/ssh$`));
  assert.deepEqual(problems['/var/lib/missing'], ['missing in storage (/persist/var/lib/missing)', 'not mounted: neither a bind mount of nor a link to /persist/var/lib/missing']);
  assert.match(c.summary, /^3 of 6 declared paths are not persisted: /);

  // The mounts lived only in the child's namespace.
  assert.ok(!readFileSync('/proc/self/mountinfo', 'utf8').includes(root), 'no mount leaked out of the namespace');
});

// --- the command -------------------------------------------------------------------------

test('drift command: exit 2 on drift, one line per kind, --json, --check, --history', { skip: skipUnless({ commands: ['git'] }) }, () => {
  const dir = fresh('cli');
  const root = join(dir, 'root');
  const old = nixosSystem(root, 'old', '6.12.9');
  const next = nixosSystem(root, 'new', '6.12.11');
  boot(root, old, next, { generation: 2, toplevel: next });
  const cfgFile = join(dir, 'config.json');
  writeFileSync(
    cfgFile,
    JSON.stringify({ host: 'testhost', stateDir: join(dir, 'state'), runtimeDir: join(dir, 'run'), systemRoot: root, btrfs: { device: join(dir, 'no-device') }, power: { enable: false }, drift: { flake: join(dir, 'no-flake'), expectedToplevel: next } }),
  );
  const run = (...args: string[]) => cli(args, { config: cfgFile, env: CLI_ENV });

  const h = run('drift');
  assert.equal(h.code, 2, h.stderr);
  const lines = h.stdout.trimEnd().split('\n');
  // units asks this machine's systemd, whatever it says: only the count of the rest is fixed.
  assert.match(lines[0]!, /^drift on testhost: [12] drift, [23] ok(, \d unknown)?$/);
  assert.match(lines[1]!, /^reboot {7}drift {4}kernel, initrd, kernel-modules changed since boot \(6\.12\.9 -> 6\.12\.11\): reboot to run them$/);
  assert.equal(lines[2], '               run: reboot');
  assert.ok(lines.length <= 24, `fits one screen (${lines.length} lines)`);
  for (const kind of ['nextboot', 'revision', 'closure', 'state', 'persistence', 'profile', 'units']) assert.ok(lines.some((l) => l.startsWith(kind)), kind);

  const j = run('drift', '--json', '--check', 'nextboot,closure');
  assert.equal(j.code, 0, j.stderr);
  const doc = j.json<{ host: string; drifting: string[]; checks: DriftCheck[] }>();
  assert.deepEqual(doc.checks.map((c) => [c.kind, c.status]), [['nextboot', 'ok'], ['closure', 'ok']]);
  assert.deepEqual(doc.drifting, []);
  assert.deepEqual(Object.keys(doc.checks[0]!).sort(), ['details', 'kind', 'measuredAt', 'status', 'summary']);

  const bad = run('drift', '--check', 'reboot,kernel');
  assert.equal(bad.code, 64);
  assert.match(bad.stderr, /not a kind: "kernel"/);

  // The reboot drift ends (rebooted into the new system): history shows the change.
  rmSync(join(root, 'run/booted-system'));
  link(root, '/run/booted-system', next);
  assert.equal(run('drift', '--check', 'reboot').code, 0);
  const hist = run('drift', '--history', '--json');
  assert.equal(hist.code, 0, hist.stderr);
  const hd = hist.json<{ kinds: { kind: string; status: string; since: string }[]; changes: { kind: string; previous: string | null; status: string }[] }>();
  assert.deepEqual(hd.kinds.map((k) => k.kind), ['reboot', 'nextboot', 'revision', 'closure', 'state', 'persistence', 'profile', 'units']);
  assert.deepEqual(hd.changes.filter((c) => c.kind === 'reboot').map((c) => [c.previous, c.status]), [['drift', 'ok'], [null, 'drift']]);
  const hh = run('drift', '--history');
  assert.match(hh.stdout, /^reboot {7}ok /m);
  assert.match(hh.stdout, /reboot {7}drift -> ok/);
});

// --- state, and status reading the stored report ------------------------------------------

test('state on a real Btrfs root: what the next wipe erases; status shows the stored report', { skip: skipUnless(BTRFS_REQ) }, async (t) => {
  const fx = makeBtrfs();
  t.after(() => fx.cleanup());
  layoutHost(fx);
  const systemRoot = join(fx.dir, 'system');
  mkdirSync(systemRoot);
  const cfgFile = writeConfig(fx, { systemRoot, persistence: { storage: '/persist', directories: ['/etc/nixos'], files: [] } });
  const run = (...args: string[]) => cli(args, { config: cfgFile, env: CLI_ENV });

  const none = run('status', '--json');
  assert.equal(none.code, 0, none.stderr);
  assert.equal(none.json().drift, null, 'never measured');
  assert.match(run('status').stdout, /^drift +not measured +run 'pantheragent drift'$/m);

  const live = join(fx.top, '@root');
  mkdirSync(join(live, 'etc/nixos'), { recursive: true });
  writeFileSync(join(live, 'etc/nixos/configuration.nix'), '{ }\n'); // declared
  mkdirSync(join(live, 'etc/NetworkManager/system-connections'), { recursive: true });
  writeFileSync(join(live, 'etc/NetworkManager/system-connections/home.nmconnection'), '[wifi]\n');
  mkdirSync(join(live, 'var/lib/bluetooth'), { recursive: true });
  writeFileSync(join(live, 'var/lib/bluetooth/settings'), 'x');
  const r = run('drift', '--check', 'state', '--json');
  assert.equal(r.code, 2, r.stderr);
  const c = r.json<{ checks: DriftCheck[] }>().checks[0]!;
  assert.equal(c.summary, '2 undeclared paths in 2 directories will be erased at next boot');
  assert.deepEqual((c.details.groups as { path: string }[]).map((g) => g.path).sort(), ['/etc/NetworkManager', '/var'], 'the highest directories holding nothing but state');

  // In process, as the daemon runs it: the agent it opens for state is closed again.
  const dbFds = () => readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`).startsWith(join(fx.dir, 'state'));
    } catch {
      return false;
    }
  }).length;
  const before = dbFds();
  const config = configSchema.parse(JSON.parse(readFileSync(cfgFile, 'utf8')));
  const [inProcess] = await runDrift(config, { kinds: ['state'] });
  assert.equal(inProcess!.status, 'drift');
  assert.equal(dbFds(), before, 'no index connection left open');

  const s = run('status', '--json').json<{ drift: { drifting: string[]; checks: { kind: string; status: string }[] } }>();
  assert.deepEqual(s.drift.drifting, ['state']);
  assert.match(run('status').stdout, /^drift +1 of 1 drift +state: 2 undeclared paths in 2 directories will be erased at next boot \(pantheragent drift\), measured \d+s ago$/m);
});
