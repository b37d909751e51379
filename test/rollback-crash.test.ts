// Killed at every failpoint of rollback, undo, root rollback and restore (the lists
// the code exports, not a hand list): SIGKILL there, then any mutating pantheragent
// command, then: the subvolume (or path) is either fully rolled back or untouched,
// no snapshot was lost, no journal entry is left open, and the index equals the
// filesystem.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { makeBtrfs, layoutHost, type BtrfsFixture } from './helpers/btrfs.js';
import { cli, writeConfig } from './helpers/cli.js';
import { BTRFS_REQ, skipUnless } from './helpers/env.js';
import { ROLLBACK_FAILPOINTS, ROOT_ROLLBACK_FAILPOINTS } from '../src/rollback/plan.js';
import { RESTORE_FAILPOINTS } from '../src/rollback/restore-plan.js';
import { makeArchivedRoot, setupHost } from './helpers/wipe.js';

const skip = skipUnless(BTRFS_REQ);

/** Well-named read-only subvolumes in the snapshot and archive directories, from btrfs itself. */
function onDisk(fx: BtrfsFixture): string[] {
  return fx
    .btrfs('subvolume', 'list', '-r', fx.top)
    .split('\n')
    .filter(Boolean)
    .map((l) => l.replace(/^.* path /, ''))
    .filter((p) => /^(@snapshots|@old_roots)\/[^/]+\.\d{8}T\d{6}[+-]\d{4}(_\d+)?$/.test(p))
    .sort();
}

function db<T>(fx: BtrfsFixture, fn: (d: Database.Database) => T): T {
  const d = new Database(join(fx.dir, 'state/state.db'), { readonly: true });
  try {
    return fn(d);
  } finally {
    d.close();
  }
}

/** The invariants of DESIGN.md section 10 after a recovery. */
function assertInvariants(fx: BtrfsFixture, before: string[], what: string): void {
  const now = onDisk(fx);
  for (const p of before) assert.ok(now.includes(p), `${what}: ${p} was not lost`);
  const indexed = db(fx, (d) => (d.prepare("SELECT dir || '/' || name AS p FROM subvolumes").all() as { p: string }[]).map((r) => r.p).sort());
  assert.deepEqual(indexed, now, `${what}: the index equals the filesystem`);
  const open = db(fx, (d) => d.prepare("SELECT op FROM journal WHERE state = 'open'").all());
  assert.deepEqual(open, [], `${what}: no journal entry left open`);
}

/** Any mutating command finishes what was interrupted before it does its own work. */
function nextRun(cfg: string, what: string): void {
  const r = cli(['snapshot', '@log'], { config: cfg });
  assert.equal(r.code, 0, `${what}: the next run (${r.stderr})`);
}

function killedAt(cfg: string, fp: string, args: string[]): void {
  const r = cli([...args, '--yes'], { config: cfg, env: { PANTHERAGENT_FAILPOINT: fp } });
  assert.equal(r.code, 137, `${fp}: killed (exit ${r.code}, stderr: ${r.stderr})`);
}

const content = (fx: BtrfsFixture) => readFileSync(join(fx.top, '@persist/db'), 'utf8');
const writable = (fx: BtrfsFixture, rel: string) => fx.btrfs('property', 'get', '-ts', join(fx.top, rel), 'ro').trim() === 'ro=false';

