// Writes that fail (a full filesystem) and writes that were killed. A wipe whose
// record cannot be written reports what is true (the root is fresh, the record is
// not written, why); pin on a full filesystem names the file and the cause, with no
// stack trace; temp files of killed writers are removed by the next write.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { removeStaleTemps, writeFileAtomic } from '../src/util/fsutil.js';
import { AgentError } from '../src/errors.js';
import { makeBtrfs, layoutHost, type BtrfsFixture } from './helpers/btrfs.js';
import { cli, writeConfig } from './helpers/cli.js';
import { skipUnless, BTRFS_REQ } from './helpers/env.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';

const skip = skipUnless(BTRFS_REQ);

/**
 * Fills the data space of the fixture. max_inline=0 makes even a one-line file need a
 * data extent, so small writes fail with ENOSPC, while metadata (snapshots, renames)
 * still has room: the state of a disk that filled up between boots.
 */
function fillData(fx: BtrfsFixture): void {
  spawnSync('mount', ['-o', 'remount,max_inline=0', fx.top]);
  spawnSync('dd', ['if=/dev/zero', `of=${join(fx.top, 'fill')}`, 'bs=1M'], { stdio: 'ignore' });
  spawnSync('sync');
  const probe = spawnSync('sh', ['-c', `printf x > '${join(fx.top, 'probe')}' && sync -d '${join(fx.top, 'probe')}'`]);
  assert.notEqual(probe.status, 0, 'the filesystem is full for data');
}

const dead = (): number => spawnSync('true').pid!;

test('wipe on a full filesystem: the root is wiped, the record is not, and the report says both', { skip }, (t) => {
  const fx = makeBtrfs({ sizeMiB: 256 });
  t.after(() => fx.cleanup());
  layoutHost(fx);
  const cfg = writeConfig(fx);
  const oldUuid = /UUID:\s+(\S+)/.exec(fx.btrfs('subvolume', 'show', join(fx.top, '@root')))![1];
  fillData(fx);

  const human = cli(['wipe', '--yes'], { config: cfg, env: { PANTHERAGENT_WIPE_EPOCH: '1800000000' } });
  assert.equal(human.code, 1, human.stderr);
  assert.match(human.stdout, /root wiped: @root archived as @old_roots\/@root\.20270115T080000\+0000; new @root from @root-blank/);
  assert.match(human.stdout, /the wipe record was NOT written: could not write .*wipe-result: no space left on the filesystem \(ENOSPC\)/);
  assert.doesNotMatch(human.stdout, /@root is missing|FAILED/);
  const newUuid = /UUID:\s+(\S+)/.exec(fx.btrfs('subvolume', 'show', join(fx.top, '@root')))![1];
  assert.notEqual(newUuid, oldUuid, '@root is a fresh subvolume');
  assert.ok(existsSync(join(fx.top, '@old_roots/@root.20270115T080000+0000')));

  const doc = cli(['--json', 'wipe', '--yes'], { config: cfg, env: { PANTHERAGENT_WIPE_EPOCH: '1800003600' } });
  assert.equal(doc.code, 1, doc.stderr);
  const r = doc.json().result;
  assert.equal(r.outcome, 'ok');
  assert.equal(r.root, 'fresh');
  assert.equal(r.recordWritten, false);
  assert.match(r.recordError, /ENOSPC/);
  assert.equal(r.archived, '@old_roots/@root.20270115T090000+0000');
  assert.deepEqual(readdirSync(join(fx.top, '.pantheragent')).filter((f) => f.includes('.tmp-')), [], 'no temp file left behind');
});

test('pin on a full filesystem: a clear error naming meta.json, no stack trace, nothing left behind', { skip }, (t) => {
  const fx = makeBtrfs({ sizeMiB: 256 });
  t.after(() => fx.cleanup());
  layoutHost(fx);
  const cfg = writeConfig(fx);
  const made = cli(['--json', 'snapshot', '@log'], { config: cfg });
  assert.equal(made.code, 0, made.stderr);
  const name = made.json().created[0].name as string;
  fillData(fx);

  const r = cli(['pin', name], { config: cfg });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /pantheragent pin: could not write .*\.pantheragent\/meta\.json: no space left on the filesystem \(ENOSPC\)/);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  const j = cli(['--json', 'pin', name], { config: cfg });
  assert.equal(j.json().error.code, 'ENOSPC');
  assert.match(j.json().error.path, /meta\.json$/);
  assert.deepEqual(readdirSync(join(fx.top, '.pantheragent')).filter((f) => f.includes('.tmp-')), []);
});

test('temp files of killed writers (wipe-result, meta.json) are removed by the next run; a live writer\'s stays', { skip }, (t) => {
  const fx = makeBtrfs();
  t.after(() => fx.cleanup());
  layoutHost(fx);
  const cfg = writeConfig(fx);
  const made = cli(['--json', 'snapshot', '@log'], { config: cfg }).json().created[0].name as string;
  const dir = join(fx.top, '.pantheragent');
  mkdirSync(dir, { recursive: true });
  const stale = [`wipe-result.tmp-${dead()}`, `meta.json.tmp-${dead()}`];
  const live = `meta.json.tmp-${process.pid}`; // this test runner is alive
  for (const f of [...stale, live]) writeFileSync(join(dir, f), 'half a write');

  assert.equal(cli(['pin', made], { config: cfg }).code, 0);
  assert.equal(cli(['wipe', '--yes'], { config: cfg }).code, 0);
  const left = readdirSync(dir).filter((f) => f.includes('.tmp-'));
  assert.deepEqual(left, [live]);
});

test('writeFileAtomic: an errno failure is an AgentError naming the file; removeStaleTemps leaves other files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pantheragent-write-'));
  try {
    assert.throws(
      () => writeFileAtomic(join(dir, 'no-such-dir', 'f'), 'x'),
      (e: unknown) => e instanceof AgentError && /could not write .*no-such-dir\/f: .*ENOENT/.test(e.message) && e.details.code === 'ENOENT',
    );
    for (const f of ['f.tmp-1x', 'f.tmp-', 'g.tmp-99999999', `f.tmp-${dead()}`]) writeFileSync(join(dir, f), '');
    assert.deepEqual(removeStaleTemps(join(dir, 'f')).length, 1);
    assert.deepEqual(readdirSync(dir).sort(), ['f.tmp-', 'f.tmp-1x', 'g.tmp-99999999']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
