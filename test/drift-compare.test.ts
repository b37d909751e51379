// The drift kinds' pure comparisons, checked case by case and as properties over seeded
// random facts; the parsers of what the readers read (flake references, configuration
// revisions, systemctl's JSON captured from a real systemd); the index store; the runner's
// timeouts with injected readers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configSchema } from '../src/config/schema.js';
import { compareClosure, type ClosureFacts } from '../src/drift/closure.js';
import { parseFlakeRef, rebuildCommand } from '../src/drift/flake.js';
import { resolveIn } from '../src/drift/paths.js';
import { compareNextboot } from '../src/drift/nextboot.js';
import { comparePersistence, problemsOf, type PathFacts } from '../src/drift/persistence.js';
import { BOOT_ITEMS, compareReboot, kernelVersion, type RebootFacts } from '../src/drift/reboot.js';
import { compareRevision, parseConfigurationRevision, type RevisionFacts } from '../src/drift/revision.js';
import { runDrift } from '../src/drift/run.js';
import { compareState } from '../src/drift/state.js';
import { readDriftChanges, readDriftStandings, readLatestDrift, storeDrift } from '../src/drift/store.js';
import { DRIFT_KINDS, type DriftCheck } from '../src/drift/types.js';
import { compareUnits, parseFailedUnits } from '../src/drift/units.js';
import { openDb } from '../src/store/db.js';
import { prng } from './helpers/prng.js';

const FIX = join(__dirname, 'fixtures/drift');
const S = (name: string, c = 'a') => `/nix/store/${c.repeat(32)}-${name}`;

// --- reboot ------------------------------------------------------------------------------

const sys = (kernel: string | null, initrd: string | null, modules: string | null, top = S('nixos-system-yoga')) => ({
  toplevel: top,
  items: { kernel, initrd, 'kernel-modules': modules },
});

test('reboot: same kernel, initrd and modules is ok; a new kernel is drift naming both versions', () => {
  const booted = sys(S('linux-6.12.9') + '/bzImage', S('initrd-linux-6.12.9') + '/initrd', S('kernel-modules'));
  assert.equal(compareReboot({ booted, current: booted }).status, 'ok');
  const current = sys(S('linux-6.12.11', 'b') + '/bzImage', S('initrd-linux-6.12.11', 'b') + '/initrd', S('kernel-modules', 'b'));
  const v = compareReboot({ booted, current });
  assert.equal(v.status, 'drift');
  assert.equal(v.summary, 'kernel, initrd, kernel-modules changed since boot (6.12.9 -> 6.12.11): reboot to run them');
  assert.equal(v.details.run, 'reboot');
  assert.deepEqual((v.details.changed as { item: string }[]).map((c) => c.item), ['kernel', 'initrd', 'kernel-modules']);
  // Only the initrd changed (a new initrd secret, say): no version in the summary.
  const v2 = compareReboot({ booted, current: { ...booted, items: { ...booted.items, initrd: S('initrd-linux-6.12.9', 'c') + '/initrd' } } });
  assert.equal(v2.summary, 'initrd changed since boot: reboot to run them');
});

test('reboot: unknown without a booted or current system, or with no kernel at all (a container)', () => {
  const s = sys(null, null, null);
  assert.match(compareReboot({ booted: null, current: s }).summary, /\/run\/booted-system does not exist/);
  assert.match(compareReboot({ booted: s, current: null }).summary, /\/run\/current-system does not exist/);
  const v = compareReboot({ booted: s, current: s });
  assert.equal(v.status, 'unknown');
  assert.match(v.summary, /container/);
});

test('reboot, property: drift exactly when some item differs, ok when none does', () => {
  const rnd = prng(7);
  const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const paths = [null, S('linux-6.1') + '/bzImage', S('linux-6.2', 'b') + '/bzImage', S('x', 'c')];
  for (let i = 0; i < 500; i++) {
    const f: RebootFacts = { booted: sys(pick(paths), pick(paths), pick(paths)), current: sys(pick(paths), pick(paths), pick(paths)) };
    const v = compareReboot(f);
    const allNull = BOOT_ITEMS.every((k) => f.booted!.items[k] === null && f.current!.items[k] === null);
    const differs = BOOT_ITEMS.some((k) => f.booted!.items[k] !== f.current!.items[k]);
    assert.equal(v.status, allNull ? 'unknown' : differs ? 'drift' : 'ok', JSON.stringify(f));
    if (v.status === 'drift') assert.equal((v.details.changed as unknown[]).length, BOOT_ITEMS.filter((k) => f.booted!.items[k] !== f.current!.items[k]).length);
  }
});

