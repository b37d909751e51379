// One plan, two executors (DESIGN.md section 6): every scenario runs on three fresh
// Btrfs filesystems, once through `pantheragent wipe`, once through the rendered
// initrd script under dash and once under bash, and the three resulting trees
// (subvolumes, read-only flags, modes, file contents) and records must be equal.
// Each scenario also checks what the result must be.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeBtrfs, layoutHost, type BtrfsFixture } from './helpers/btrfs.js';
import { BTRFS_REQ, skipUnless } from './helpers/env.js';
import {
  STAMP,
  isMounted,
  makeArchivedRoot,
  records,
  runAgentWipe,
  runScriptWipe,
  setupHost,
  subvolumePaths,
  tree,
  writeMarker,
  type Scenario,
  type TreeEntry,
} from './helpers/wipe.js';
import { parseRecord, type WipeRecord } from '../src/wipe/record.js';

const skip = skipUnless({ ...BTRFS_REQ, commands: [...BTRFS_REQ.commands, 'dash', 'bash'] });

interface Case extends Scenario {
  /** Exit code of `pantheragent wipe` (the script always exits 0). */
  agentExit: number;
  check(fx: BtrfsFixture, t: TreeEntry[], record: WipeRecord): void;
}

const ARCHIVED = `@old_roots/@root.${STAMP}`;
const find = (t: TreeEntry[], path: string) => t.find((e) => e.path === path);
const read = (fx: BtrfsFixture, rel: string) => readFileSync(join(fx.top, rel), 'utf8');

function assertFreshRoot(t: TreeEntry[], root = '@root') {
  const r = find(t, root);
  assert.equal(r?.kind, 'subvolume', `${root} is a subvolume`);
  assert.equal(r?.readonly, false, `${root} is writable`);
  assert.equal(r?.mode, '755', `${root} has mode 0755`);
  assert.deepEqual(t.filter((e) => e.path.startsWith(root + '/')), [], `${root} is empty`);
}

function assertUnwipedRoot(fx: BtrfsFixture, t: TreeEntry[]) {
  assert.equal(find(t, '@root')?.kind, 'subvolume');
  assert.equal(read(fx, '@root/etc/hostname'), 'old-root\n', 'the old root is back, untouched');
  assert.deepEqual(subvolumePaths(t).filter((p) => p.startsWith('@old_roots/')), [], 'nothing archived');
}