test('rollback and undo killed at every failpoint: whole or absent after the next run', { skip }, () => {
  const fx = makeBtrfs({ sizeMiB: 256 });
  try {
    layoutHost(fx);
    const cfg = writeConfig(fx);
    writeFileSync(join(fx.top, '@persist/db'), 'target\n');
    const target = cli(['--json', 'snapshot', '@persist'], { config: cfg }).json().created[0].name as string;
    // Rollback: from "live-N" to the target. Killed before the rename: untouched; after: rolled back.
    const afterRename = new Set(['rollback.after-aside', 'rollback.after-create', 'rollback.after-seal']);
    for (const [i, fp] of ROLLBACK_FAILPOINTS.entries()) {
      writeFileSync(join(fx.top, '@persist/db'), `live-${i}\n`);
      const before = onDisk(fx);
      killedAt(cfg, fp, ['rollback', '@persist', '--to', target]);
      nextRun(cfg, fp);
      assert.equal(content(fx), afterRename.has(fp) ? 'target\n' : `live-${i}\n`, `${fp}: rolled back wholly, or untouched`);
      assert.ok(writable(fx, '@persist'), `${fp}: @persist is a writable subvolume`);
      assertInvariants(fx, before, fp);
    }
    assert.deepEqual(cli(['--json', 'list'], { config: cfg }).json().foreign, [], 'nothing left writable or foreign');
    // Undo: of a finished rollback, killed at every point; before the rename the rollback stands.
    for (const [i, fp] of ROLLBACK_FAILPOINTS.entries()) {
      writeFileSync(join(fx.top, '@persist/db'), `replaced-${i}\n`);
      const r = cli(['rollback', '@persist', '--to', target, '--yes'], { config: cfg });
      assert.equal(r.code, 0, r.stderr);
      const before = onDisk(fx);
      killedAt(cfg, fp, ['rollback', '--undo']);
      nextRun(cfg, `undo ${fp}`);
      assert.equal(content(fx), afterRename.has(fp) ? `replaced-${i}\n` : 'target\n', `undo ${fp}: undone wholly, or not at all`);
      assertInvariants(fx, before, `undo ${fp}`);
      const states = db(fx, (d) => (d.prepare("SELECT state FROM journal WHERE op = 'rollback-undo' ORDER BY id DESC LIMIT 1").get() as { state: string }).state);
      assert.equal(states, afterRename.has(fp) ? 'done' : 'undone', `undo ${fp}: journal`);
    }
  } finally {
    fx.cleanup();
  }
});

test('root rollback killed at every failpoint: the marker is written after the next run', { skip }, () => {
  const fx = makeBtrfs({ sizeMiB: 256 });
  try {
    setupHost(fx);
    makeArchivedRoot(fx, '@root.20261101T000000+0000', 'old\n');
    const cfg = writeConfig(fx);
    for (const fp of ROOT_ROLLBACK_FAILPOINTS) {
      const before = onDisk(fx);
      killedAt(cfg, fp, ['rollback', 'root', '--to', 'previous-boot']);
      nextRun(cfg, fp);
      assert.equal(readFileSync(join(fx.top, '.pantheragent/rollback-root'), 'utf8'), '@root.20261101T000000+0000\n', fp);
      assertInvariants(fx, before, fp);
      killedAt(cfg, fp, ['rollback', 'root', '--cancel']);
      nextRun(cfg, `cancel ${fp}`);
      assert.equal(existsSync(join(fx.top, '.pantheragent/rollback-root')), false, `cancel ${fp}`);
    }
  } finally {
    fx.cleanup();
  }
});

test('restore killed at every failpoint: the directory is the snapshot\'s after the next run, nothing temporary left', { skip }, () => {
  const fx = makeBtrfs({ sizeMiB: 256 });
  try {
    layoutHost(fx);
    const cfg = writeConfig(fx);
    mkdirSync(join(fx.top, '@persist/app'));
    writeFileSync(join(fx.top, '@persist/app/a'), 'a-good\n');
    writeFileSync(join(fx.top, '@persist/app/b'), 'b-good\n');
    const snap = cli(['--json', 'snapshot', '@persist'], { config: cfg }).json().created[0].name as string;
    for (const fp of RESTORE_FAILPOINTS) {
      writeFileSync(join(fx.top, '@persist/app/a'), `a-bad ${fp}\n`);
      writeFileSync(join(fx.top, '@persist/app/extra'), 'extra\n');
      const before = onDisk(fx);
      killedAt(cfg, fp, ['restore', '/app', '--from', snap]);
      nextRun(cfg, fp);
      // Journaled before the first change, so the next run completes it.
      assert.deepEqual(readdirSync(join(fx.top, '@persist/app')).sort(), ['a', 'b'], `${fp}: exactly the snapshot's entries`);
      assert.equal(readFileSync(join(fx.top, '@persist/app/a'), 'utf8'), 'a-good\n', fp);
      assert.deepEqual(readdirSync(join(fx.top, '@persist')).filter((n) => n.startsWith('.')), [], `${fp}: no temporary left`);
      assertInvariants(fx, before, fp);
      const safety = onDisk(fx).filter((p) => !before.includes(p) && !p.startsWith('@snapshots/@log'));
      assert.equal(safety.length, 1, `${fp}: one safety snapshot`);
      assert.equal(readFileSync(join(fx.top, safety[0]!, 'app/extra'), 'utf8'), 'extra\n', `${fp}: it holds what was removed`);
    }
  } finally {
    fx.cleanup();
  }
});
