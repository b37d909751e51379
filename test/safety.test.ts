// Issue 7, on real Btrfs: the agent never touches what is not its own, under races
// (a path swapped between check and act), mounts in other namespaces, the wrong
// filesystem, writable look-alikes, a wrong clock, links in the layout, and reused names.
import { test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { listSubvolumes } from '../src/btrfs/btrfs.js';
import { checkAll, deleteChecked, guardedDelete, type DeleteGuard, type DeleteOutcome } from '../src/btrfs/guarded-delete.js';
import { formatName } from '../src/btrfs/names.js';
import { makeBtrfs, layoutHost, type BtrfsFixture } from './helpers/btrfs.js';
import { cli, writeConfig } from './helpers/cli.js';
import { skipUnless, BTRFS_REQ } from './helpers/env.js';

const skip = skipUnless({ ...BTRFS_REQ, commands: [...BTRFS_REQ.commands, 'unshare'] });
const HOUR = 3_600_000;
let fx: BtrfsFixture;
let cfg: string;

beforeEach(() => {
  if (skip) return;
  fx = makeBtrfs();
  layoutHost(fx);
  writeFileSync(join(fx.top, '@persist/precious'), 'the only copy\n');
  cfg = writeConfig(fx, { snapshots: { sources: { '@persist': { retention: { preserveMin: 'no', preserve: 'no' } } } } });
});
afterEach(() => fx?.cleanup());

const snapAt = (t: number, opts: { ro?: boolean } = {}) => {
  const name = formatName('@persist', t);
  fx.btrfs('subvolume', 'snapshot', ...(opts.ro === false ? [] : ['-r']), join(fx.top, '@persist'), join(fx.top, '@snapshots', name));
  return `@snapshots/${name}`;
};
const guard = (): DeleteGuard => ({ top: fx.top, allowedDirs: ['@snapshots', '@old_roots'], live: ['@root', '@root-blank', '@persist', '@home', '@log'], subvolumes: listSubvolumes(fx.top) });
const subvolPaths = () => listSubvolumes(fx.top).map((s) => s.path).sort();

test('a condemned snapshot swapped for a link to a live subvolume between check and delete: refused, the live one intact', { skip }, () => {
  const victim = snapAt(Date.now() - 10 * HOUR);
  // What the agent used to do: btrfs-progs resolves the link and deletes its target.
  // Shown on a throwaway subvolume, so the test proves the hazard is real.
  fx.subvol('@throwaway');
  symlinkSync(join(fx.top, '@throwaway'), join(fx.top, '@snapshots/demo-link'));
  fx.btrfs('subvolume', 'delete', join(fx.top, '@snapshots/demo-link'));
  assert.ok(!existsSync(join(fx.top, '@throwaway')), 'btrfs subvolume delete PATH follows a link');

  const { allowed, failed } = checkAll([victim], guard());
  assert.deepEqual(failed, []);
  renameSync(join(fx.top, victim), join(fx.top, '@snapshots/moved-away'));
  symlinkSync(join(fx.top, '@persist'), join(fx.top, victim));
  const out: DeleteOutcome = { deleted: [], failed: [] };
  deleteChecked(fx.top, allowed, out);
  assert.deepEqual(out.deleted, []);
  assert.match(out.failed[0]!.error, /moved from .* to @snapshots\/moved-away/);
  assert.equal(readFileSync(join(fx.top, '@persist/precious'), 'utf8'), 'the only copy\n');
  assert.ok(subvolPaths().includes('@snapshots/moved-away'), 'the moved snapshot is not deleted either');
});

test('a condemned snapshot replaced by another subvolume of the same name: the newcomer is refused, not deleted', { skip }, () => {
  const victim = snapAt(Date.now() - 10 * HOUR);
  const { allowed } = checkAll([victim], guard());
  renameSync(join(fx.top, victim), join(fx.top, '@snapshots/elsewhere'));
  fx.btrfs('subvolume', 'snapshot', '-r', join(fx.top, '@persist'), join(fx.top, victim));
  const out: DeleteOutcome = { deleted: [], failed: [] };
  deleteChecked(fx.top, allowed, out);
  assert.deepEqual(out.deleted, []);
  assert.ok(existsSync(join(fx.top, victim)), 'the newcomer at the old path is untouched');
});

test('a snapshot mounted only inside another mount namespace is never deleted', { skip }, () => {
  const victim = snapAt(Date.now() - 10 * HOUR);
  const mnt = join(fx.dir, 'ns-mnt');
  mkdirSync(mnt);
  // A private namespace (as a unit with PrivateMounts= has): the mount is invisible here.
  const holder: ChildProcess = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', `mount -o subvol=${victim} ${fx.device} ${mnt} && echo ready && exec sleep 60`], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const ready = spawnSync('sh', ['-c', `for i in $(seq 100); do grep -q ' ${mnt} ' /proc/${holder.pid}/mountinfo 2>/dev/null && exit 0; sleep 0.05; done; exit 1`]);
    assert.equal(ready.status, 0, 'the namespace mounted the snapshot');
    assert.ok(!readFileSync('/proc/self/mountinfo', 'utf8').includes(` ${mnt} `), 'not visible in this namespace');
    const out = guardedDelete([victim], guard());
    assert.deepEqual(out.deleted, []);
    assert.match(out.failed[0]!.error, /is mounted \(.*ns-mnt\)/);
    // And through the CLI: prune keeps it and says why.
    const r = cli(['--json', 'prune', '--yes'], { config: cfg });
    assert.ok(existsSync(join(fx.top, victim)));
    assert.ok(r.json().failed.some((f: any) => f.path === victim && /mounted/.test(f.error)) || !r.json().condemned.includes(victim));
  } finally {
    holder.kill('SIGKILL');
  }
});