const CASES: Case[] = [
  {
    name: 'first boot: no @root, no archive directory',
    agentExit: 0,
    setup(fx) {
      layoutHost(fx);
      fx.btrfs('subvolume', 'delete', join(fx.top, '@root'));
      spawnRmdir(join(fx.top, '@old_roots'));
    },
    check(fx, t, r) {
      assertFreshRoot(t);
      assert.equal(find(t, '@old_roots'), undefined, 'no archive directory is made when there is nothing to archive');
      assert.equal(r.outcome, 'ok');
      assert.equal(r.archived, null);
      assert.equal(r.source, 'blank');
    },
  },
  {
    name: 'normal boot: @root with files is archived, the new root is empty',
    agentExit: 0,
    setup: (fx) => setupHost(fx),
    check(fx, t, r) {
      assertFreshRoot(t);
      assert.equal(find(t, ARCHIVED)?.kind, 'subvolume');
      assert.equal(find(t, ARCHIVED)?.readonly, false, 'made read-only later, by adoption');
      assert.equal(read(fx, `${ARCHIVED}/etc/hostname`), 'old-root\n');
      assert.equal(read(fx, `${ARCHIVED}/var/tmp/scratch`), 'undeclared state\n');
      assert.deepEqual(
        { outcome: r.outcome, archived: r.archived, source: r.source, from: r.from, marker: r.marker, stamp: r.stamp, time: r.time },
        { outcome: 'ok', archived: ARCHIVED, source: 'blank', from: '@root-blank', marker: { state: 'none' }, stamp: STAMP, time: '2026-11-25T22:00:00Z' },
      );
    },
  },
  {
    name: 'missing @root-blank: created empty, read-only, mode 0755',
    agentExit: 0,
    setup(fx) {
      setupHost(fx);
      fx.btrfs('subvolume', 'delete', join(fx.top, '@root-blank'));
    },
    check(fx, t, r) {
      const b = find(t, '@root-blank');
      assert.deepEqual(b, { path: '@root-blank', kind: 'subvolume', readonly: true, mode: '755' });
      assert.deepEqual(t.filter((e) => e.path.startsWith('@root-blank/')), []);
      assertFreshRoot(t);
      assert.equal(r.outcome, 'ok');
      assert.equal(r.archived, ARCHIVED);
    },
  },
  {
    name: 'name collision in @old_roots: the first free _N, nothing overwritten',
    agentExit: 0,
    setup(fx) {
      setupHost(fx);
      makeArchivedRoot(fx, `@root.${STAMP}`, 'earlier-0');
      makeArchivedRoot(fx, `@root.${STAMP}_1`, 'earlier-1');
      mkdirSync(join(fx.top, `@old_roots/@root.${STAMP}_2`)); // a plain directory takes a name too
      writeFileSync(join(fx.top, `@old_roots/@root.${STAMP}_2/keep`), 'not a subvolume');
    },
    check(fx, t, r) {
      assert.equal(r.archived, `${ARCHIVED}_3`);
      assert.equal(read(fx, `${ARCHIVED}_3/etc/hostname`), 'old-root\n');
      assert.equal(read(fx, `${ARCHIVED}/which-root`), 'earlier-0');
      assert.equal(read(fx, `${ARCHIVED}_1/which-root`), 'earlier-1');
      assert.equal(read(fx, `${ARCHIVED}_2/keep`), 'not a subvolume');
      assertFreshRoot(t);
    },
  },
  {
    name: 'nested subvolumes inside the old root move with it',
    agentExit: 0,
    setup(fx) {
      setupHost(fx);
      mkdirSync(join(fx.top, '@root/var/lib'), { recursive: true });
      writeFileSync(join(fx.subvol('@root/var/lib/machines'), 'vm.img'), 'disk');
      mkdirSync(join(fx.top, '@root/var/lib/machines/deep'));
      writeFileSync(join(fx.subvol('@root/var/lib/machines/deep/inner'), 'x'), 'deeper');
    },
    check(fx, t, r) {
      assert.equal(r.outcome, 'ok');
      assert.deepEqual(
        subvolumePaths(t).filter((p) => p.startsWith(ARCHIVED)),
        [ARCHIVED, `${ARCHIVED}/var/lib/machines`, `${ARCHIVED}/var/lib/machines/deep/inner`],
      );
      assert.equal(read(fx, `${ARCHIVED}/var/lib/machines/vm.img`), 'disk');
      assert.equal(read(fx, `${ARCHIVED}/var/lib/machines/deep/inner/x`), 'deeper');
      assertFreshRoot(t);
    },
  },
  {
    name: 'valid pending root rollback: the new root is a writable snapshot of it; the marker is consumed',
    agentExit: 0,
    setup(fx) {
      setupHost(fx);
      makeArchivedRoot(fx, '@root.20261101T000000+0000', 'good-state');
      writeMarker(fx, '@root.20261101T000000+0000\n');
    },
    check(fx, t, r) {
      assert.equal(find(t, '@root')?.readonly, false);
      assert.equal(read(fx, '@root/which-root'), 'good-state');
      assert.equal(find(t, '@old_roots/@root.20261101T000000+0000')?.readonly, true, 'the rollback source is left as it was');
      assert.equal(read(fx, `${ARCHIVED}/etc/hostname`), 'old-root\n', 'the unwanted root is archived, not lost');
      assert.equal(existsSync(join(fx.top, '.pantheragent/rollback-root')), false, 'consumed');
      assert.equal(read(fx, '.pantheragent/rollback-root.used'), '@root.20261101T000000+0000\n');
      assert.deepEqual(
        { source: r.source, from: r.from, marker: r.marker, outcome: r.outcome },
        { source: 'rollback', from: '@old_roots/@root.20261101T000000+0000', marker: { state: 'used' }, outcome: 'ok' },
      );
    },
  },
  {
    name: 'valid rollback written as a path with the archive directory, no newline',
    agentExit: 0,
    setup(fx) {
      setupHost(fx);
      makeArchivedRoot(fx, '@root.20261101T000000+0000', 'good-state');
      writeMarker(fx, '@old_roots/@root.20261101T000000+0000');
    },
    check(fx, _t, r) {
      assert.equal(read(fx, '@root/which-root'), 'good-state');
      assert.equal(r.source, 'rollback');
    },
  },
  ...(
    [
      ['outside the archive directory (..)', '../@persist\n', 'bad-name'],
      ['with a path into another directory', '@snapshots/x\n', 'bad-name'],
      ['naming a subvolume that is not in the archive directory', '@persist\n', 'not-a-subvolume'],
      ['naming a plain directory in the archive directory', '@root.20261101T000000+0000\n', 'not-a-subvolume'],
      ['empty', '', 'bad-name'],
    ] as const
  ).map(
    ([what, content, reason]): Case => ({
      name: `invalid rollback marker ${what}: ignored, fresh root from the blank, consumed, recorded`,
      agentExit: 0,
      setup(fx) {
        setupHost(fx);
        mkdirSync(join(fx.top, '@old_roots/@root.20261101T000000+0000'));
        writeFileSync(join(fx.top, '@old_roots/@root.20261101T000000+0000/which-root'), 'plain directory');
        writeMarker(fx, content);
      },
      check(fx, t, r) {
        assertFreshRoot(t);
        assert.equal(read(fx, `${ARCHIVED}/etc/hostname`), 'old-root\n');
        assert.equal(existsSync(join(fx.top, '.pantheragent/rollback-root')), false);
        assert.equal(read(fx, '.pantheragent/rollback-root.used'), content);
        assert.deepEqual({ source: r.source, marker: r.marker, outcome: r.outcome }, { source: 'blank', marker: { state: 'ignored', reason }, outcome: 'ok' });
      },
    }),
  ),
  {
    name: 'failure after the rename (snapshot fails): the old root is renamed back, failure recorded',
    agentExit: 1,
    failBtrfs: 'subvolume snapshot',
    setup: (fx) => setupHost(fx),
    check(fx, t, r) {
      assertUnwipedRoot(fx, t);
      assert.deepEqual(
        { outcome: r.outcome, renamedBack: r.renamedBack, archived: r.archived, error: r.error },
        { outcome: 'failed', renamedBack: true, archived: null, error: 'could not snapshot the source as the new @root' },
      );
    },
  },
  {
    name: 'failure after the rename during a rollback: renamed back, the marker stays for the next boot',
    agentExit: 1,
    failBtrfs: 'subvolume snapshot',
    setup(fx) {
      setupHost(fx);
      makeArchivedRoot(fx, '@root.20261101T000000+0000', 'good-state');
      writeMarker(fx, '@root.20261101T000000+0000\n');
    },
    check(fx, t, r) {
      assertUnwipedRoot(fx, t.filter((e) => !e.path.startsWith('@old_roots/@root.20261101')));
      assert.equal(read(fx, '.pantheragent/rollback-root'), '@root.20261101T000000+0000\n');
      assert.deepEqual({ outcome: r.outcome, source: r.source, marker: r.marker }, { outcome: 'failed', source: 'rollback', marker: { state: 'used' } });
    },
  },
  {
    name: '@root that is not a subvolume: left alone, failure recorded',
    agentExit: 1,
    setup(fx) {
      layoutHost(fx);
      fx.btrfs('subvolume', 'delete', join(fx.top, '@root'));
      mkdirSync(join(fx.top, '@root/etc'), { recursive: true });
      writeFileSync(join(fx.top, '@root/etc/hostname'), 'plain\n');
    },
    check(fx, t, r) {
      assert.equal(find(t, '@root')?.kind, 'dir');
      assert.equal(read(fx, '@root/etc/hostname'), 'plain\n');
      assert.deepEqual({ outcome: r.outcome, error: r.error, archived: r.archived }, { outcome: 'failed', error: '@root exists but is not a subvolume: left as it is, not wiped', archived: null });
    },
  },
  {
    name: 'names from the configuration that need quoting and encoding',
    agentExit: 0,
    config: { root: { subvolume: "sys/@r'$(touch${IFS}PWNED)'", blank: '@b`l*nk"', archiveDir: 'old%roots' } },
    setup(fx) {
      mkdirSync(join(fx.top, 'sys'));
      const root = fx.subvol("sys/@r'$(touch${IFS}PWNED)'");
      writeFileSync(join(root, 'f'), 'hostile');
      fx.subvol('@b`l*nk"');
      fx.btrfs('property', 'set', '-ts', join(fx.top, '@b`l*nk"'), 'ro', 'true');
      for (const s of ['@persist', '@home', '@log', '@snapshots']) fx.subvol(s);
    },
    check(fx, t, r) {
      const archived = `old%roots/@r'$(touch\${IFS}PWNED)'.${STAMP}`;
      assert.equal(read(fx, `${archived}/f`), 'hostile');
      assert.equal(find(t, "sys/@r'$(touch${IFS}PWNED)'")?.kind, 'subvolume');
      assert.equal(existsSync(join(fx.dir, 'PWNED')), false, 'nothing from a name was executed');
      assert.deepEqual({ archived: r.archived, from: r.from, root: r.root }, { archived, from: '@b`l*nk"', root: "sys/@r'$(touch${IFS}PWNED)'" });
      const raw = read(fx, '.pantheragent/wipe-result');
      assert.match(raw, /^v=1 \S+( \S+)*\n$/, 'one line, no raw spaces in values');
      assert.match(raw, / from=@b%60l%2Ank%22 /);
    },
  },
];

