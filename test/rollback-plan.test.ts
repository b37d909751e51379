// The pure halves of rollback and restore: plans (names, steps, refusals), the grace
// rule, and systemd's unit name for a mount point (checked against systemd-escape).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { graceReason } from '../src/rollback/grace.js';
import { mountUnitName } from '../src/rollback/mounts.js';
import { GRACE_TAGS, planRollback, planRootRollback, ROLLBACK_FAILPOINTS, type RollbackInput } from '../src/rollback/plan.js';
import { planRestore, RESTORE_FAILPOINTS, type ItemFacts, type RestoreInput } from '../src/rollback/restore-plan.js';
import { hasCommand } from './helpers/env.js';
import { prng } from './helpers/prng.js';

const NOW = Date.UTC(2026, 10, 25, 22, 0, 0, 400);
const base: RollbackInput = {
  source: '@persist',
  live: { rel: '@persist', id: 257, uuid: 'live-uuid' },
  target: { rel: '@snapshots/@persist.20261125T200000+0000', id: 300, uuid: 'target-uuid', name: '@persist.20261125T200000+0000', instant: NOW - 7_200_000 },
  snapshotDir: '@snapshots',
  instant: NOW,
  taken: () => false,
  nested: [],
  mounted: [],
};

test('planRollback: a safety snapshot and an aside with free long-iso names, then the target, then the seal', () => {
  const p = planRollback(base);
  assert.equal(p.safety, '@snapshots/@persist.20261125T220000+0000');
  assert.equal(p.aside, '@snapshots/@persist.20261125T220000+0000_1');
  assert.equal(p.instant, Date.UTC(2026, 10, 25, 22, 0, 0));
  assert.deepEqual(
    p.steps.map((s) => [s.kind, s.failpoint]),
    [
      ['safety-snapshot', 'rollback.after-safety'],
      ['rename-aside', 'rollback.after-aside'],
      ['create-live', 'rollback.after-create'],
      ['seal-aside', 'rollback.after-seal'],
    ],
  );
  // Every step's failpoint is exported, in order after the journal's.
  assert.deepEqual(['rollback.after-journal', ...p.steps.map((s) => s.failpoint)], [...ROLLBACK_FAILPOINTS]);
  const taken = new Set(['@persist.20261125T220000+0000', '@persist.20261125T220000+0000_1', '@persist.20261125T220000+0000_3']);
  const q = planRollback({ ...base, taken: (n) => taken.has(n) });
  assert.deepEqual([q.safety, q.aside], ['@snapshots/@persist.20261125T220000+0000_2', '@snapshots/@persist.20261125T220000+0000_4'], 'never onto a taken name');
});

test('planRollback refuses the live subvolume itself and nested subvolumes', () => {
  assert.throws(() => planRollback({ ...base, target: { ...base.target, uuid: 'live-uuid' } }), /is the live @persist itself/);
  assert.throws(() => planRollback({ ...base, nested: ['@persist/var/lib/docker'] }), /holds nested subvolumes \(@persist\/var\/lib\/docker\)/);
});

test('planRootRollback: a marker the initrd accepts, or a cancel of a pending one', () => {
  const target = { name: '@root.20261101T000000+0000', rel: '@old_roots/@root.20261101T000000+0000', instant: 0 };
  const p = planRootRollback({ root: '@root', archiveDir: '@old_roots', target, previous: null });
  assert.deepEqual(p.steps, [{ kind: 'write-marker', marker: '.pantheragent/rollback-root', name: target.name, failpoint: 'rollback-root.after-marker' }]);
  assert.throws(() => planRootRollback({ root: '@root', archiveDir: '@old_roots', target: { ...target, name: 'bad name', rel: '@old_roots/bad name' }, previous: null }), /cannot be named in the rollback marker/);
  assert.throws(() => planRootRollback({ root: '@root', archiveDir: '@old_roots', target: null, previous: null }), /nothing to cancel/);
  assert.equal(planRootRollback({ root: '@root', archiveDir: '@old_roots', target: null, previous: 'x' }).action, 'cancel');
});

test('grace: tagged entries are kept for graceDays from the instant in their name, then not', () => {
  const day = 86_400_000;
  for (const tag of GRACE_TAGS) {
    assert.match(graceReason({ tag, instant: NOW }, 7, NOW + 7 * day - 1)!, new RegExp(`^${tag}: kept until 2026-12-02T22:00:00Z \\(rollback\\.graceDays 7\\)$`));
    assert.equal(graceReason({ tag, instant: NOW }, 7, NOW + 7 * day), null);
    assert.equal(graceReason({ tag, instant: NOW }, 0, NOW), null, 'graceDays 0: retention at once');
  }
  assert.equal(graceReason({ tag: 'pre-upgrade', instant: NOW }, 7, NOW), null, 'other tags: no grace');
  assert.equal(graceReason({ tag: null, instant: NOW }, 7, NOW), null);
});