test('kernelVersion reads the version from the kernel store name', () => {
  assert.equal(kernelVersion(S('linux-6.12.9') + '/bzImage'), '6.12.9');
  assert.equal(kernelVersion(S('linux-6.6.63-rt') + '/bzImage'), '6.6.63-rt');
  assert.equal(kernelVersion(S('initrd-linux-6.12.9') + '/initrd'), null);
  assert.equal(kernelVersion('/boot/vmlinuz'), null);
  assert.equal(kernelVersion(null), null);
});

// --- nextboot ----------------------------------------------------------------------------

test('nextboot: ok when the profile is the running system; drift names the generation and what to run', () => {
  const cur = S('nixos-system-yoga-25.05');
  assert.deepEqual(compareNextboot({ current: cur, profile: { toplevel: cur, generation: 42 } }).summary, 'the next boot starts the running system (generation 42)');
  const v = compareNextboot({ current: cur, profile: { toplevel: S('nixos-system-yoga-25.05', 'b'), generation: 43 } });
  assert.equal(v.status, 'drift');
  // Same name, different hash: the summary tells them apart by the hash's start.
  assert.equal(v.summary, 'the next boot starts generation 43 (bbbbbbbb…-nixos-system-yoga-25.05), not the running system (aaaaaaaa…-nixos-system-yoga-25.05)');
  assert.match(String(v.details.run), /reboot to run generation 43, or 'nixos-rebuild switch'/);
  const v2 = compareNextboot({ current: cur, profile: { toplevel: S('nixos-system-yoga-25.11', 'b'), generation: null } });
  assert.equal(v2.summary, 'the next boot starts the system profile (nixos-system-yoga-25.11), not the running system (nixos-system-yoga-25.05)');
  assert.equal(compareNextboot({ current: null, profile: { toplevel: cur, generation: 1 } }).status, 'unknown');
  assert.equal(compareNextboot({ current: cur, profile: null }).status, 'unknown');
});

// --- revision ----------------------------------------------------------------------------

test('parseConfigurationRevision: self.rev, self.shortRev, self.dirtyRev, "dirty", and anything else', () => {
  const rev = 'a'.repeat(40);
  assert.deepEqual(parseConfigurationRevision(`${rev}\n`), { rev, dirty: false });
  assert.deepEqual(parseConfigurationRevision(`${rev}-dirty`), { rev, dirty: true });
  assert.deepEqual(parseConfigurationRevision('abc1234'), { rev: 'abc1234', dirty: false });
  assert.deepEqual(parseConfigurationRevision('dirty'), { rev: null, dirty: true });
  assert.equal(parseConfigurationRevision('v1.2'), null);
  assert.equal(parseConfigurationRevision('ABC1234'), null);
  assert.equal(parseConfigurationRevision('abc12'), null);
});

const R1 = '1'.repeat(40);
const R2 = '2'.repeat(40);
const local = { type: 'git-local' as const, path: '/etc/pantherOS', ref: null, rev: null };
const facts = (o: Partial<RevisionFacts> & { running?: RevisionFacts['running'] }): RevisionFacts => ({
  running: { rev: R1, dirty: false, from: '/run/current-system/configuration-revision' },
  flake: { source: local, rev: R1, dirty: [], why: null },
  distance: null,
  runningInCheckout: null,
  rebuild: "nixos-rebuild switch --flake 'git+file:///etc/pantherOS#yoga'",
  ...o,
});

