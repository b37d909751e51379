import { test } from 'node:test';
import assert from 'node:assert/strict';
import { basenameOf, formatName, formatStamp, freeName, parseName } from '../src/btrfs/names.js';

test('UTC long-iso stamps and names', () => {
  const t = Date.UTC(2026, 10, 25, 22, 0, 0);
  assert.equal(formatStamp(t), '20261125T220000+0000');
  assert.equal(formatName('@persist', t), '@persist.20261125T220000+0000');
  assert.equal(formatName('@persist', t, 2), '@persist.20261125T220000+0000_2');
});

test('parses any offset to the same instant', () => {
  const a = parseName('@home.20261125T230000+0100')!;
  const b = parseName('@home.20261125T220000+0000')!;
  const c = parseName('@home.20261125T163000-0530')!;
  assert.equal(a.instant, b.instant);
  assert.equal(c.instant, b.instant);
  assert.equal(a.offsetMinutes, 60);
  assert.equal(c.offsetMinutes, -330);
  assert.equal(a.base, '@home');
});

test('collision suffix and dotted bases', () => {
  const p = parseName('my.data.20260101T000000+0000_12')!;
  assert.equal(p.base, 'my.data');
  assert.equal(p.seq, 12);
});

test('foreign names do not parse', () => {
  for (const n of ['@persist', '@persist.2026-11-25', '@persist.20261125', '@persist.20261125T2200+0000', '@persist.20261125T220000',
    '@persist.20261125T220000Z', '@persist.20261325T220000+0000', '@persist.20260230T120000+0000', '@persist.20261125T250000+0000',
    '.20261125T220000+0000', '@persist.20261125T220000+0000_', '@persist.20261125T220000+0000.bak']) {
    assert.equal(parseName(n), null, n);
  }
});

test('round trip for random instants', () => {
  let seed = 42;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let i = 0; i < 2000; i++) {
    const t = Math.floor(rnd() * 4e12 / 1000) * 1000;
    const seq = Math.floor(rnd() * 3);
    const p = parseName(formatName('@x', t, seq))!;
    assert.equal(p.instant, t);
    assert.equal(p.seq, seq);
  }
});

test('freeName picks the first unused _N', () => {
  const t = Date.UTC(2026, 0, 1);
  const taken = new Set(['@p.20260101T000000+0000', '@p.20260101T000000+0000_1']);
  assert.equal(freeName('@p', t, (n) => taken.has(n)), '@p.20260101T000000+0000_2');
  assert.equal(basenameOf('data/@vm'), '@vm');
});
