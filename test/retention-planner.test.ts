// The retention planner on fixed scenarios. Every expected keep set in the "golden"
// tests below was produced by real btrbk 0.32.5 (`btrbk --dry-run --print-schedule
// prune` with a fixed clock; the same scenarios are re-run against btrbk in
// retention-btrbk.test.ts), not by this implementation.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseName } from '../src/btrfs/names.js';
import { formatPolicy, planRetention, type Decision, type PlanItem } from '../src/retention/planner.js';
import { parsePreserve, parsePreserveMin, type DayOfWeek, type RetentionPolicy } from '../src/retention/policy.js';

const H = 3_600_000;
const D = 24 * H;
const MIN = 60_000;
const utc = (s: string) => Date.parse(s);

function policy(min: string, preserve: string, dow: DayOfWeek = 'sunday', hod = 0): RetentionPolicy {
  const m = parsePreserveMin(min);
  const p = parsePreserve(preserve);
  if (!m.ok || !p.ok) throw new Error(`bad test policy ${min} / ${preserve}`);
  return { preserveMin: m.value, preserve: p.value, preserveDayOfWeek: dow, preserveHourOfDay: hod };
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** The long-iso stamp of an instant written with a UTC offset in minutes: 20250330T030000+0100. */
function stamp(instant: number, offsetMin = 0): string {
  const w = new Date(instant + offsetMin * MIN);
  const a = Math.abs(offsetMin);
  return (
    `${pad(w.getUTCFullYear(), 4)}${pad(w.getUTCMonth() + 1)}${pad(w.getUTCDate())}T${pad(w.getUTCHours())}${pad(w.getUTCMinutes())}${pad(w.getUTCSeconds())}` +
    `${offsetMin < 0 ? '-' : '+'}${pad(Math.floor(a / 60))}${pad(a % 60)}`
  );
}

function items(stamps: readonly string[], pinned: readonly string[] = []): PlanItem[] {
  return stamps.map((s) => {
    const p = parseName(`@persist.${s}`);
    if (!p) throw new Error(`bad stamp ${s}`);
    return { id: s, instant: p.instant, seq: p.seq, pinned: pinned.includes(s) };
  });
}

function every(from: string, to: string, step: number, skip: (t: number) => boolean = () => false): number[] {
  const out: number[] = [];
  for (let t = utc(from); t <= utc(to); t += step) if (!skip(t)) out.push(t);
  return out;
}

const kept = (ds: readonly Decision[]) => ds.filter((d) => d.action === 'keep').map((d) => d.id);
const byId = (ds: readonly Decision[]) => new Map(ds.map((d) => [d.id, d]));

describe('golden: btrbk behaviour, verified against btrbk 0.32.5', () => {
  test('daily snapshots over six months, 20d 10w *m', () => {
    const stamps = every('2025-01-01T03:00:00Z', '2025-06-30T03:00:00Z', D).map((t) => stamp(t));
    const now = utc('2025-06-30T12:00:00Z'); // a Monday
    const expected = [
      // 1-4 January 2025 belong to December 2024: that month began with the week of Sunday 29 December.
      '20250101', // monthly: December 2024
      '20250105', // monthly: January (first Sunday)
      '20250202',
      '20250302',
      '20250406',
      '20250420', // weekly 10: "10w" reaches back ten weeks before this one
      '20250427',
      '20250504',
      '20250511',
      '20250518',
      '20250525',
      '20250601',
      '20250608',
      ...Array.from({ length: 21 }, (_, i) => `202506${pad(10 + i)}`), // "20d": today and 20 days back
    ].map((d) => `${d}T030000+0000`);
    for (const min of ['latest', 'no']) {
      const ds = planRetention(items(stamps), policy(min, '20d 10w *m'), now, 'UTC');
      assert.deepEqual(kept(ds), expected, `min ${min}`);
    }
    const ds = byId(planRetention(items(stamps), policy('latest', '20d 10w *m'), now, 'UTC'));
    assert.equal(ds.get('20250101T030000+0000')?.reason, 'monthly 6');
    assert.equal(ds.get('20250601T030000+0000')?.reason, 'weekly 4, monthly 0');
    assert.equal(ds.get('20250629T030000+0000')?.reason, 'daily 1, weekly 0');
    assert.deepEqual(ds.get('20250629T030000+0000')?.rules, ['daily', 'weekly']);
    assert.equal(ds.get('20250630T030000+0000')?.reason, 'newest, latest, daily 0');
    assert.deepEqual(ds.get('20250630T030000+0000')?.rules, ['newest', 'latest', 'daily']);
    const gone = ds.get('20250413T030000+0000');
    assert.equal(gone?.action, 'delete');
    assert.deepEqual(gone?.rules, []);
    assert.equal(gone?.reason, 'not preserved by 20d 10w *m (min latest)');
  });

  test('hourly snapshots with downtime: N days back counts calendar days, not snapshots', () => {
    const down = (t: number) =>
      (t >= utc('2025-03-12T00:00:00Z') && t < utc('2025-03-13T09:00:00Z')) || (t >= utc('2025-03-11T04:00:00Z') && t < utc('2025-03-11T07:00:00Z'));
    const stamps = every('2025-03-10T00:15:00Z', '2025-03-14T20:15:00Z', H, down).map((t) => stamp(t));
    const now = utc('2025-03-14T22:40:00Z');
    const expected = [
      '20250311T001500+0000', // daily 3
      '20250313T091500+0000', // daily 1: the machine came back at 09:15; 12 March had nothing
      '20250314T001500+0000', // daily 0
      '20250314T171500+0000', // hourly 5 .. 2
      '20250314T181500+0000',
      '20250314T191500+0000',
      '20250314T201500+0000', // also latest
    ];
    for (const min of ['latest', 'no']) assert.deepEqual(kept(planRetention(items(stamps), policy(min, '5h 3d'), now, 'UTC')), expected, `min ${min}`);
    const ds = byId(planRetention(items(stamps), policy('latest', '5h 3d'), now, 'UTC'));
    assert.equal(ds.get('20250313T091500+0000')?.reason, 'daily 1');
    assert.equal(ds.get('20250314T171500+0000')?.reason, 'hourly 5');
    assert.equal(ds.get('20250314T161500+0000')?.action, 'delete');
    assert.equal(ds.get('20250310T001500+0000')?.action, 'delete');
  });

  test('a snapshot on Tuesday 1 October counts to September when weeks start on Sunday', () => {
    const stamps = ['20240915', '20240920', '20241001', '20241003', '20241008', '20241015'].map((d) => `${d}T120000+0000`);
    const now = utc('2024-10-20T12:00:00Z');
    const run = (dow: DayOfWeek) => kept(planRetention(items(stamps), policy('latest', '*m', dow), now, 'UTC'));
    // October begins with its first Sunday (6th): 1 and 3 October are September's, whose first weekly is the 15th.
    assert.deepEqual(run('sunday'), ['20240915T120000+0000', '20241008T120000+0000', '20241015T120000+0000']);
    // Weeks from Monday: the week of 1 October began on Monday 30 September, so again September.
    assert.deepEqual(run('monday'), ['20240915T120000+0000', '20241008T120000+0000', '20241015T120000+0000']);
    // Weeks from Tuesday: 1 October starts October's first week.
    assert.deepEqual(run('tuesday'), ['20240915T120000+0000', '20241001T120000+0000', '20241015T120000+0000']);
    const ds = byId(planRetention(items(stamps), policy('latest', '*m'), now, 'UTC'));
    assert.equal(ds.get('20241008T120000+0000')?.reason, 'monthly 0');
    assert.equal(ds.get('20240915T120000+0000')?.reason, 'monthly 1');
  });

  test("when now is Tuesday 1 October, now's month is not shifted: September is 1 month back", () => {
    const stamps = every('2024-08-01T12:00:00Z', '2024-10-01T12:00:00Z', D).map((t) => stamp(t));
    const now = utc('2024-10-01T18:00:00Z');
    assert.deepEqual(kept(planRetention(items(stamps), policy('latest', '1m'), now, 'UTC')), ['20240901T120000+0000', '20241001T120000+0000']);
    // 1-3 August are July's (August's first Sunday is the 4th).
    assert.deepEqual(kept(planRetention(items(stamps), policy('latest', '2m'), now, 'UTC')), [
      '20240804T120000+0000',
      '20240901T120000+0000',
      '20241001T120000+0000',
    ]);
    // min 1m: everything from 1 September (a Sunday) on, 31 snapshots.
    const min1m = kept(planRetention(items(stamps), policy('1m', 'no'), now, 'UTC'));
    assert.equal(min1m.length, 31);
    assert.equal(min1m[0], '20240901T120000+0000');
  });

  test('Europe/Berlin fall-back night: 02:00 CEST and 02:00 CET are one hour', () => {
    // Every 20 minutes from 01:00 CEST (23:00Z) to 04:00 CET (03:00Z) on 27 October 2024.
    const stamps = every('2024-10-26T23:00:00Z', '2024-10-27T03:00:00Z', 20 * MIN).map((t) => stamp(t));
    const now = utc('2024-10-27T04:30:00Z'); // 05:30 CET
    const run = (min: string, p: string, hod = 0) => kept(planRetention(items(stamps), policy(min, p, 'sunday', hod), now, 'Europe/Berlin'));
    // Local hours 01, 02 (CEST then CET: one bucket, its first is 02:00 CEST), 03, 04.
    assert.deepEqual(run('latest', '*h'), ['20241026T230000+0000', '20241027T000000+0000', '20241027T020000+0000', '20241027T030000+0000']);
    // 3 hours back on the wall clock: 04, 03 and the doubled 02; 01:00 CEST is 4 clock hours back.
    assert.deepEqual(run('latest', '3h'), ['20241027T000000+0000', '20241027T020000+0000', '20241027T030000+0000']);
    // min 2h: clock hours 05, 04, 03 CET.
    assert.deepEqual(run('2h', 'no'), ['20241027T020000+0000', '20241027T022000+0000', '20241027T024000+0000', '20241027T030000+0000']);
    // Days from 02:00: 01:00 CEST belongs to 26 October, 02:00 CEST starts 27 October.
    assert.deepEqual(run('latest', '*d', 2), ['20241026T230000+0000', '20241027T000000+0000', '20241027T030000+0000']);
    const ds = byId(planRetention(items(stamps), policy('latest', '3h'), now, 'Europe/Berlin'));
    assert.equal(ds.get('20241027T000000+0000')?.reason, 'hourly 3');
    assert.equal(ds.get('20241027T010000+0000')?.action, 'delete'); // 02:00 CET: second in the 02 hour
  });

  test('Europe/Berlin spring-forward night: the missing hour is not counted', () => {
    // Every 30 minutes from 00:00 CET (23:00Z) to 05:00 CEST (03:00Z) on 30 March 2025, names written at +0100.
    const stamps = every('2025-03-29T23:00:00Z', '2025-03-30T03:00:00Z', 30 * MIN).map((t) => stamp(t, 60));
    const now = utc('2025-03-30T03:10:00Z'); // 05:10 CEST
    const run = (p: string, hod = 0) => kept(planRetention(items(stamps), policy('latest', p, 'sunday', hod), now, 'Europe/Berlin'));
    assert.deepEqual(run('*h'), ['20250330T000000+0100', '20250330T010000+0100', '20250330T020000+0100', '20250330T030000+0100', '20250330T040000+0100']);
    // 01:00 CET is 3h10m before now in elapsed time, but 4 clock hours back (05 -> 01, no 02): not kept.
    assert.deepEqual(run('3h'), ['20250330T020000+0100', '20250330T030000+0100', '20250330T040000+0100']);
    // Days starting at 02:00, an hour that does not exist that night: 03:00 CEST opens 30 March.
    assert.deepEqual(run('*d', 2), ['20250330T000000+0100', '20250330T020000+0100', '20250330T040000+0100']);
    assert.deepEqual(run('1d', 3), ['20250330T000000+0100', '20250330T020000+0100', '20250330T040000+0100']);
  });

  test('ties: same instant ordered by _N; names with different offsets meet on the instant', () => {
    const stamps = [
      '20250501T100000+0000',
      '20250501T100000+0000_1',
      '20250501T100000+0000_2',
      '20250501T123000+0200', // 10:30Z
      '20250501T053000-0500_1', // 10:30Z
      '20250501T163000+0530_3', // 11:00Z
      '20250501T110000+0000_1', // 11:00Z
    ];
    const now = utc('2025-05-01T12:00:00Z');
    const run = (p: string) => kept(planRetention(items(stamps), policy('latest', p), now, 'Asia/Kathmandu'));
    assert.deepEqual(run('*h'), ['20250501T100000+0000', '20250501T123000+0200', '20250501T163000+0530_3']);
    assert.deepEqual(run('no'), ['20250501T163000+0530_3']);
    assert.deepEqual(run('1d'), ['20250501T100000+0000', '20250501T163000+0530_3']);
  });

  test('snapshots dated after now are kept, unless in the current clock hour', () => {
    const now = utc('2025-07-10T09:30:00Z');
    const stamps = [-50, -26, -3, -0.5, 0.2, 1.5, 30].map((h) => stamp(now + h * H));
    assert.deepEqual(kept(planRetention(items(stamps), policy('latest', 'no'), now, 'Europe/Berlin')), ['20250710T110000+0000', '20250711T153000+0000']);
    assert.deepEqual(kept(planRetention(items(stamps), policy('1h', '1d'), now, 'Europe/Berlin')), [
      '20250709T073000+0000',
      '20250710T063000+0000',
      '20250710T090000+0000',
      '20250710T094200+0000',
      '20250710T110000+0000',
      '20250711T153000+0000',
    ]);
    const ds = byId(planRetention(items(stamps), policy('latest', 'no'), now, 'Europe/Berlin'));
    assert.equal(ds.get('20250710T110000+0000')?.reason, 'future +2h');
    assert.deepEqual(ds.get('20250710T110000+0000')?.rules, ['min']);
  });
});

describe('golden: a week across a month end (verified against btrbk 0.32.5)', () => {
  // Weeks from Wednesday, days from 16:00. 30 April 2025 is a Wednesday, so one week
  // runs from Wed 30 April 16:00 to Wed 7 May 16:00. btrbk puts Fri 2 May 19:00 in
  // April (its week began in April) but Tue 6 May 10:00 in May: that snapshot belongs
  // to Monday's day, and btrbk compares Monday's weekday offset with Tuesday's date.
  const apr16 = '20250416T080000+0000';
  const may2 = '20250502T190000+0000';
  const may6 = '20250506T100000+0000';
  const may12 = '20250512T100000+0000';
  const may15 = '20250515T180000+0000';
  const now = utc('2025-05-17T20:00:00Z');
  const p = policy('no', '*m', 'wednesday', 16);

  test('btrbk: 2 May is April, 6 May is May, the first weekly of May is 12 May', () => {
    const ds = planRetention(items([apr16, may2, may6, may12, may15]), p, now, 'UTC');
    assert.deepEqual(kept(ds), [apr16, may12, may15]);
    assert.deepEqual(ds.map((d) => d.reason.split(', ').at(-1)), ['monthly 1', 'not preserved by *m (min no)', 'not preserved by *m (min no)', 'monthly 0', 'newest']);
  });

  test('btrbk: without 2 May, 6 May heads its week and becomes the first weekly of May', () => {
    const ds = planRetention(items([apr16, may6, may12, may15]), p, now, 'UTC');
    assert.deepEqual(kept(ds), [apr16, may6, may15]);
  });

  test('so pinned snapshots stay out of the schedule, or a second prune would delete more', () => {
    // Were pinned 6 May a plain snapshot to the schedule, the first prune would drop
    // 2 May and keep 12 May, and the second would find 6 May heading its week and drop 12 May.
    const its = items([apr16, may2, may6, may12, may15], [apr16, may6]);
    const first = planRetention(its, p, now, 'UTC');
    assert.deepEqual(first.map((d) => d.reason), ['pinned', 'monthly 1', 'pinned', 'monthly 0', 'newest']);
    const again = planRetention(its.filter((_, i) => first[i]!.action === 'keep'), p, now, 'UTC');
    assert.deepEqual(again, first);
  });
});

describe('btrbk details', () => {
  test('N counts from the current period inclusively; 0 disables the unit', () => {
    const now = utc('2025-01-10T12:00:00Z');
    const stamps = [0, 1, 2, 3].map((d) => stamp(now - d * D - H));
    assert.deepEqual(kept(planRetention(items(stamps), policy('no', '2d'), now, 'UTC')).length, 3);
    // "0d" keeps no dailies: only our newest rule keeps anything.
    const zero = planRetention(items(stamps), policy('no', '0d'), now, 'UTC');
    assert.deepEqual(kept(zero), [stamp(now - H)]);
    assert.deepEqual(zero.find((d) => d.action === 'keep')?.rules, ['newest']);
  });

  test('preserveMin all keeps everything; min N keeps everything N periods back', () => {
    const now = utc('2025-01-10T12:00:00Z');
    const stamps = [0, 1, 2, 3, 10, 400].map((d) => stamp(now - d * D - H));
    assert.equal(kept(planRetention(items(stamps), policy('all', 'no'), now, 'UTC')).length, 6);
    const ds = planRetention(items(stamps), policy('2d', 'no'), now, 'UTC');
    assert.equal(kept(ds).length, 3);
    assert.equal(ds[1]?.reason, 'min 1d');
    assert.equal(ds[5]?.reason, 'not preserved by min 2d');
  });

  test('preserveHourOfDay moves the day boundary', () => {
    const now = utc('2025-01-10T12:00:00Z');
    const stamps = ['20250109T020000+0000', '20250109T070000+0000', '20250110T010000+0000'];
    assert.deepEqual(kept(planRetention(items(stamps), policy('no', '*d', 'sunday', 0), now, 'UTC')), ['20250109T020000+0000', '20250110T010000+0000']);
    // Days from 06:00: 02:00 on the 9th is the 8th's; 01:00 on the 10th is the 9th's, after 07:00.
    assert.deepEqual(kept(planRetention(items(stamps), policy('no', '*d', 'sunday', 6), now, 'UTC')), ['20250109T020000+0000', '20250109T070000+0000', '20250110T010000+0000']);
    const ds = planRetention(items(stamps), policy('no', '*d', 'sunday', 6), now, 'UTC');
    assert.deepEqual(ds.map((d) => d.rules), [['daily'], ['daily'], ['newest']]);
  });
});

describe('our additions', () => {
  const now = utc('2025-01-10T12:00:00Z');

  test('the newest snapshot is kept even where btrbk would delete it', () => {
    // Two today under "7d": btrbk keeps the first of the day and deletes the newest.
    const stamps = ['20250110T010000+0000', '20250110T020000+0000'];
    const ds = planRetention(items(stamps), policy('no', '7d'), now, 'UTC');
    assert.deepEqual(ds.map((d) => [d.action, d.reason]), [
      ['keep', 'daily 0'],
      ['keep', 'newest'],
    ]);
  });

  test('pinned snapshots are kept and exempt: the schedule runs over the others', () => {
    const stamps = ['20241201T010000+0000', '20250110T010000+0000', '20250110T020000+0000', '20250110T030000+0000'];
    const ds = planRetention(items(stamps, ['20241201T010000+0000', '20250110T010000+0000']), policy('no', '7d'), now, 'UTC');
    assert.deepEqual(ds.map((d) => [d.id, d.action, d.reason]), [
      ['20241201T010000+0000', 'keep', 'pinned'],
      ['20250110T010000+0000', 'keep', 'pinned'],
      // With the pinned 01:00 out of the schedule, 02:00 is the first of the day.
      ['20250110T020000+0000', 'keep', 'daily 0'],
      ['20250110T030000+0000', 'keep', 'newest'],
    ]);
    const both = planRetention(items(['20250110T030000+0000'], ['20250110T030000+0000']), policy('no', 'no'), now, 'UTC');
    assert.deepEqual(both[0]?.rules, ['pinned', 'newest']);
    assert.equal(both[0]?.reason, 'pinned, newest');
  });

  test('one decision per item, in input order, input untouched', () => {
    const its = items(['20250105T000000+0000', '20250101T000000+0000', '20250109T000000+0000']);
    const copy = structuredClone(its);
    const ds = planRetention(its, policy('no', '1d'), now, 'UTC');
    assert.deepEqual(ds.map((d) => d.id), its.map((i) => i.id));
    assert.deepEqual(its, copy);
    assert.deepEqual(planRetention([], policy('no', '1d'), now, 'UTC'), []);
  });

  test('formatPolicy reads like the config', () => {
    assert.equal(formatPolicy(policy('1d', '24h 14d 8w 6m')), 'min 1d, preserve 24h 14d 8w 6m');
    assert.equal(formatPolicy(policy('latest', '*m 2y')), 'min latest, preserve *m 2y');
    assert.equal(formatPolicy(policy('no', 'no')), 'min no, preserve no');
    assert.equal(formatPolicy(policy('3d', '14d 4w', 'monday', 6)), 'min 3d, preserve 14d 4w (monday, 06:00)');
  });
});

describe('time zones', () => {
  const stamps = every('2024-10-26T20:00:00Z', '2024-10-27T06:00:00Z', 25 * MIN).map((t) => stamp(t));
  const now = utc('2024-10-27T07:05:00Z');
  const p = policy('no', '4h *d', 'sunday', 2);

  test("'local' is the process's zone", () => {
    const saved = process.env.TZ;
    try {
      for (const zone of ['Europe/Berlin', 'America/New_York', 'UTC']) {
        process.env.TZ = zone;
        assert.deepEqual(planRetention(items(stamps), p, now, 'local'), planRetention(items(stamps), p, now, zone), zone);
      }
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });

  test('zones differ where they should', () => {
    assert.notDeepEqual(planRetention(items(stamps), p, now, 'Europe/Berlin'), planRetention(items(stamps), p, now, 'UTC'));
  });

  test('an unknown zone is UTC, as glibc treats an unknown TZ', () => {
    assert.deepEqual(planRetention(items(stamps), p, now, 'Not/AZone'), planRetention(items(stamps), p, now, 'UTC'));
  });
});

describe('never throws', () => {
  const now = utc('2025-01-10T12:00:00Z');
  const good = policy('1d', '24h 14d');

  test('odd items', () => {
    const odd = [
      { id: 'nan', instant: NaN, seq: 0, pinned: false },
      { id: 'inf', instant: Infinity, seq: 0, pinned: false },
      { id: '-inf', instant: -Infinity, seq: NaN, pinned: false },
      { id: 'huge', instant: 1e300, seq: -5, pinned: false },
      { id: 'ancient', instant: -1e15, seq: 0, pinned: false },
      { id: 'ok', instant: now - H, seq: 0, pinned: false },
      null,
      undefined,
      { id: 42, instant: 'soon', seq: {}, pinned: 'yes' },
    ] as unknown as PlanItem[];
    for (const tz of ['UTC', 'Europe/Berlin', 'local', 'Bogus/Zone', '']) {
      const ds = planRetention(odd, good, now, tz);
      assert.deepEqual(ds.map((d) => d.id), ['nan', 'inf', '-inf', 'huge', 'ancient', 'ok', '', '', '42']);
      // No usable time: kept, like a name that does not parse.
      for (const i of [0, 1, 2, 3, 6, 7, 8]) assert.deepEqual([ds[i]?.action, ds[i]?.rules, ds[i]?.reason], ['keep', ['all'], 'kept: no valid time'], `${tz} ${i}`);
      assert.equal(ds[4]?.action, 'delete');
      assert.deepEqual(ds[5]?.rules, ['newest', 'min', 'hourly', 'daily']);
    }
  });

  test('a sparse array still gets one decision per slot', () => {
    const sparse = new Array<PlanItem>(3);
    sparse[1] = { id: 'a', instant: now - H, seq: 0, pinned: false };
    const ds = planRetention(sparse, good, now, 'UTC');
    assert.deepEqual(ds.map((d) => [d.id, d.action]), [['', 'keep'], ['a', 'keep'], ['', 'keep']]);
  });

  test('odd policies, now and zones', () => {
    const its = items(['20250105T000000+0000', '20250109T000000+0000']);
    const odd = [
      null,
      {},
      { preserveMin: { kind: 'duration', n: NaN, unit: 'q' }, preserve: { h: -3, d: 'x', w: Infinity }, preserveDayOfWeek: 'someday', preserveHourOfDay: 99 },
      { preserveMin: { kind: 'no' }, preserve: null, preserveDayOfWeek: 'monday', preserveHourOfDay: 1.5 },
    ] as unknown as RetentionPolicy[];
    for (const pol of odd) {
      for (const t of [now, NaN, Infinity, -Infinity, 0]) {
        for (const tz of ['UTC', 'Asia/Kathmandu', 42 as unknown as string]) {
          const ds = planRetention(its, pol, t, tz);
          assert.equal(ds.length, 2);
          assert.equal(ds[1]?.action, 'keep');
        }
      }
      assert.equal(typeof formatPolicy(pol), 'string');
    }
    // A malformed policy keeps everything (btrbk's default, preserve_min all).
    assert.deepEqual(kept(planRetention(its, null as unknown as RetentionPolicy, now, 'UTC')).length, 2);
    // Without a usable "now" nothing can be judged: all kept.
    for (const t of [NaN, Infinity, 1e300]) {
      assert.deepEqual(planRetention(its, policy('no', 'no'), t, 'UTC').map((d) => d.reason), ['kept: no valid reference time', 'kept: no valid reference time']);
    }
    assert.deepEqual(planRetention(null as unknown as PlanItem[], good, now, 'UTC'), []);
  });
});
