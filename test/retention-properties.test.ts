// Properties of the retention planner over seeded random snapshot sets, policies,
// times and zones (a hand-rolled PRNG: no dependency, and a failure names its seed).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { planRetention, type Decision, type PlanItem } from '../src/retention/planner.js';
import { DAYS_OF_WEEK, UNITS, type Preserve, type PreserveMin, type RetentionPolicy, type Unit } from '../src/retention/policy.js';
import { civilFromDays, daysFromCivil, zoneFor } from '../src/retention/calendar.js';
import { prng } from './helpers/prng.js';

const H = 3_600_000;
const D = 24 * H;
const CASES = 400;


type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const int = (r: Rand, n: number) => Math.floor(r() * n);

const ZONES = ['UTC', 'Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kathmandu', 'Pacific/Chatham', 'America/St_Johns', 'Africa/Casablanca', 'local'];

function randomPolicy(r: Rand): RetentionPolicy {
  const preserve: Preserve = {};
  for (const u of UNITS) if (r() < 0.6) preserve[u] = r() < 0.15 ? 'all' : int(r, 12);
  const mins: PreserveMin[] = [{ kind: 'no' }, { kind: 'latest' }, { kind: 'all' }, { kind: 'duration', n: int(r, 4), unit: pick(r, UNITS) }];
  return {
    preserveMin: r() < 0.05 ? mins[2]! : pick(r, [mins[0]!, mins[1]!, mins[3]!]),
    preserve,
    preserveDayOfWeek: pick(r, DAYS_OF_WEEK),
    preserveHourOfDay: r() < 0.4 ? 0 : int(r, 24),
  };
}

/** Snapshots at minute resolution over hours to years, with _N collisions, exact ties, pins and a few in the future. */
function randomItems(r: Rand, now: number): PlanItem[] {
  const n = int(r, 160);
  const out: PlanItem[] = [];
  for (let i = 0; i < n; i++) {
    const prev = out[int(r, out.length)];
    const scale = pick(r, [6 * H, 3 * D, 40 * D, 400 * D, 1500 * D]);
    const instant = prev && r() < 0.1 ? prev.instant : Math.floor((now - r() * scale + (r() < 0.03 ? r() * 10 * H : 0)) / 60_000) * 60_000;
    out.push({ id: `s${i}`, instant, seq: r() < 0.1 ? 1 + int(r, 3) : 0, pinned: r() < 0.08 });
  }
  return out;
}

interface Case {
  seed: number;
  items: PlanItem[];
  policy: RetentionPolicy;
  now: number;
  tz: string;
}

function randomCase(seed: number): Case {
  const r = prng(seed);
  const now = Date.UTC(2020, 0, 1) + r() * 8 * 365 * D;
  return { seed, now, items: randomItems(r, now), policy: randomPolicy(r), tz: pick(r, ZONES) };
}

function forCases(fn: (c: Case, label: string) => void): void {
  for (let seed = 1; seed <= CASES; seed++) {
    const c = randomCase(seed);
    fn(c, `seed ${seed} (${c.tz}, ${JSON.stringify(c.policy)}, now ${new Date(c.now).toISOString()})`);
  }
}

const keptIds = (ds: readonly Decision[]) => new Set(ds.filter((d) => d.action === 'keep').map((d) => d.id));

