// Selectors over snapshots and archived roots (src/snapshots/select.ts): pure, no filesystem.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatName, parseName } from '../src/btrfs/names.js';
import { parseAgeSelector, selectEntry, type Selectable } from '../src/snapshots/select.js';

const H = 3_600_000;
const D = 24 * H;
const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);

function entry(kind: Selectable['kind'], base: string, instant: number, seq = 0): Selectable {
  const name = formatName(base, instant, seq);
  const dir = kind === 'root' ? '@old_roots' : '@snapshots';
  return { kind, name, rel: `${dir}/${name}`, instant: parseName(name)!.instant, seq };
}

// Archived roots, deliberately not in order: 10 days, 3 days, 1 day, 2 hours (twice in one second) ago.
const roots = [
  entry('root', '@root', NOW - 3 * D),
  entry('root', '@root', NOW - 2 * H),
  entry('root', '@root', NOW - 10 * D),
  entry('root', '@root', NOW - 2 * H, 1),
  entry('root', '@root', NOW - 1 * D),
];
const snaps = [entry('snapshot', '@persist', NOW - 30 * 60_000), entry('snapshot', '@persist', NOW - 5 * H), entry('snapshot', '@persist', NOW - 8 * D)];

const pick = (entries: Selectable[], sel: string, now = NOW) => {
  const r = selectEntry(entries, sel, now);
  if (!r.ok) throw new Error(r.error);
  return r.entry.name;
};
const error = (entries: Selectable[], sel: string, now = NOW) => {
  const r = selectEntry(entries, sel, now);
  assert.equal(r.ok, false, `expected "${sel}" to fail`);
  return (r as { error: string }).error;
};

test('parseAgeSelector: h, d, w; anything else is not an age', () => {
  assert.equal(parseAgeSelector('3h-ago'), 3 * H);
  assert.equal(parseAgeSelector('2d-ago'), 2 * D);
  assert.equal(parseAgeSelector('1w-ago'), 7 * D);
  assert.equal(parseAgeSelector('0h-ago'), 0);
  for (const s of ['3h', '2d ago', '-1d-ago', '1.5d-ago', '2m-ago', '1y-ago', 'd-ago', '2D-ago', ' 2d-ago', '2d-ago ', 'latest', '']) {
    assert.equal(parseAgeSelector(s), null, s);
  }
});

test('latest: the newest; _N breaks a tie within one second', () => {
  assert.equal(pick(roots, 'latest'), formatName('@root', NOW - 2 * H, 1));
  assert.equal(pick(snaps, 'latest'), formatName('@persist', NOW - 30 * 60_000));
  assert.match(error([], 'latest'), /none/);
});

test('previous-boot: the newest archived root; not meaningful for snapshots', () => {
  assert.equal(pick(roots, 'previous-boot'), formatName('@root', NOW - 2 * H, 1));
  assert.match(error(snaps, 'previous-boot'), /names an archived root.*latest/);
  assert.match(error([], 'previous-boot'), /none yet/);
  // Mixed input: only the roots count.
  assert.equal(pick([...snaps, ...roots], 'previous-boot'), formatName('@root', NOW - 2 * H, 1));
});

test('N{h,d,w}-ago: the newest at least that old, boundaries included', () => {
  assert.equal(pick(roots, '1h-ago'), formatName('@root', NOW - 2 * H, 1));
  assert.equal(pick(roots, '2h-ago'), formatName('@root', NOW - 2 * H, 1), 'exactly 2h old counts as at least 2h');
  assert.equal(pick(roots, '3h-ago'), formatName('@root', NOW - 1 * D));
  assert.equal(pick(roots, '1d-ago'), formatName('@root', NOW - 1 * D));
  assert.equal(pick(roots, '2d-ago'), formatName('@root', NOW - 3 * D));
  assert.equal(pick(roots, '1w-ago'), formatName('@root', NOW - 10 * D));
  assert.equal(pick(roots, '0h-ago'), formatName('@root', NOW - 2 * H, 1));
  assert.match(error(roots, '2w-ago'), /no archived root is at least 2w old \(newest: /);
  assert.equal(pick(snaps, '1h-ago'), formatName('@persist', NOW - 5 * H));
  // `now` is an input: the same selector moves with it.
  assert.equal(pick(roots, '1d-ago', NOW + 2 * D), formatName('@root', NOW - 2 * H, 1));
});

test('a full name or the path from the top level selects exactly that entry', () => {
  const n = formatName('@root', NOW - 3 * D);
  assert.equal(pick(roots, n), n);
  assert.equal(pick(roots, `@old_roots/${n}`), n);
  // Another offset is another name, even for the same instant.
  assert.match(error(roots, n.replace('+0000', '+0100')), /no archived root is named/);
});

test('a name wins over a keyword, so any entry stays reachable by name', () => {
  const odd: Selectable = { kind: 'root', name: 'latest', rel: '@old_roots/latest', instant: NOW - 100 * D, seq: 0 };
  const r = selectEntry([...roots, odd], 'latest', NOW);
  assert.ok(r.ok && r.entry === odd && r.how === 'by name');
});

test('unknown selectors name the choices and the newest entries', () => {
  const msg = error(roots, 'yesterday');
  assert.match(msg, /no archived root is named "yesterday"/);
  assert.match(msg, /latest, previous-boot/);
  assert.match(msg, /3h-ago/);
  assert.ok(msg.includes(formatName('@root', NOW - 2 * H, 1)), msg);
  assert.doesNotMatch(msg, /…/, 'five entries are all shown');
  const many = [...roots, entry('root', '@root', NOW - 20 * D), entry('root', '@root', NOW - 30 * D)];
  assert.match(error(many, 'yesterday'), /, … \(7 in all\)/);
  assert.ok(!error(many, 'yesterday').includes(formatName('@root', NOW - 30 * D)), 'the oldest is elided');
});

test('the caller can name the entries in messages', () => {
  const r = selectEntry([], '2d-ago', NOW, 'archived root of @root');
  assert.ok(!r.ok && /no archived root of @root is at least 2d old \(there are none\)/.test(r.error));
});

test('the result does not depend on the input order', () => {
  const rev = [...roots].reverse();
  for (const sel of ['latest', 'previous-boot', '3h-ago', '2d-ago', '1w-ago']) assert.equal(pick(rev, sel), pick(roots, sel), sel);
});