function spawnRmdir(path: string) {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require('node:fs').rmdirSync(path);
}

function recordOf(fx: BtrfsFixture): WipeRecord {
  const p = parseRecord(read(fx, '.pantheragent/wipe-result'));
  assert.ok(p.ok, `the record parses: ${p.ok ? '' : p.error}`);
  return p.record;
}

for (const c of CASES) {
  test(c.name, { skip }, () => {
    const fxs: BtrfsFixture[] = [];
    try {
      const results: { who: string; fx: BtrfsFixture; t: TreeEntry[]; rec: ReturnType<typeof records> }[] = [];
      // Executor 1: the agent.
      const a = makeBtrfs({ sizeMiB: 256 });
      fxs.push(a);
      c.setup(a);
      const ar = runAgentWipe(a, c);
      assert.equal(ar.code, c.agentExit, `pantheragent wipe exit code; stderr:\n${ar.stderr}`);
      const doc = ar.json();
      assert.equal(doc.result.outcome, c.agentExit === 0 ? 'ok' : 'failed');
      results.push({ who: 'agent', fx: a, t: tree(a), rec: records(a) });
      // Executor 2: the script, under each shell.
      for (const shell of ['dash', 'bash'] as const) {
        const s = makeBtrfs({ sizeMiB: 256 });
        fxs.push(s);
        c.setup(s);
        const sr = runScriptWipe(s, c, shell);
        assert.equal(sr.code, 0, `the script always exits 0 (${shell}); stderr:\n${sr.stderr}`);
        assert.equal(isMounted(sr.mountpoint), false, 'the script unmounted what it mounted');
        results.push({ who: shell, fx: s, t: tree(s), rec: records(s) });
      }
      for (const r of results) {
        c.check(r.fx, r.t, recordOf(r.fx));
        assert.equal(r.rec.log.length, 1, `${r.who}: one line appended to wipe.log`);
        assert.deepEqual(r.rec.log, r.rec.result, `${r.who}: the log ends with the result`);
      }
      const [ref, ...others] = results;
      for (const o of others) {
        assert.deepEqual(o.t, ref!.t, `${o.who} leaves the same tree as the agent`);
        assert.deepEqual(o.rec, ref!.rec, `${o.who} writes the same record as the agent (but for the executor)`);
      }
    } finally {
      for (const fx of fxs) fx.cleanup();
    }
  });
}