test('revision: every outcome, each with what to run', () => {
  assert.equal(compareRevision(facts({})).summary, "running 1111111, the flake's revision");
  assert.equal(compareRevision(facts({ running: { rev: '1111111', dirty: false, from: 'x' } })).status, 'ok', 'an abbreviated revision matches');
  const behind = compareRevision(facts({ flake: { source: local, rev: R2, dirty: [], why: null }, runningInCheckout: true, distance: { ahead: 0, behind: 3 } }));
  assert.equal(behind.summary, 'running 1111111 is 3 commits behind /etc/pantherOS (2222222)');
  assert.match(String(behind.details.run), /^nixos-rebuild switch --flake/);
  const ahead = compareRevision(facts({ flake: { source: local, rev: R2, dirty: [], why: null }, runningInCheckout: true, distance: { ahead: 1, behind: 0 } }));
  assert.equal(ahead.summary, 'running 1111111 is 1 commit ahead of /etc/pantherOS (2222222): the checkout is behind what runs');
  assert.equal(ahead.details.run, 'git -C /etc/pantherOS pull');
  const diverged = compareRevision(facts({ flake: { source: local, rev: R2, dirty: [], why: null }, runningInCheckout: true, distance: { ahead: 2, behind: 5 } }));
  assert.equal(diverged.summary, 'running 1111111 and /etc/pantherOS (2222222) have diverged: 2 ahead, 5 behind');
  const foreign = compareRevision(facts({ flake: { source: local, rev: R2, dirty: [], why: null }, runningInCheckout: false }));
  assert.match(foreign.summary, /^running 1111111 is not in \/etc\/pantherOS \(at 2222222\)/);
  const dirty = compareRevision(facts({ flake: { source: local, rev: R1, dirty: ['hosts/yoga.nix'], why: null } }));
  assert.equal(dirty.summary, '/etc/pantherOS has 1 uncommitted change on top of the running 1111111');
  assert.deepEqual(dirty.details.dirtyFiles, ['hosts/yoga.nix']);
  assert.match(compareRevision(facts({ running: { rev: R1, dirty: true, from: 'x' } })).summary, /built from uncommitted changes on top of 1111111/);
  assert.match(compareRevision(facts({ running: { rev: null, dirty: true, from: 'x' } })).summary, /configurationRevision "dirty"/);
  const remote = { type: 'git-remote' as const, url: 'https://github.com/o/pantherOS.git', ref: 'main', rev: null };
  assert.equal(compareRevision(facts({ flake: { source: remote, rev: R2, dirty: null, why: null } })).summary, 'running 1111111, but https://github.com/o/pantherOS.git (main) is at 2222222');
  assert.equal(compareRevision(facts({ running: { why: 'no revision recorded' } })).status, 'unknown');
  assert.equal(compareRevision(facts({ flake: { source: local, rev: null, dirty: null, why: 'not a git checkout' } })).summary, 'not a git checkout');
});

test('revision, property: ok only for the same commit, clean on both sides', () => {
  const rnd = prng(11);
  const revs = [R1, R2, '1111111', null];
  for (let i = 0; i < 500; i++) {
    const running = revs[Math.floor(rnd() * revs.length)]!;
    const flakeRev = [R1, R2][Math.floor(rnd() * 2)]!;
    const runningDirty = rnd() < 0.2;
    const dirtyFiles = rnd() < 0.2 ? ['a.nix'] : [];
    const f = facts({
      running: { rev: running, dirty: running === null || runningDirty, from: 'x' },
      flake: { source: local, rev: flakeRev, dirty: dirtyFiles, why: null },
      distance: rnd() < 0.5 ? { ahead: Math.floor(rnd() * 3), behind: 1 + Math.floor(rnd() * 3) } : null,
      runningInCheckout: rnd() < 0.5,
    });
    const same = running !== null && flakeRev.startsWith(running);
    const v = compareRevision(f);
    assert.equal(v.status === 'ok', same && !runningDirty && dirtyFiles.length === 0, JSON.stringify(f));
    assert.notEqual(v.status, 'unknown');
    if (v.status === 'drift') assert.equal(typeof v.details.run, 'string');
  }
});

