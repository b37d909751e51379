// `pantheragent wipe` killed (SIGKILL, via PANTHERAGENT_FAILPOINT) at every failpoint
// on real Btrfs: the next mutating run finds the open journal entry and undoes it
// (killed before the rename) or completes it (after), and @root is always there.
// Also: the refusals and the confirmation rules of the command.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { makeBtrfs, type BtrfsFixture } from './helpers/btrfs.js';
import { cli, writeConfig } from './helpers/cli.js';
import { BTRFS_REQ, skipUnless } from './helpers/env.js';
import { EPOCH, STAMP, records, runAgentWipe, setupHost, subvolumePaths, tree, writeMarker, type Scenario, type TreeEntry } from './helpers/wipe.js';
import { WIPE_FAILPOINTS } from '../src/wipe/plan.js';
import { parseRecord } from '../src/wipe/record.js';

const skip = skipUnless(BTRFS_REQ);
const ARCHIVED = `@old_roots/@root.${STAMP}`;

/** Reaches every failpoint: the blank must be created, and a marker (ignored) consumed. */
const scenario: Scenario = {
  name: 'crash',
  setup(fx) {
    setupHost(fx);
    fx.btrfs('subvolume', 'delete', join(fx.top, '@root-blank'));
    writeMarker(fx, '../not-allowed\n');
  },
};

const env = { PANTHERAGENT_WIPE_EPOCH: String(EPOCH) };
const withoutSnapshots = (t: TreeEntry[]) => t.filter((e) => e.path !== '@snapshots' && !e.path.startsWith('@snapshots/'));

function journal(fx: BtrfsFixture): { op: string; state: string }[] {
  const db = new Database(join(fx.dir, 'state/state.db'), { readonly: true });
  try {
    return db.prepare("SELECT op, state FROM journal WHERE op = 'wipe' ORDER BY id").all() as { op: string; state: string }[];
  } finally {
    db.close();
  }
}

/** Any mutating command recovers first; `snapshot @persist` touches nothing the wipe compares. */
function nextRun(fx: BtrfsFixture): void {
  const r = cli(['snapshot', '@persist'], { config: writeConfig(fx), env });
  assert.equal(r.code, 0, r.stderr);
}

function isRootSubvolume(fx: BtrfsFixture): boolean {
  return statSync(join(fx.top, '@root')).ino === 256;
}

test('killed at every failpoint: the next run undoes or completes it; @root is always there', { skip }, () => {
  // The uninterrupted run, followed by the same next run, is the reference for "completed".
  const ref = makeBtrfs({ sizeMiB: 256 });
  let refTree: TreeEntry[];
  let refRecords: ReturnType<typeof records>;
  try {
    scenario.setup(ref);
    assert.equal(runAgentWipe(ref, scenario).code, 0);
    nextRun(ref);
    refTree = withoutSnapshots(tree(ref));
    refRecords = records(ref);
  } finally {
    ref.cleanup();
  }
  const beforeRename = new Set(['wipe.after-journal', 'wipe.after-blank-create', 'wipe.after-blank']);
  for (const fp of WIPE_FAILPOINTS) {
    const fx = makeBtrfs({ sizeMiB: 256 });
    try {
      scenario.setup(fx);
      const killed = runAgentWipe(fx, scenario, { PANTHERAGENT_FAILPOINT: fp });
      assert.equal(killed.code, 137, `${fp}: killed (stderr: ${killed.stderr})`);
      assert.deepEqual(journal(fx).map((j) => j.state), ['open'], `${fp}: left an open journal entry`);

      nextRun(fx);
      assert.ok(isRootSubvolume(fx), `${fp}: @root is a subvolume after recovery`);
      const t = tree(fx);
      const rec = parseRecord(readFileSync(join(fx.top, '.pantheragent/wipe-result'), 'utf8'));
      assert.ok(rec.ok);
      if (beforeRename.has(fp)) {
        assert.deepEqual(journal(fx).map((j) => j.state), ['undone'], fp);
        assert.equal(readFileSync(join(fx.top, '@root/etc/hostname'), 'utf8'), 'old-root\n', `${fp}: the root was not wiped`);
        assert.deepEqual(subvolumePaths(t).filter((p) => p.startsWith('@old_roots/')), [], `${fp}: nothing archived`);
        assert.equal(readFileSync(join(fx.top, '.pantheragent/rollback-root'), 'utf8'), '../not-allowed\n', `${fp}: the marker is still there`);
        assert.deepEqual({ outcome: rec.record.outcome, error: rec.record.error }, { outcome: 'failed', error: 'interrupted before the old root was renamed: nothing was changed' });
        const blank = t.find((e) => e.path === '@root-blank');
        if (fp === 'wipe.after-journal') assert.equal(blank, undefined, 'killed before the blank was made');
        else assert.deepEqual(blank, { path: '@root-blank', kind: 'subvolume', readonly: true, mode: '755' }, `${fp}: a half-made blank is finished`);
      } else {
        assert.deepEqual(journal(fx).map((j) => j.state), ['done'], fp);
        assert.deepEqual(withoutSnapshots(t), refTree!, `${fp}: the same tree as an uninterrupted wipe`);
        assert.deepEqual(records(fx), refRecords!, `${fp}: the same record, written once`);
      }
      // And the host is fit for the next wipe.
      const again = runAgentWipe(fx, scenario);
      assert.equal(again.code, 0, `${fp}: a wipe after recovery works (${again.stderr})`);
      assert.ok(isRootSubvolume(fx));
    } finally {
      fx.cleanup();
    }
  }
});

