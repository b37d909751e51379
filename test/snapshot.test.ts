// snapshot / list / status on real Btrfs, through the bundled CLI.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeBtrfs, layoutHost, type BtrfsFixture } from './helpers/btrfs.js';
import { cli, cliAsync, writeConfig } from './helpers/cli.js';
import { skipUnless, BTRFS_REQ } from './helpers/env.js';

const skip = skipUnless(BTRFS_REQ);
let fx: BtrfsFixture;
let cfg: string;

const NAME = /^@(persist|home|log)\.\d{8}T\d{6}\+0000(_\d+)?$/;
const fsSnapshots = () =>
  fx.btrfs('subvolume', 'list', '-o', join(fx.top, '@snapshots')).split('\n').filter(Boolean).map((l) => l.replace(/^.* path /, '').replace(/^@snapshots\//, '')).sort();

before(() => {
  if (skip) return;
  fx = makeBtrfs();
  layoutHost(fx);
  writeFileSync(join(fx.top, '@persist', 'db.sqlite'), 'precious');
  cfg = writeConfig(fx);
});
after(() => fx?.cleanup());

test('snapshot makes read-only subvolumes named <source>.<UTC long-iso>', { skip }, () => {
  const r = cli(['--json', 'snapshot'], { config: cfg });
  assert.equal(r.code, 0, r.stderr);
  const created = r.json().created as { source: string; name: string; path: string }[];
  assert.deepEqual(created.map((c) => c.source), ['@persist', '@home', '@log']);
  for (const c of created) {
    assert.match(c.name, NAME);
    assert.ok(c.name.startsWith(c.source + '.'));
    const p = join(fx.top, c.path);
    assert.equal(statSync(p).ino, 256, 'a subvolume');
    assert.equal(fx.btrfs('property', 'get', '-ts', p, 'ro').trim(), 'ro=true');
  }
  assert.equal(readFileSync(join(fx.top, created[0]!.path, 'db.sqlite'), 'utf8'), 'precious');
});

test('list --json equals the filesystem, after hand-made changes', { skip }, () => {
  // btrbk-style snapshot made by hand with a valid name (another offset): appears.
  fx.btrfs('subvolume', 'snapshot', '-r', join(fx.top, '@persist'), join(fx.top, '@snapshots/@persist.20250101T010000+0100'));
  // A foreign subvolume and a plain directory: listed as foreign.
  fx.btrfs('subvolume', 'snapshot', '-r', join(fx.top, '@persist'), join(fx.top, '@snapshots/manual-backup'));
  mkdirSync(join(fx.top, '@snapshots/notes'));
  let doc = cli(['--json', 'list'], { config: cfg }).json();
  const names = () => doc.entries.map((e: { name: string }) => e.name).sort();
  assert.deepEqual(names(), fsSnapshots().filter((n) => n !== 'manual-backup'));
  const handmade = doc.entries.find((e: { name: string }) => e.name === '@persist.20250101T010000+0100');
  assert.equal(handmade.source, '@persist');
  assert.equal(handmade.time, '2025-01-01T00:00:00Z');
  assert.deepEqual(doc.foreign.map((f: { name: string; subvolume: boolean }) => [f.name, f.subvolume]), [['manual-backup', true], ['notes', false]]);

  // Deleted by hand: disappears from the index.
  fx.btrfs('subvolume', 'delete', join(fx.top, '@snapshots/@persist.20250101T010000+0100'));
  doc = cli(['--json', 'list'], { config: cfg }).json();
  assert.deepEqual(names(), fsSnapshots().filter((n) => n !== 'manual-backup'));
  assert.ok(!names().includes('@persist.20250101T010000+0100'));

  // Filter by source.
  const persist = cli(['--json', 'list', '@persist'], { config: cfg }).json();
  assert.ok(persist.entries.every((e: { source: string }) => e.source === '@persist'));
});

test('two concurrent snapshot runs: a clean wait, never a duplicate name', { skip }, async () => {
  const before = fsSnapshots().length;
  const runs = await Promise.all([1, 2, 3, 4].map(() => cliAsync(['--json', 'snapshot', '@persist', '@log'], { config: cfg })));
  for (const r of runs) assert.equal(r.code, 0, r.stderr);
  const names = runs.flatMap((r) => r.json().created.map((c: { name: string }) => c.name));
  assert.equal(new Set(names).size, 8, `distinct names: ${names.join(' ')}`);
  assert.equal(fsSnapshots().length, before + 8);
  for (const n of names) assert.match(n, NAME);
});

test('a held lock: waits --wait seconds, then exit 75 naming the holder', { skip }, async () => {
  const stateDir = JSON.parse(readFileSync(cfg, 'utf8')).stateDir;
  mkdirSync(stateDir, { recursive: true });
  // A stand-in holder: flock(1) keeps the lock while its child sleeps; its own process
  // group, so that the sleeping child (which holds the lock too) goes with it.
  const holder = spawn('flock', ['--exclusive', join(stateDir, 'lock'), 'sh', '-c', 'echo 4242 > "$0"; echo locked; exec sleep 30', join(stateDir, 'lock')], {
    stdio: ['ignore', 'pipe', 'inherit'],
    detached: true,
  });
  try {
    await new Promise<void>((res) => holder.stdout!.once('data', () => res()));
    const r = cli(['--wait', '1', 'snapshot'], { config: cfg });
    assert.equal(r.code, 75, r.stderr);
    assert.match(r.stderr, /pid 4242/);
    // Reading does not need the lock.
    assert.equal(cli(['list'], { config: cfg }).code, 0);
  } finally {
    process.kill(-holder.pid!, 'SIGKILL');
  }
});

test('killed right after creating a snapshot: the next run indexes it', { skip }, () => {
  const r = cli(['snapshot', '@home'], { config: cfg, env: { PANTHERAGENT_FAILPOINT: 'snapshot.after-create' } });
  assert.equal(r.code, 137);
  const doc = cli(['--json', 'list', '@home'], { config: cfg }).json();
  assert.deepEqual(doc.entries.map((e: { name: string }) => e.name).sort(), fsSnapshots().filter((n) => n.startsWith('@home.')));
});

test('pins and tags survive a lost database', { skip }, () => {
  const r = cli(['--json', 'snapshot', '@persist', '--pin', '--tag', 'pre-upgrade'], { config: cfg });
  assert.equal(r.code, 0, r.stderr);
  const name = r.json().created[0].name;
  const stateDir = JSON.parse(readFileSync(cfg, 'utf8')).stateDir;
  rmSync(join(stateDir, 'state.db'), { force: true });
  rmSync(join(stateDir, 'state.db-wal'), { force: true });
  rmSync(join(stateDir, 'state.db-shm'), { force: true });
  const doc = cli(['--json', 'list'], { config: cfg }).json();
  const e = doc.entries.find((x: { name: string }) => x.name === name);
  assert.equal(e.pinned, true);
  assert.equal(e.tag, 'pre-upgrade');
  assert.equal(doc.entries.length, fsSnapshots().length - 1 /* manual-backup is foreign */);
});

test('an unreadable index is moved aside and rebuilt, losing no snapshot or pin', { skip }, () => {
  const stateDir = JSON.parse(readFileSync(cfg, 'utf8')).stateDir;
  const before = cli(['--json', 'list'], { config: cfg }).json().entries;
  writeFileSync(join(stateDir, 'state.db'), 'not a database '.repeat(512));
  rmSync(join(stateDir, 'state.db-wal'), { force: true });
  rmSync(join(stateDir, 'state.db-shm'), { force: true });
  // A read command reads the filesystem and leaves the index alone.
  const r = cli(['--json', 'list'], { config: cfg, env: { PANTHERAGENT_LOG_LEVEL: 'warn' } });
  assert.equal(r.code, 0, r.stderr);
  const strip = (es: any[]) => es.map((e) => ({ ...e, ageSeconds: 0 }));
  assert.deepEqual(strip(r.json().entries), strip(before));
  assert.ok(!readdirSync(stateDir).some((f) => f.startsWith('state.db.unreadable-')), 'a read command repairs nothing');
  // The next mutating command moves it aside and rebuilds it.
  const m = cli(['--json', 'snapshot', '@log'], { config: cfg, env: { PANTHERAGENT_LOG_LEVEL: 'warn' } });
  assert.equal(m.code, 0, m.stderr);
  assert.match(m.stderr, /could not be read/);
  const after = cli(['--json', 'list'], { config: cfg }).json().entries;
  for (const e of before) assert.ok(after.some((x: any) => x.uuid === e.uuid && x.pinned === e.pinned), `${e.path} kept, pin and all`);
  assert.ok(readdirSync(stateDir).some((f) => f.startsWith('state.db.unreadable-')), 'the old file is kept');
});

test('refuses to snapshot under minFreePercent, deleting nothing', { skip }, () => {
  const low = writeConfig(fx, { snapshots: { minFreePercent: 99.9 } });
  const before = fsSnapshots();
  const r = cli(['snapshot'], { config: low });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /minFreePercent \(99\.9%\)/);
  assert.deepEqual(fsSnapshots(), before);
  writeConfig(fx); // restore the shared config
});

test('usage errors exit 64; a missing tool exits 69 naming the package', { skip }, () => {
  const r = cli(['snapshot', '@nope'], { config: cfg });
  assert.equal(r.code, 64);
  assert.match(r.stderr, /not a configured snapshot source: @nope/);
  assert.equal(cli(['list', '--bogus'], { config: cfg }).code, 64);
  const noTools = cli(['list'], { config: cfg, env: { PATH: '/nonexistent' } });
  assert.equal(noTools.code, 69);
  assert.match(noTools.stderr, /install btrfs-progs/);
});

test('list shows sizes when quotas are enabled, and says nothing it does not know', { skip }, () => {
  const none = cli(['--json', 'list', '@persist'], { config: cfg }).json();
  assert.ok(none.entries.every((e: { size: unknown }) => e.size === null));
  fx.btrfs('quota', 'enable', fx.top);
  try {
    fx.btrfs('quota', 'rescan', '-w', fx.top);
    const doc = cli(['--json', 'list', '@persist'], { config: cfg }).json();
    for (const e of doc.entries) assert.ok(e.size.referenced >= 8 && e.size.exclusive >= 0, JSON.stringify(e.size));
    assert.match(cli(['list', '@persist'], { config: cfg }).stdout, /EXCLUSIVE/);
  } finally {
    fx.btrfs('quota', 'disable', fx.top);
  }
});

test('status shows each source with its newest snapshot', { skip }, () => {
  const doc = cli(['--json', 'status'], { config: cfg }).json();
  assert.deepEqual(doc.sources.map((s: { source: string }) => s.source), ['@persist', '@home', '@log']);
  for (const s of doc.sources) assert.ok(s.count > 0 && s.newest.ageSeconds >= 0);
  assert.equal(doc.disk.floorPercent, 10);
  const human = cli(['status'], { config: cfg });
  assert.match(human.stdout, /@persist\s+\d+ snapshots?\s+newest/);
});

test('list and prune --dry-run read no index: SQLite is never loaded; status, which shows the index, loads it', { skip }, () => {
  // A preload that fails any require of better-sqlite3 (NODE_OPTIONS reaches the CLI's node).
  const hook = join(fx.dir, 'no-sqlite.cjs');
  assert.ok(hook.startsWith(fx.dir + '/') && fx.dir.length > 1);
  writeFileSync(
    hook,
    "const M = require('module'); const load = M._load;\n" +
      "M._load = function (r, ...a) { if (/better-sqlite3/.test(r)) throw new Error('SQLITE LOADED'); return load.call(this, r, ...a); };\n",
  );
  const env = { NODE_OPTIONS: `--require ${hook}` };
  for (const args of [['list'], ['--json', 'list', '--roots'], ['prune', '--dry-run']]) {
    const r = cli(args, { config: cfg, env });
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  }
  const status = cli(['status'], { config: cfg, env });
  assert.notEqual(status.code, 0);
  assert.match(status.stderr, /SQLITE LOADED/);
});

test('without btrfs.topLevel the agent mounts the top level itself, privately', { skip }, () => {
  const own = makeBtrfs({ sizeMiB: 256 });
  try {
    layoutHost(own);
    spawnSync('umount', [own.top]);
    const c = writeConfig(own, { btrfs: { device: own.device, topLevel: null } });
    const r = cli(['--json', 'snapshot', '@persist'], { config: c });
    assert.equal(r.code, 0, r.stderr);
    const mp = join(own.dir, 'run', 'top');
    const line = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === mp);
    assert.ok(line, 'mounted at <runtimeDir>/top');
    assert.match(line!, /subvolid=5/);
    assert.doesNotMatch(line!.split(' - ')[0]!, /shared:/, 'private propagation');
    // A second run reuses the mount.
    assert.equal(cli(['list'], { config: c }).code, 0);
    assert.equal(readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.split(' ')[4] === mp).length, 1);
    // A missing device: exit 69.
    spawnSync('umount', [mp]);
    const gone = writeConfig(own, { btrfs: { device: join(own.dir, 'no-such-device'), topLevel: null } });
    const g = cli(['list'], { config: gone });
    assert.equal(g.code, 69);
    assert.match(g.stderr, /btrfs\.device/);
  } finally {
    own.cleanup();
  }
});