test('parseFlakeRef: local checkouts, remotes and what has no git history', () => {
  assert.deepEqual(parseFlakeRef('git+file:///etc/pantherOS'), { type: 'git-local', path: '/etc/pantherOS', ref: null, rev: null });
  assert.deepEqual(parseFlakeRef('git+file:///srv/my%20flake?ref=main&dir=sub'), { type: 'git-local', path: '/srv/my flake', ref: 'main', rev: null });
  assert.deepEqual(parseFlakeRef('git+https://example.org/p.git?ref=prod'), { type: 'git-remote', url: 'https://example.org/p.git', ref: 'prod', rev: null });
  assert.deepEqual(parseFlakeRef('git+ssh://git@example.org/p.git'), { type: 'git-remote', url: 'ssh://git@example.org/p.git', ref: null, rev: null });
  assert.deepEqual(parseFlakeRef('git+git://127.0.0.1:9418/p'), { type: 'git-remote', url: 'git://127.0.0.1:9418/p', ref: null, rev: null });
  assert.deepEqual(parseFlakeRef('github:owner/pantherOS'), { type: 'git-remote', url: 'https://github.com/owner/pantherOS.git', ref: null, rev: null });
  assert.deepEqual(parseFlakeRef('github:owner/pantherOS/release'), { type: 'git-remote', url: 'https://github.com/owner/pantherOS.git', ref: 'release', rev: null });
  assert.deepEqual(parseFlakeRef(`gitlab:owner/pantherOS/${R1}`), { type: 'git-remote', url: 'https://gitlab.com/owner/pantherOS.git', ref: null, rev: R1 });
  assert.deepEqual(parseFlakeRef('/etc/pantherOS'), { type: 'path', path: '/etc/pantherOS' });
  assert.deepEqual(parseFlakeRef('path:/etc/pantherOS'), { type: 'path', path: '/etc/pantherOS' });
  for (const bad of ['flake:nixpkgs', 'tarball+https://x/y.tar.gz', 'github:owner', 'git+file://relative', 'pantherOS']) {
    assert.equal(parseFlakeRef(bad).type, 'unsupported', bad);
  }
});