test('a killed wipe is also finished by the next wipe itself, before it plans', { skip }, () => {
  const fx = makeBtrfs({ sizeMiB: 256 });
  try {
    scenario.setup(fx);
    assert.equal(runAgentWipe(fx, scenario, { PANTHERAGENT_FAILPOINT: 'wipe.after-rename' }).code, 137);
    assert.equal(existsSync(join(fx.top, '@root')), false, 'killed between the rename and the new root');
    const r = runAgentWipe(fx, { ...scenario, name: 'later' }, { PANTHERAGENT_WIPE_EPOCH: String(EPOCH + 60) });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(journal(fx).map((j) => j.state), ['done', 'done']);
    assert.deepEqual(
      subvolumePaths(tree(fx)).filter((p) => p.startsWith('@old_roots/')),
      [ARCHIVED, '@old_roots/@root.20261125T220100+0000'],
    );
  } finally {
    fx.cleanup();
  }
});

test('refuses when @root is mounted; --dry-run says so and changes nothing', { skip }, () => {
  const fx = makeBtrfs({ sizeMiB: 256 });
  try {
    setupHost(fx);
    const cfg = writeConfig(fx);
    const mnt = join(fx.dir, 'sysroot');
    mkdirSync(mnt);
    assert.equal(spawnSync('mount', ['-t', 'btrfs', '-o', 'subvol=@root', fx.device, mnt]).status, 0);
    const before = tree(fx);
    const dry = cli(['--json', 'wipe', '--dry-run'], { config: cfg, env });
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.json().refused, /@root is mounted \(.*sysroot\)/);
    const r = cli(['wipe', '--yes'], { config: cfg, env });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /@root is mounted .*unmount it first/);
    // Opening the agent for a mutating run adopts the boot first: a mounted @root is
    // taken for the live root and gets the identity file (see wipe-adopt.test.ts).
    const noIdentity = (t: TreeEntry[]) => t.filter((e) => e.path !== '@root/.pantheragent-boot.json');
    assert.deepEqual(noIdentity(tree(fx)), before);
    assert.equal(existsSync(join(fx.top, '.pantheragent/wipe-result')), false, 'a refusal writes no record');
  } finally {
    fx.cleanup();
  }
});

test('--dry-run changes nothing and shows the decisions; without a terminal --yes is required', { skip }, () => {
  const fx = makeBtrfs({ sizeMiB: 256 });
  try {
    scenario.setup(fx);
    const cfg = writeConfig(fx);
    const before = tree(fx);
    const dry = cli(['--json', 'wipe', '--dry-run'], { config: cfg, env });
    assert.equal(dry.code, 0, dry.stderr);
    const doc = dry.json();
    assert.equal(doc.dryRun, true);
    assert.equal(doc.result, null);
    assert.deepEqual(doc.decisions, {
      source: 'blank',
      from: '@root-blank',
      marker: 'ignored:bad-name',
      blank: 'create',
      root: 'subvolume',
      archived: ARCHIVED,
      problem: null,
    });
    assert.deepEqual(
      doc.plan.steps.map((s: { kind: string }) => s.kind),
      ['mount-top', 'check-skip', 'choose-source', 'ensure-blank', 'archive-root', 'create-root', 'consume-marker', 'write-record', 'unmount'],
    );
    assert.equal(doc.plan.stamp, STAMP);
    const human = cli(['wipe', '--dry-run'], { config: cfg, env });
    assert.match(human.stdout, /^wipe plan for @root/);
    assert.match(human.stdout, /@root\s+-> @old_roots\/@root\.20261125T220000\+0000/);
    assert.match(human.stdout, /dry run: nothing was changed/);

    const noYes = cli(['wipe'], { config: cfg, env });
    assert.equal(noYes.code, 64);
    assert.match(noYes.stderr, /pass --yes/);
    assert.deepEqual(tree(fx), before);
    assert.equal(existsSync(join(fx.dir, 'state/state.db')) ? journal(fx).length : 0, 0, 'nothing journaled');
  } finally {
    fx.cleanup();
  }
});

test('a failed wipe exits 1 with the failure in --json; the record says failed', { skip }, () => {
  const fx = makeBtrfs({ sizeMiB: 256 });
  try {
    setupHost(fx);
    const r = runAgentWipe(fx, { name: 'fail', setup: () => {}, failBtrfs: 'subvolume snapshot' });
    assert.equal(r.code, 1);
    const doc = r.json();
    assert.deepEqual(
      { outcome: doc.result.outcome, renamedBack: doc.result.renamedBack, archived: doc.result.archived, error: doc.result.error },
      { outcome: 'failed', renamedBack: true, archived: null, error: 'could not snapshot the source as the new @root' },
    );
    assert.match(doc.result.record, /^v=1 .* outcome=failed .* renamed_back=yes error=could%20not%20snapshot/);
    assert.deepEqual(journal(fx).map((j) => j.state), ['undone']);
  } finally {
    fx.cleanup();
  }
});
