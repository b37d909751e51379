// "Never delete what is not ours" (DESIGN.md section 2), on real Btrfs: each rule
// refuses on its own, and a refusal never reaches btrfs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { listSubvolumes } from '../src/btrfs/btrfs.js';
import { guardedDelete, type DeleteGuard } from '../src/btrfs/guarded-delete.js';
import { makeBtrfs, layoutHost, type BtrfsFixture } from './helpers/btrfs.js';
import { skipUnless, BTRFS_REQ } from './helpers/env.js';

const skip = skipUnless(BTRFS_REQ);
let fx: BtrfsFixture;
const snap = (rel: string, ro = true) => fx.btrfs('subvolume', 'snapshot', ...(ro ? ['-r'] : []), join(fx.top, '@persist'), join(fx.top, rel));
const guard = (): DeleteGuard => ({
  top: fx.top,
  allowedDirs: ['@snapshots', '@old_roots'],
  live: ['@root', '@root-blank', '@persist', '@home', '@log'],
  subvolumes: listSubvolumes(fx.top),
});

before(() => {
  if (skip) return;
  fx = makeBtrfs();
  layoutHost(fx);
});
after(() => fx?.cleanup());

test('each rule refuses on its own; allowed paths are deleted', { skip }, () => {
  snap('@snapshots/@persist.20260101T000000+0000'); // ours: deletable
  snap('@snapshots/@persist.20260102T000000+0000'); // will be mounted
  snap('@snapshots/@persist.20260103T000000+0000'); // will be the default subvolume
  snap('@snapshots/@persist.20260104T000000+0000', false); // will contain a nested subvolume
  fx.subvol('@snapshots/@persist.20260104T000000+0000/nested');
  snap('@snapshots/keep-me'); // foreign name
  snap('@persist.20260105T000000+0000'); // right name, wrong directory
  mkdirSync(join(fx.top, '@snapshots/@persist.20260106T000000+0000')); // not a subvolume
  const mnt = join(fx.dir, 'mnt');
  mkdirSync(mnt);
  execFileSync('mount', ['-o', 'subvol=@snapshots/@persist.20260102T000000+0000', fx.device, mnt]);
  const g = guard();
  const idOf = (rel: string) => g.subvolumes.find((s) => s.path === rel)!.id;
  fx.btrfs('subvolume', 'set-default', String(idOf('@snapshots/@persist.20260103T000000+0000')), fx.top);
  try {
    const out = guardedDelete(
      [
        '@snapshots/@persist.20260101T000000+0000',
        '@snapshots/@persist.20260102T000000+0000',
        '@snapshots/@persist.20260103T000000+0000',
        '@snapshots/@persist.20260104T000000+0000',
        '@snapshots/keep-me',
        '@persist.20260105T000000+0000',
        '@snapshots/@persist.20260106T000000+0000',
        '@persist',
        '@snapshots',
      ],
      g,
    );
    assert.deepEqual(out.deleted, ['@snapshots/@persist.20260101T000000+0000']);
    const why = Object.fromEntries(out.failed.map((f) => [f.path, f.error]));
    assert.match(why['@snapshots/@persist.20260102T000000+0000']!, /is mounted/);
    assert.match(why['@snapshots/@persist.20260103T000000+0000']!, /default subvolume/);
    assert.match(why['@snapshots/@persist.20260104T000000+0000']!, /nested subvolumes/);
    assert.match(why['@snapshots/keep-me']!, /name/);
    assert.match(why['@persist.20260105T000000+0000']!, /not directly in a snapshot or archive directory/);
    assert.match(why['@snapshots/@persist.20260106T000000+0000']!, /not a subvolume/);
    assert.match(why['@persist']!, /not directly in/);
    assert.match(why['@snapshots']!, /not directly in/);
    for (const rel of Object.keys(why)) assert.ok(existsSync(join(fx.top, rel)), `${rel} still exists`);
    assert.ok(!existsSync(join(fx.top, '@snapshots/@persist.20260101T000000+0000')));
  } finally {
    execFileSync('umount', [mnt]);
    fx.btrfs('subvolume', 'set-default', '5', fx.top);
  }
});

test('a live subvolume is refused even inside an allowed directory', { skip }, () => {
  snap('@old_roots/@root.20260101T000000+0000');
  const g = { ...guard(), live: ['@old_roots/@root.20260101T000000+0000'] };
  const out = guardedDelete(['@old_roots/@root.20260101T000000+0000'], g);
  assert.deepEqual(out.deleted, []);
  assert.match(out.failed[0]!.error, /live subvolume/);
});

test('many paths in batches', { skip }, () => {
  const rels = Array.from({ length: 40 }, (_, i) => `@snapshots/@log.20250101T${String(i).padStart(2, '0')}0000+0000`.replace(/T(\d\d)/, (_, h) => `T${String(Number(h) % 24).padStart(2, '0')}`).replace('20250101', `202501${String(10 + Math.floor(i / 24))}`));
  for (const r of rels) snap(r);
  const batches: number[] = [];
  const out = guardedDelete(rels, guard(), { batch: 16, onProgress: (d) => batches.push(d) });
  assert.equal(out.deleted.length, 40);
  assert.deepEqual(batches, [16, 32, 40]);
  for (const r of rels) assert.ok(!existsSync(join(fx.top, r)));
});
