// planPrune is pure over an inventory: every source and the archived roots get the
// planner's decisions; what retention must never touch is kept with its reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../src/config/load.js';
import { formatName, parseName } from '../src/btrfs/names.js';
import { planPrune, decisionsByPath } from '../src/retention/prune-plan.js';
import type { Entry, Inventory } from '../src/snapshots/inventory.js';

const H = 3_600_000;
const NOW = Date.UTC(2026, 10, 25, 22, 0, 0);
const config = parseConfig(
  {
    host: 'yoga',
    timezone: 'UTC',
    snapshots: { sources: { '@persist': { retention: { preserveMin: 'no', preserve: '2h' } }, '@log': { retention: { preserveMin: 'all', preserve: 'no' } } } },
    root: { retention: { preserveMin: 'no', preserve: '1d' } },
  },
  'inline',
);

/** Created in name order unless `cgen` says otherwise (a clock that was wrong). */
function entry(kind: Entry['kind'], base: string, hoursAgo: number, source: string | null, pinned = false, cgen = 1_000_000 - hoursAgo * 10): Entry {
  const dir = kind === 'root' ? '@old_roots' : '@snapshots';
  const name = formatName(base, NOW - hoursAgo * H);
  const p = parseName(name)!;
  return { kind, dir, name, rel: `${dir}/${name}`, path: `/top/${dir}/${name}`, source, instant: p.instant, seq: p.seq, uuid: name, btrfsId: cgen, cgen, readonly: true, pinned, tag: null };
}

function inventory(): Inventory {
  return {
    top: '/top',
    subvolumes: [],
    snapshots: [
      ...[1, 2, 3, 4, 5, 6].map((h) => entry('snapshot', '@persist', h, '@persist', h === 6)),
      ...[1, 30].map((h) => entry('snapshot', '@log', h, '@log')),
      entry('snapshot', '@gone', 500, null),
    ],
    roots: [...[1, 20, 50, 80].map((h) => entry('root', '@root', h, '@root')), entry('root', '@other', 900, null)],
    foreign: [{ dir: '@snapshots', name: 'by-hand', rel: '@snapshots/by-hand', subvolume: true, why: 'name' }],
  };
}

test('one group per source, one for unconfigured snapshots, the roots, and stray roots', () => {
  const plan = planPrune(config, inventory(), NOW);
  assert.deepEqual(
    plan.groups.map((g) => [g.kind, g.source, g.decisions.length]),
    [
      ['snapshots', '@persist', 6],
      ['snapshots', '@log', 2],
      ['snapshots', null, 1],
      ['roots', '@root', 4],
      ['roots', null, 1],
    ],
  );
  const all = plan.groups.flatMap((g) => g.decisions);
  assert.equal(all.length, 14, 'every entry has exactly one decision; foreign entries have none');
  for (const d of all.filter((x) => x.entry.source === null)) {
    assert.equal(d.action, 'keep');
    assert.deepEqual(d.rules, ['unconfigured']);
  }
});

test('condemned: oldest first, never pinned, newest, unconfigured or protected', () => {
  const inv = inventory();
  const protectedRoot = inv.roots.find((r) => r.instant === NOW - 80 * H)!;
  const plan = planPrune(config, inv, NOW, (e) => (e.rel === protectedRoot.rel ? 'pending root rollback' : null));
  const by = decisionsByPath(plan);
  assert.equal(by.get(protectedRoot.rel)!.action, 'keep');
  assert.equal(by.get(protectedRoot.rel)!.reason, 'pending root rollback');
  const instants = plan.condemned.map((rel) => by.get(rel)!.entry.instant);
  assert.deepEqual(instants, [...instants].sort((a, b) => a - b));
  const condemned = new Set(plan.condemned);
  for (const e of [...inv.snapshots, ...inv.roots]) {
    if (e.pinned || e.source === null) assert.ok(!condemned.has(e.rel), e.rel);
  }
  assert.ok(!condemned.has(inv.snapshots[0]!.rel), 'the newest @persist snapshot');
  assert.ok(condemned.has(inv.snapshots[4]!.rel), '@persist 5h old is past 2h');
  assert.ok(!condemned.has(inv.snapshots[5]!.rel), 'pinned');
  assert.ok(![...condemned].some((r) => r.startsWith('@snapshots/@log.')), 'preserveMin all keeps every @log snapshot');
});

test('planning is deterministic and a second plan over the survivors condemns nothing', () => {
  const inv = inventory();
  const a = planPrune(config, inv, NOW);
  assert.deepEqual(planPrune(config, inv, NOW).condemned, a.condemned);
  const gone = new Set(a.condemned);
  const survivors: Inventory = { ...inv, snapshots: inv.snapshots.filter((e) => !gone.has(e.rel)), roots: inv.roots.filter((e) => !gone.has(e.rel)) };
  assert.deepEqual(planPrune(config, survivors, NOW).condemned, []);
});

test('a name dated in the future does not cost the newest snapshot by creation its place', () => {
  const strict = parseConfig({ host: 'h', timezone: 'UTC', snapshots: { sources: { '@persist': { retention: { preserveMin: 'no', preserve: 'no' } } } } }, 'inline');
  // Made first, while the clock was two days ahead; then the clock was fixed.
  const future = entry('snapshot', '@persist', -48, '@persist', false, 10);
  const real = [3, 2, 1].map((h) => entry('snapshot', '@persist', h, '@persist', false, 100 - h));
  const inv: Inventory = { top: '/top', subvolumes: [], snapshots: [...real, future], roots: [], foreign: [] };
  const by = decisionsByPath(planPrune(strict, inv, NOW));
  assert.equal(by.get(future.rel)!.action, 'keep', 'the newest by name is kept, as before');
  assert.equal(by.get(real[2]!.rel)!.action, 'keep');
  assert.match(by.get(real[2]!.rel)!.reason, /newest by creation/);
  assert.equal(by.get(real[0]!.rel)!.action, 'delete');
  // And the snapshot a run just made is never condemned by that run.
  const fresh = real[1]!.rel;
  const plan = planPrune(strict, inv, NOW, (e) => (e.rel === fresh ? 'created by this run: never deleted by it' : null));
  assert.ok(!plan.condemned.includes(fresh));
});