function facts(over: Partial<ItemFacts> = {}): ItemFacts {
  return {
    path: '/etc/x',
    srcRel: 'etc/x',
    kind: 'dir',
    linkTarget: null,
    dest: '/sys-root/etc/x',
    destKind: 'dir',
    mkdirs: [],
    holder: { rel: '@root', id: 256, uuid: 'root-uuid' },
    extras: { count: 0, sample: [] },
    ...over,
  };
}

const rbase: RestoreInput = {
  from: { rel: '@old_roots/@root.X', name: '@root.X', kind: 'root', source: '@root', path: '/top/@old_roots/@root.X' },
  mode: 'in-place',
  instant: NOW,
  items: [facts()],
  snapshotDir: '@snapshots',
  managed: ['@root', '@persist'],
  taken: () => false,
  exists: () => false,
  storage: '/persist',
};

test('planRestore: one safety snapshot per subvolume it replaces in, hidden siblings, steps in order', () => {
  const p = planRestore({ ...rbase, items: [facts(), facts({ path: '/etc/y', srcRel: 'etc/y', dest: '/sys-root/etc/y', destKind: 'missing', holder: null, kind: 'file' })] });
  assert.deepEqual(p.safety, [{ subvolume: '@root', rel: '@snapshots/@root.20261125T220000+0000' }]);
  assert.equal(p.items[0]!.tmp, '/sys-root/etc/.x.pantheragent-restore-20261125T220000+0000');
  assert.equal(p.items[0]!.old, '/sys-root/etc/.x.pantheragent-replaced-20261125T220000+0000');
  assert.equal(p.items[0]!.src, '/top/@old_roots/@root.X/etc/x');
  assert.deepEqual(
    p.steps.map((s) => (s.kind === 'safety-snapshot' ? s.kind : `${s.kind}:${s.item}`)),
    ['safety-snapshot', 'copy:0', 'aside:0', 'swap:0', 'cleanup:0', 'copy:1', 'swap:1'],
    'a new path has nothing to move aside or remove',
  );
  assert.deepEqual(new Set(['restore.after-journal', ...p.steps.map((s) => s.failpoint)]), new Set(RESTORE_FAILPOINTS));
  const busy = new Set(['/sys-root/etc/.x.pantheragent-restore-20261125T220000+0000']);
  assert.equal(planRestore({ ...rbase, exists: (x) => busy.has(x) }).items[0]!.tmp, '/sys-root/etc/.x.pantheragent-restore-20261125T220000+0000-1');
});

test('planRestore refuses overlapping paths, and replacing what no managed subvolume holds', () => {
  assert.throws(() => planRestore({ ...rbase, items: [facts(), facts({ path: '/etc/x/y', dest: '/sys-root/etc/x/y' })] }), /\/etc\/x\/y lies inside \/etc\/x/);
  assert.throws(() => planRestore({ ...rbase, items: [facts(), facts()] }), /name each path once/);
  assert.throws(() => planRestore({ ...rbase, items: [facts({ holder: null })] }), /a safety snapshot is impossible/);
  assert.throws(() => planRestore({ ...rbase, items: [facts({ holder: { rel: '@nix', id: 9, uuid: 'n' } })] }), /subvolume @nix, which pantheragent does not manage/);
  assert.throws(() => planRestore({ ...rbase, items: [] }), /nothing to restore/);
});

test('planRestore --persist: the impermanence declaration, directories or files', () => {
  const p = planRestore({ ...rbase, mode: 'persist', items: [facts({ destKind: 'missing', holder: null }), facts({ path: '/etc/machine-id', srcRel: 'etc/machine-id', dest: '/persist/etc/machine-id', kind: 'file', destKind: 'missing', holder: null })] });
  assert.deepEqual(p.declarations, [
    { kind: 'directories', path: '/etc/x', nix: 'environment.persistence."/persist".directories = [ "/etc/x" ];' },
    { kind: 'files', path: '/etc/machine-id', nix: 'environment.persistence."/persist".files = [ "/etc/machine-id" ];' },
  ]);
});

test('mountUnitName: systemd\'s escaping (checked against systemd-escape on random paths)', { skip: hasCommand('systemd-escape') ? false : 'no systemd-escape' }, () => {
  assert.equal(mountUnitName('/'), '-.mount');
  assert.equal(mountUnitName('/persist'), 'persist.mount');
  assert.equal(mountUnitName('/var/log'), 'var-log.mount');
  const rnd = prng(42);
  const alphabet = ['a', 'Z', '0', '-', '.', '_', ':', ' ', 'é', '\\\\', '/', '@', '+'];
  const paths: string[] = [];
  for (let i = 0; i < 60; i++) {
    const n = 1 + Math.floor(rnd() * 12);
    paths.push('/' + Array.from({ length: n }, () => alphabet[Math.floor(rnd() * alphabet.length)]!).join('').replace(/\/+/g, '/').replace(/\/$/, '') || '/x');
  }
  const r = spawnSync('systemd-escape', ['--path', '--suffix=mount', '--', ...paths], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const want = r.stdout.trim().split(/\s+/);
  assert.deepEqual(paths.map(mountUnitName), want);
});