test('rebuildCommand names the host from the attribute', () => {
  assert.equal(rebuildCommand({ flake: 'git+file:///etc/pantherOS', attribute: null }, 'yoga'), "nixos-rebuild switch --flake 'git+file:///etc/pantherOS#yoga'");
  assert.equal(rebuildCommand({ flake: 'github:o/p', attribute: 'nixosConfigurations.zephyrus' }, 'yoga'), "nixos-rebuild switch --flake 'github:o/p#zephyrus'");
  assert.match(rebuildCommand({ flake: 'github:o/p', attribute: 'hosts.yoga.system' }, 'yoga'), /github:o\/p#hosts\.yoga\.system/);
});

// --- closure -----------------------------------------------------------------------------

test('closure: ok, drift with both paths and the package changes, unknown with why', () => {
  const base: ClosureFacts = { current: S('nixos-system-yoga'), expected: { toplevel: S('nixos-system-yoga'), from: 'eval', revision: R1 }, packages: null, packagesWhy: null, flake: 'f#nixosConfigurations.yoga', rebuild: 'nixos-rebuild switch' };
  assert.equal(compareClosure(base).status, 'ok');
  const d = compareClosure({ ...base, expected: { toplevel: S('nixos-system-yoga', 'b'), from: 'cache', revision: R1 }, packages: ['hello: 1.0 → 2.0', 'zlib: 1.3 → 1.3.1, +1.2 KiB'] });
  assert.equal(d.status, 'drift');
  assert.equal(d.summary, 'running aaaaaaaa…-nixos-system-yoga, the flake declares bbbbbbbb…-nixos-system-yoga; 2 package changes');
  assert.equal(d.details.current, S('nixos-system-yoga'));
  assert.equal(d.details.expected, S('nixos-system-yoga', 'b'));
  assert.equal(d.details.from, 'cache');
  assert.equal(d.details.run, 'nixos-rebuild switch');
  assert.equal(compareClosure({ ...base, expected: { why: 'nix eval failed: boom' } }).summary, 'nix eval failed: boom');
  assert.equal(compareClosure({ ...base, current: null }).status, 'unknown');
});

// --- state -------------------------------------------------------------------------------

test('state: ok when nothing is undeclared; drift lists the biggest groups first', () => {
  assert.equal(compareState({ subvolume: '@root', entries: 0, size: 0, groups: [], warnings: [], skipped: 0 }).summary, 'no undeclared state on @root');
  const groups = [
    { path: '/etc/NetworkManager/system-connections', whole: true, entries: 2, size: 300, newestMs: 0 },
    { path: '/var/lib/bluetooth', whole: true, entries: 5, size: 10, newestMs: 0 },
    { path: '/etc', whole: false, entries: 1, size: 5, newestMs: 0 },
  ];
  const v = compareState({ subvolume: '@root', entries: 8, size: 315, groups, warnings: [], skipped: 0 });
  assert.equal(v.summary, '8 undeclared paths in 3 directories will be erased at next boot');
  assert.deepEqual((v.details.groups as { path: string }[]).map((g) => g.path), ['/var/lib/bluetooth', '/etc/NetworkManager/system-connections', '/etc']);
  assert.match(String(v.details.run), /^pantheragent diff/);
});

// --- persistence -------------------------------------------------------------------------

const pf = (o: Partial<PathFacts>): PathFacts => ({
  path: '/etc/nixos',
  kind: 'directory',
  storedAt: '/persist/etc/nixos',
  stored: 'directory',
  expected: { dev: '0:21', root: '/@persist/etc/nixos' },
  mount: { dev: '0:21', root: '/@persist/etc/nixos' },
  link: null,
  ...o,
});

test('persistence: a bind mount of the storage copy or a link to it is persisted; everything else says what is wrong', () => {
  assert.deepEqual(problemsOf(pf({})), []);
  assert.deepEqual(problemsOf(pf({ mount: null, link: '/persist/etc/nixos' })), []);
  assert.deepEqual(problemsOf(pf({ mount: null })), ['not mounted: neither a bind mount of nor a link to /persist/etc/nixos']);
  assert.deepEqual(problemsOf(pf({ mount: { dev: '0:21', root: '/@root/etc/nixos' } })), ['mounted from /@root/etc/nixos (device 0:21), not from /persist/etc/nixos']);
  assert.deepEqual(problemsOf(pf({ mount: { dev: '0:99', root: '/@persist/etc/nixos' } })), ['mounted from /@persist/etc/nixos (device 0:99), not from /persist/etc/nixos']);
  assert.deepEqual(problemsOf(pf({ mount: null, link: '/elsewhere' })), ['a link to /elsewhere, not to /persist/etc/nixos']);
  assert.deepEqual(problemsOf(pf({ stored: 'missing', expected: null, mount: null })), ['missing in storage (/persist/etc/nixos)', 'not mounted: neither a bind mount of nor a link to /persist/etc/nixos']);
  assert.deepEqual(problemsOf(pf({ stored: 'file' })), ['/persist/etc/nixos is a file, declared as a directory']);
  const v = comparePersistence({ storage: '/persist', paths: [pf({}), pf({ path: '/var/lib/nixos', storedAt: '/persist/var/lib/nixos', mount: null }), pf({ path: '/etc/machine-id', kind: 'file', stored: 'missing', mount: null })] });
  assert.equal(v.status, 'drift');
  assert.equal(v.summary, '2 of 3 declared paths are not persisted: /var/lib/nixos not mounted: neither a bind mount of nor a link to /persist/var/lib/nixos, and 1 more');
  assert.equal(comparePersistence({ storage: '/persist', paths: [pf({})] }).summary, 'the declared path is in /persist and mounted');
  assert.equal(comparePersistence({ storage: '/persist', paths: [] }).status, 'ok');
});

test('persistence, property: no problem exactly when stored as declared and bound or linked', () => {
  const rnd = prng(3);
  const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const refs = [null, { dev: '0:21', root: '/@persist/etc/nixos' }, { dev: '0:21', root: '/@root/etc/nixos' }, { dev: '0:5', root: '/@persist/etc/nixos' }];
  for (let i = 0; i < 1000; i++) {
    const p = pf({ kind: pick(['directory', 'file'] as const), stored: pick(['directory', 'file', 'other', 'missing'] as const), expected: pick(refs), mount: pick(refs), link: pick([null, '/persist/etc/nixos', '/etc/static/nixos']) });
    const bound = p.mount !== null && p.expected !== null && p.mount.dev === p.expected.dev && p.mount.root === p.expected.root;
    const fine = p.stored === p.kind && (bound || p.link === p.storedAt);
    assert.equal(problemsOf(p).length === 0, fine, JSON.stringify(p));
  }
});

// --- units -------------------------------------------------------------------------------

test('units: real systemctl output (captured from systemd 252) parses; none failed is ok', () => {
  const two = parseFailedUnits(readFileSync(join(FIX, 'units/failed-two.json'), 'utf8'));
  assert.deepEqual(two.map((u) => u.unit), ['also-broken.service', 'broken.service']);
  const v = compareUnits(two);
  assert.equal(v.status, 'drift');
  assert.equal(v.summary, '2 failed units: also-broken.service, broken.service');
  assert.equal(v.details.run, 'systemctl status also-broken.service; journalctl -b -u also-broken.service');
  assert.deepEqual(compareUnits(parseFailedUnits(readFileSync(join(FIX, 'units/failed-none.json'), 'utf8'))), { status: 'ok', summary: 'no failed units', details: {} });
  const many = Array.from({ length: 7 }, (_, i) => ({ unit: `u${i}.service`, load: 'loaded', active: 'failed', sub: 'failed', description: '' }));
  assert.equal(compareUnits(many).summary, '7 failed units: u0.service, u1.service, u2.service, u3.service, u4.service, …');
});

test('units: output that is not systemctl JSON is a parse error naming the field', () => {
  assert.throws(() => parseFailedUnits('UNIT LOAD ACTIVE'), /could not parse systemctl list-units --output=json/);
  assert.throws(() => parseFailedUnits('[{"unit":"a.service"}]'), /\[0\.load\]/);
  assert.throws(() => parseFailedUnits('{}'), /expected array/);
});

// --- store -------------------------------------------------------------------------------

test('store: the latest result per kind, the time its status changed, and each change', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pantheragent-drift-store-'));
  const db = openDb(dir);
  t.after(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  assert.deepEqual(readLatestDrift(db), []);
  const at = (m: number) => new Date(Date.UTC(2026, 10, 30, 1, m)).toISOString().replace(/\.000Z$/, 'Z');
  const c = (kind: DriftCheck['kind'], status: DriftCheck['status'], m: number, summary: string = status): DriftCheck => ({ kind, status, summary, details: { m }, measuredAt: at(m) });
  storeDrift(db, [c('units', 'ok', 0), c('reboot', 'ok', 0)]);
  storeDrift(db, [c('units', 'drift', 5, '1 failed unit'), c('reboot', 'ok', 5)]);
  storeDrift(db, [c('units', 'drift', 10, '2 failed units')]);
  assert.deepEqual(readLatestDrift(db), [c('reboot', 'ok', 5), c('units', 'drift', 10, '2 failed units')], 'in DRIFT_KINDS order, without since');
  const st = readDriftStandings(db);
  assert.deepEqual(st.map((s) => [s.kind, s.since]), [['reboot', at(0)], ['units', at(5)]]);
  assert.deepEqual(readDriftChanges(db), [
    { kind: 'units', at: at(5), previous: 'ok', status: 'drift', summary: '1 failed unit' },
    { kind: 'reboot', at: at(0), previous: null, status: 'ok', summary: 'ok' },
    { kind: 'units', at: at(0), previous: null, status: 'ok', summary: 'ok' },
  ]);
  assert.deepEqual(readDriftChanges(db, { kinds: ['reboot'] }).length, 1);
  // A check that flaps keeps a bounded history.
  for (let i = 0; i < 450; i++) storeDrift(db, [c('state', i % 2 ? 'drift' : 'ok', 20 + (i % 30))]);
  assert.equal(readDriftChanges(db, { kinds: ['state'] }).length, 200);
  assert.throws(() => storeDrift(db, [{ ...c('units', 'ok', 0), measuredAt: 'yesterday' }]), /measuredAt "yesterday"/);
});

// --- runner ------------------------------------------------------------------------------

function testConfig(dir: string, overrides: Record<string, unknown> = {}) {
  return configSchema.parse({ host: 'testhost', stateDir: join(dir, 'state'), runtimeDir: join(dir, 'run'), systemRoot: join(dir, 'root'), power: { enable: false }, btrfs: { device: join(dir, 'no-device') }, ...overrides });
}

test('runner: a kind that hangs times out as unknown while the others finish; a failing reader is unknown with why', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pantheragent-drift-run-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const config = testConfig(dir, { drift: { timeouts: { units: 0.3 } } });
  let aborted = false;
  const t0 = Date.now();
  const checks = await runDrift(config, {
    readers: {
      failedUnits: (signal) =>
        new Promise((_, reject) => {
          signal.addEventListener('abort', () => {
            aborted = true;
            reject(new Error('aborted'));
          });
        }),
    },
    openAgent: () => {
      throw new Error('no Btrfs here');
    },
  });
  const ms = Date.now() - t0;
  assert.deepEqual(checks.map((c) => c.kind), [...DRIFT_KINDS]);
  const units = checks.find((c) => c.kind === 'units')!;
  assert.equal(units.status, 'unknown');
  assert.equal(units.summary, 'timed out after 0.3s');
  assert.ok(aborted, 'the hung reader was told to stop');
  assert.ok(ms < 2000, `the others did not wait for more than the hung one's timeout (${ms} ms)`);
  assert.match(checks.find((c) => c.kind === 'state')!.summary, /^cannot open the Btrfs top level to walk the live root: no Btrfs here/);
  for (const c of checks) assert.match(c.measuredAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

  // The blocking kind (state: a synchronous walk) starts only after every other kind has started.
  const order: string[] = [];
  await runDrift(config, {
    kinds: ['state', 'units'],
    readers: { failedUnits: async () => (order.push('units'), '[]') },
    openAgent: () => {
      order.push('state');
      throw new Error('no Btrfs here');
    },
  });
  assert.deepEqual(order, ['units', 'state']);

  const failing = await runDrift(config, { kinds: ['units'], readers: { failedUnits: async () => '[{"unit": 3}]' }, now: () => Date.UTC(2026, 0, 1) });
  assert.equal(failing.length, 1);
  assert.equal(failing[0]!.status, 'unknown');
  assert.match(failing[0]!.summary, /could not parse systemctl/);
  assert.equal(failing[0]!.measuredAt, '2026-01-01T00:00:00Z', 'the injected clock');
});

// --- resolveIn against the kernel --------------------------------------------------------

test('resolveIn, property: it resolves exactly as the kernel\'s realpath(3) does, over random trees of relative links', (t) => {
  const dir = realpathSync.native(mkdtempSync(join(tmpdir(), 'pantheragent-drift-resolve-')));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const rnd = prng(5);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const names = ['a', 'b', 'c', 'd'];
  for (let tree = 0; tree < 30; tree++) {
    const root = join(dir, `t${tree}`);
    mkdirSync(root);
    // Random directories, files and relative links (some dangling, some chained, some looping).
    const dirs = [''];
    const all: string[] = [];
    for (let i = 0; i < 25; i++) {
      const p = `${pick(dirs)}/${pick(names)}${i}`;
      const kind = pick(['dir', 'dir', 'file', 'link', 'link'] as const);
      if (kind === 'dir') {
        mkdirSync(join(root, p));
        dirs.push(p);
      } else if (kind === 'file') writeFileSync(join(root, p), '');
      else {
        // Never above the fixture's root: there the kernel leaves it and resolveIn stays (as in a chroot).
        const depth = p.split('/').length - 2;
        const up = (n: number) => Array(n).fill('..').join('/');
        const targets = ['.', 'nowhere', ...all.map((x) => x.split('/').slice(-1)[0]!), ...(depth ? [up(depth), ...all.map((x) => up(depth) + x)] : []), ...(depth > 1 ? ['..'] : [])];
        symlinkSync(pick(targets), join(root, p));
      }
      all.push(p);
    }
    const parts = [...new Set(all.flatMap((m) => m.split('/')).filter(Boolean)), '.'];
    for (let q = 0; q < 60; q++) {
      // An entry that exists, through links or not, then maybe a few more components.
      const path = pick(all) + Array.from({ length: Math.floor(rnd() * 3) }, () => `/${pick(parts)}`).join('');
      let kernel: { path: string; exists: boolean } | 'loop';
      try {
        // realpath(3) of the path as written: path.join and the JS realpath would resolve ".." lexically first.
        const real = realpathSync.native(root + path);
        assert.ok(real.startsWith(root), `${path} stays inside the fixture`);
        kernel = { path: real.slice(root.length) || '/', exists: true };
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        kernel = code === 'ELOOP' ? 'loop' : { path: '', exists: false };
      }
      if (kernel === 'loop') {
        assert.throws(() => resolveIn(root, path), /too many levels of symbolic links/, path);
        continue;
      }
      const ours = resolveIn(root, path);
      assert.equal(ours.exists, kernel.exists, `${path} in tree ${tree}`);
      if (kernel.exists) assert.equal(ours.path, kernel.path, `${path} in tree ${tree}`);
    }
  }
});