test('the kernel command line can skip the wipe (initrd only): nothing changes, outcome=skipped', { skip }, () => {
  for (const shell of ['dash', 'bash'] as const) {
    const fx = makeBtrfs({ sizeMiB: 256 });
    try {
      setupHost(fx);
      const before = tree(fx);
      const r = runScriptWipe(fx, { name: 'skip', setup: () => {} }, shell, { cmdline: 'quiet pantheragent.wipe=0 splash' });
      assert.equal(r.code, 0);
      assert.deepEqual(tree(fx).filter((e) => !e.path.startsWith('.pantheragent')), before);
      const rec = recordOf(fx);
      assert.equal(rec.outcome, 'skipped');
      assert.equal(rec.archived, null);
      assert.equal(isMounted(r.mountpoint), false);
    } finally {
      fx.cleanup();
    }
  }
});

test('two wipes in a row: each archives the previous root, the log keeps both', { skip }, () => {
  for (const who of ['agent', 'dash'] as const) {
    const fx = makeBtrfs({ sizeMiB: 256 });
    try {
      setupHost(fx);
      const s: Scenario = { name: 'twice', setup: () => {} };
      const once = () => (who === 'agent' ? assert.equal(runAgentWipe(fx, s).code, 0) : assert.equal(runScriptWipe(fx, s, 'dash').code, 0));
      once();
      writeFileSync(join(fx.top, '@root/second-boot'), 'x');
      once();
      const t = tree(fx);
      assert.deepEqual(subvolumePaths(t).filter((p) => p.startsWith('@old_roots/')), [ARCHIVED, `${ARCHIVED}_1`]);
      assert.equal(read(fx, `${ARCHIVED}_1/second-boot`), 'x');
      assert.equal(records(fx).log.length, 2);
    } finally {
      fx.cleanup();
    }
  }
});