describe('retention planner properties', () => {
  test('one decision per item, in order; keep has rules, delete has none', () => {
    forCases(({ items, policy, now, tz }, label) => {
      const ds = planRetention(items, policy, now, tz);
      assert.deepEqual(ds.map((d) => d.id), items.map((i) => i.id), label);
      for (const d of ds) {
        assert.ok(d.action === 'keep' || d.action === 'delete', label);
        assert.equal(d.rules.length > 0, d.action === 'keep', `${label}: ${JSON.stringify(d)}`);
        assert.equal(new Set(d.rules).size, d.rules.length, `${label}: duplicate rules ${d.rules}`);
        assert.ok(d.reason.length > 0, label);
        if (d.action === 'delete') assert.match(d.reason, /^not preserved by /, label);
      }
    });
  });

  test('pinned and newest are never condemned', () => {
    forCases(({ items, policy, now, tz }, label) => {
      const ds = planRetention(items, policy, now, tz);
      items.forEach((it, i) => {
        if (it.pinned) assert.deepEqual([ds[i]!.action, ds[i]!.rules[0]], ['keep', 'pinned'], `${label}: ${it.id}`);
      });
      const newest = ds.filter((d) => d.rules.includes('newest'));
      assert.equal(newest.length, items.length ? 1 : 0, label);
      if (!items.length) return;
      assert.equal(newest[0]!.action, 'keep', label);
      const maxKey = items.reduce((m, it) => (it.instant > m.instant || (it.instant === m.instant && it.seq > m.seq) ? it : m));
      const chosen = items.find((it) => it.id === newest[0]!.id)!;
      assert.deepEqual([chosen.instant, chosen.seq], [maxKey.instant, maxKey.seq], label);
    });
  });

  test('deterministic, and independent of input order', () => {
    forCases(({ seed, items, policy, now, tz }, label) => {
      const a = planRetention(items, policy, now, tz);
      assert.deepEqual(planRetention(items, policy, now, tz), a, label);
      const r = prng(seed ^ 0xabcdef);
      const shuffled = items.map((it) => [r(), it] as const).sort((x, y) => x[0] - y[0]).map(([, it]) => it);
      const b = new Map(planRetention(shuffled, policy, now, tz).map((d) => [d.id, d]));
      for (const d of a) assert.deepEqual(b.get(d.id), d, `${label}: ${d.id}`);
    });
  });

  test('planning again over the kept set at the same now condemns nothing', () => {
    forCases(({ items, policy, now, tz }, label) => {
      const first = planRetention(items, policy, now, tz);
      const keptItems = items.filter((_, i) => first[i]!.action === 'keep');
      const again = planRetention(keptItems, policy, now, tz);
      const condemned = again.filter((d) => d.action === 'delete').map((d) => d.id);
      assert.deepEqual(condemned, [], label);
    });
  });

  test('a more generous policy keeps a superset', () => {
    forCases(({ seed, items, policy, now, tz }, label) => {
      const r = prng(seed ^ 0x5151);
      const more: Preserve = { ...policy.preserve };
      const unit: Unit = pick(r, UNITS);
      const cur = more[unit];
      more[unit] = cur === 'all' ? 'all' : r() < 0.2 ? 'all' : (cur ?? 0) + 1 + int(r, 5);
      const generous: RetentionPolicy = { ...policy, preserve: more };
      const base = keptIds(planRetention(items, policy, now, tz));
      const wider = keptIds(planRetention(items, generous, now, tz));
      for (const id of base) assert.ok(wider.has(id), `${label}: ${unit} ${String(cur)} -> ${String(more[unit])} dropped ${id}`);
      const all = keptIds(planRetention(items, { ...policy, preserveMin: { kind: 'all' } }, now, tz));
      assert.equal(all.size, items.length, label);
    });
  });

  test('never throws on garbage', () => {
    const r = prng(99);
    const junk = [NaN, Infinity, -Infinity, -1, 0, 1e300, -1e300, 'x', null, undefined, {}, [], true];
    for (let i = 0; i < 300; i++) {
      const items = Array.from({ length: int(r, 8) }, () =>
        r() < 0.2 ? pick(r, junk) : { id: r() < 0.2 ? pick(r, junk) : `j${int(r, 5)}`, instant: r() < 0.5 ? pick(r, junk) : r() * 4e12, seq: pick(r, junk), pinned: pick(r, junk) },
      ) as unknown as PlanItem[];
      const policy = (r() < 0.5 ? randomPolicy(r) : { preserveMin: pick(r, junk), preserve: { h: pick(r, junk), d: pick(r, junk) }, preserveHourOfDay: pick(r, junk) }) as RetentionPolicy;
      const ds = planRetention(items, policy, pick(r, [...junk, Date.now()]) as number, pick(r, [...ZONES, 'No/Such', '']) as string);
      assert.equal(ds.length, items.length);
      for (const d of ds) assert.equal(typeof d.id, 'string');
    }
  });
});

describe('calendar', () => {
  test('civil dates round-trip over 20,000 years', () => {
    for (let days = -3_700_000; days <= 3_700_000; days += 997) {
      const c = civilFromDays(days);
      assert.equal(daysFromCivil(c.year, c.month, c.mday), days);
      if (days > -700_000 && days < 700_000) {
        const d = new Date(days * D);
        assert.deepEqual([c.year, c.month, c.mday], [d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()]);
      }
    }
  });

  test('zone fields agree with Intl at random instants, visited in random order', () => {
    const zones = ['Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kathmandu', 'Pacific/Chatham', 'Africa/Casablanca', 'Europe/Dublin', 'Antarctica/Troll', 'America/St_Johns', 'Pacific/Apia'];
    const WEEKDAY: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };
    const r = prng(7);
    for (const tz of zones) {
      const fmt = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', weekday: 'short' });
      const zone = zoneFor(tz);
      for (let i = 0; i < 1500; i++) {
        // Years 1890..2045, second resolution: LMT, odd historical offsets, DST rules old and new.
        const t = Math.floor((Date.UTC(1890, 0, 1) + r() * 155 * 365 * D) / 1000) * 1000;
        const p = Object.fromEntries(fmt.formatToParts(t).map((x) => [x.type, x.value]));
        const f = zone.fields(t);
        const want = [Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour), WEEKDAY[p.weekday!]];
        assert.deepEqual([f.year, f.month, f.mday, f.hour, f.wday], want, `${tz} at ${new Date(t).toISOString()}`);
        assert.equal(f.hourIndex, daysFromCivil(f.year, f.month, f.mday) * 24 + f.hour, `${tz} hourIndex`);
      }
    }
  });

  test('every second around odd transitions (Kathmandu +0530 -> +0545, Lord Howe half-hour DST)', () => {
    const cases: [string, string][] = [
      ['Asia/Kathmandu', '1985-12-31T18:30:00Z'],
      ['Australia/Lord_Howe', '2025-04-05T15:00:00Z'],
      ['Australia/Lord_Howe', '2024-10-05T15:30:00Z'],
    ];
    for (const [tz, at] of cases) {
      const fmt = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', hour: 'numeric', minute: 'numeric' });
      const zone = zoneFor(tz);
      const center = Date.parse(at);
      for (let t = center - 2 * H; t <= center + 2 * H; t += 7_000) {
        const p = Object.fromEntries(fmt.formatToParts(t).map((x) => [x.type, x.value]));
        assert.equal(zone.fields(t).hour, Number(p.hour), `${tz} at ${new Date(t).toISOString()}`);
      }
    }
  });
});