test('a top level of another filesystem is refused; a missing or non-Btrfs device exits 69', { skip }, () => {
  const other = makeBtrfs({ label: 'other-disk' });
  try {
    layoutHost(other);
    // btrfs.topLevel names the other disk's top level while btrfs.device is ours.
    const wrong = writeConfig(fx, { btrfs: { device: fx.device, topLevel: other.top } });
    const before = listSubvolumes(other.top).length;
    const r = cli(['snapshot'], { config: wrong });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /refusing to work on another disk/);
    assert.equal(listSubvolumes(other.top).length, before, 'nothing written to the other disk');
    // A runtime directory whose top mount is the other disk (a second config sharing it).
    const runtimeDir = join(fx.dir, 'shared-run');
    mkdirSync(join(runtimeDir, 'top'), { recursive: true });
    spawnSync('mount', ['-o', 'subvolid=5', other.device, join(runtimeDir, 'top')]);
    const shared = writeConfig(fx, { runtimeDir, btrfs: { device: fx.device, topLevel: null } });
    const s = cli(['snapshot'], { config: shared });
    assert.equal(s.code, 1, s.stderr);
    assert.match(s.stderr, /another disk/);
    assert.equal(listSubvolumes(other.top).length, before);

    const missing = writeConfig(fx, { btrfs: { device: join(fx.dir, 'no-such-device'), topLevel: null }, runtimeDir: join(fx.dir, 'run2') });
    const m = cli(['status'], { config: missing });
    assert.equal(m.code, 69);
    assert.match(m.stderr, /no-such-device.*btrfs\.device/);
    const zeros = join(fx.dir, 'zeros.img');
    writeFileSync(zeros, Buffer.alloc(1 << 20));
    const notBtrfs = writeConfig(fx, { btrfs: { device: zeros, topLevel: null }, runtimeDir: join(fx.dir, 'run3') });
    const n = cli(['status'], { config: notBtrfs });
    assert.equal(n.code, 69);
    assert.match(n.stderr, /holds no Btrfs/);
  } finally {
    other.cleanup();
  }
});

test('a writable subvolume with a snapshot name is foreign: listed, never deleted', { skip }, () => {
  const writable = snapAt(Date.now() - 30 * HOUR, { ro: false });
  snapAt(Date.now() - 20 * HOUR);
  snapAt(Date.now() - 10 * HOUR);
  const r = cli(['--json', 'prune', '--yes'], { config: cfg });
  assert.equal(r.code, 0, r.stderr);
  assert.ok(existsSync(join(fx.top, writable)));
  const listed = cli(['--json', 'list'], { config: cfg }).json();
  assert.ok(listed.foreign.some((f: any) => f.path === writable && /writable/.test(f.why)));
  const direct = guardedDelete([writable], guard());
  assert.match(direct.failed[0]!.error, /writable/);
});

test('a snapshot dated in the future does not make snapshot --prune delete the snapshot it just took', { skip }, () => {
  // Taken while the clock was two days ahead.
  const future = snapAt(Date.now() + 48 * HOUR);
  snapAt(Date.now() - 10 * HOUR);
  const r = cli(['--json', 'snapshot', '@persist', '--prune'], { config: cfg });
  assert.equal(r.code, 0, r.stderr);
  const made = r.json().created[0].path as string;
  assert.ok(existsSync(join(fx.top, made)), 'the new snapshot survives its own prune');
  assert.ok(existsSync(join(fx.top, future)), 'the future-dated one is kept (as btrbk does)');
  // A second run, a second later: the newest by creation is still kept whatever its name says.
  const again = cli(['--json', 'prune', '--yes'], { config: cfg });
  assert.equal(again.code, 0, again.stderr);
  const status = cli(['--json', 'status'], { config: cfg }).json();
  assert.deepEqual(status.future.map((f: any) => f.path), [future]);
  assert.ok(readdirSync(join(fx.top, '@snapshots')).length >= 2);
});

test('a configured directory that is a link is refused, and nothing is written where it points', { skip }, () => {
  const elsewhere = join(fx.dir, 'elsewhere');
  mkdirSync(elsewhere);
  renameSync(join(fx.top, '@snapshots'), join(fx.top, '@snapshots-real'));
  symlinkSync(elsewhere, join(fx.top, '@snapshots'));
  const before = subvolPaths();
  const r = cli(['snapshot'], { config: cfg });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /snapshots\.dir \(@snapshots\): .*is a symbolic link/);
  assert.deepEqual(readdirSync(elsewhere), []);
  assert.deepEqual(subvolPaths(), before);
  assert.equal(cli(['prune', '--yes'], { config: cfg }).code, 1);
});

test('pins and tags belong to the snapshot, not its name: a reused name inherits nothing', { skip }, () => {
  const t = Date.now() - 5 * HOUR;
  const first = snapAt(t);
  snapAt(Date.now() - HOUR);
  assert.equal(cli(['pin', first.split('/')[1]!], { config: cfg }).code, 0);
  fx.btrfs('subvolume', 'delete', join(fx.top, first));
  // Someone makes a subvolume with the same name later.
  fx.btrfs('subvolume', 'snapshot', '-r', join(fx.top, '@persist'), join(fx.top, first));
  const listed = cli(['--json', 'list', '@persist'], { config: cfg }).json();
  assert.equal(listed.entries.find((e: any) => e.path === first).pinned, false);
  const tagged = cli(['--json', 'snapshot', '@persist', '--tag', 'pre-upgrade', '--pin'], { config: cfg }).json().created[0].path;
  const after = cli(['--json', 'list', '@persist'], { config: cfg }).json().entries.find((e: any) => e.path === tagged);
  assert.equal(after.pinned, true);
  assert.equal(after.tag, 'pre-upgrade');
  const meta = JSON.parse(readFileSync(join(fx.top, '.pantheragent/meta.json'), 'utf8'));
  assert.equal(meta.version, 2);
  assert.deepEqual(meta.pending, [], 'bound to the UUID once the snapshot exists');
  assert.ok(meta.pins.includes(after.uuid));
});
