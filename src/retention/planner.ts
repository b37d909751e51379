// The retention planner: a pure function from (snapshots of one source, policy, now,
// time zone) to one keep/delete decision per snapshot, each with its reason.
//
// It reproduces btrbk's scheduler (btrbk 0.32.5, `sub schedule`) rule for rule, so
// that a policy means the same here as in btrbk.conf(5) and results can be checked
// against btrbk itself (test/retention-btrbk.test.ts does exactly that). The parts of
// btrbk's behaviour that are easy to get wrong, and that this file follows on purpose:
//
// - "N periods back" is counted on the local wall clock, never in elapsed time: hours
//   are local clock hours (a fall-back night's two 02:00 hours are one hour; a
//   spring-forward night has no 02:00 hour), days begin at preserveHourOfDay, weeks on
//   preserveDayOfWeek, and a snapshot's month is the month of the start of its week
//   (so Tuesday 1 October, with weeks starting on Sunday, belongs to September).
//   `now`'s own month is taken as is, without that correction.
// - N counts inclusively from the current period: "2d" keeps the first snapshot of
//   today, of yesterday and of the day before. "0d" (any 0) disables the unit.
// - Each level only looks at the survivors of the level below: the first snapshot of
//   each hour, of those the first of each day, then of each week, month, year.
// - Snapshots dated after `now` (by local wall-clock hour) are always kept.
// - preserveMin latest keeps the newest by (instant, _N).
//
// Our additions beyond btrbk:
// - Pinned snapshots are kept and take no part in the schedule: the plan for the
//   others is btrbk's plan for the unpinned set. (Letting them take part, as plain
//   snapshots btrbk would see, is not stable: with preserveHourOfDay > 0 btrbk puts
//   the hours before it on the first day of a week that begins on a month's last day
//   into the new month, so a kept pinned snapshot there could take over "first weekly
//   of the month" once an older one is gone, and a second prune would delete more.)
// - The newest snapshot is kept even when btrbk would drop it (it does when, say, it
//   is the second of its day under "7d" with preserveMin 1h).
// - A snapshot whose instant is not a usable time is kept (rule 'all'), like a foreign
//   name; without a usable `now`, everything is kept. Deterministic; never throws.

import { formatPreserve, formatPreserveMin, DAYS_OF_WEEK, UNITS, type DayOfWeek, type Preserve, type PreserveMin, type RetentionPolicy, type Unit } from './policy.js';
import { zoneFor, type WallFields } from './calendar.js';

export interface PlanItem {
  id: string;
  /** ms since the epoch: the UTC instant parsed from the name. */
  instant: number;
  /** The _N suffix, 0 if none. */
  seq: number;
  pinned: boolean;
}

export type Rule = 'pinned' | 'newest' | 'min' | 'hourly' | 'daily' | 'weekly' | 'monthly' | 'yearly' | 'latest' | 'all';

export interface Decision {
  id: string;
  action: 'keep' | 'delete';
  rules: Rule[];
  /** For people, btrbk-like: "daily 3, weekly 0" (the number is how many periods back), or why it goes. */
  reason: string;
}

const UNIT_RULE: Record<Unit, Rule> = { h: 'hourly', d: 'daily', w: 'weekly', m: 'monthly', y: 'yearly' };

interface Policy {
  min: PreserveMin;
  preserve: Preserve;
  dow: DayOfWeek;
  hod: number;
}

/** One snapshot as the scheduler sees it: btrbk's per-snapshot deltas to now (null: no usable time). */
interface Entry {
  index: number;
  id: string;
  instant: number;
  seq: number;
  pinned: boolean;
  delta: Record<Unit, number> | null;
  kept: { rule: Rule; text: string }[];
}

type Scheduled = Entry & { delta: Record<Unit, number> };

/** The Date range: anything else is no time at all. */
const MAX_TIME = 8.64e15;
const validTime = (t: unknown): t is number => typeof t === 'number' && Number.isFinite(t) && Math.abs(t) <= MAX_TIME;

/**
 * One decision per item, in input order. Deterministic; never throws. `now` in ms
 * since the epoch; `timezone` an IANA name or 'local' (the process's zone).
 */
export function planRetention(items: readonly PlanItem[], policy: RetentionPolicy, now: number, timezone: string): Decision[] {
  if (!Array.isArray(items)) return [];
  try {
    // Without a usable reference time nothing can be judged: keep everything.
    if (!validTime(now)) return keepAll(items, 'kept: no valid reference time');
    return plan(items, normalizePolicy(policy), now, timezone);
  } catch (e) {
    // Unreachable by design; if it ever happens, deleting nothing is the safe answer.
    return keepAll(items, `kept: planner error (${e instanceof Error ? e.message : String(e)})`);
  }
}

function keepAll(items: readonly unknown[], reason: string): Decision[] {
  return Array.from({ length: items.length }, (_, i) => ({ id: idOf(items[i]), action: 'keep', rules: ['all'], reason }));
}

/** "min 1d, preserve 24h 14d 8w 6m", with "(monday, 06:00)" appended when week or day start differ from btrbk's defaults. */
export function formatPolicy(policy: RetentionPolicy): string {
  const p = normalizePolicy(policy);
  const base = `min ${formatPreserveMin(p.min)}, preserve ${formatPreserve(p.preserve)}`;
  return p.dow === 'sunday' && p.hod === 0 ? base : `${base} (${p.dow}, ${String(p.hod).padStart(2, '0')}:00)`;
}

function plan(items: readonly PlanItem[], policy: Policy, now: number, timezone: string): Decision[] {
  const zone = zoneFor(timezone);
  const nowFields = zone.fields(now);
  // Array.from, not map: a sparse array still gets one decision per slot.
  const entries = Array.from({ length: items.length }, (_, i) => toEntry(items[i], i, zone.fields.bind(zone), nowFields, policy));
  // A snapshot without a usable time cannot be judged, so like a foreign name it is never deleted.
  const timeless = entries.filter((e) => e.delta === null);
  for (const e of timeless) e.kept.push({ rule: 'all', text: 'kept: no valid time' });
  // btrbk sorts ascending by (time, _N); id and position only make ties deterministic.
  const order = entries.filter((e) => e.delta !== null).sort(compareEntries);
  // Pinned snapshots are exempt from retention: kept, and invisible to the schedule.
  const scheduled = order.filter((e): e is Scheduled => !e.pinned);
  applyMin(scheduled, policy.min);
  applyPreserve(scheduled, policy.preserve);
  const newest = order[order.length - 1];
  if (newest) newest.kept.unshift({ rule: 'newest', text: 'newest' });
  for (const e of entries) if (e.pinned) e.kept.unshift({ rule: 'pinned', text: 'pinned' });
  const condemned = deleteReason(policy);
  return entries.map((e) => decide(e, condemned));
}

function decide(e: Entry, condemned: string): Decision {
  if (e.kept.length === 0) return { id: e.id, action: 'delete', rules: [], reason: condemned };
  const rules: Rule[] = [];
  for (const k of e.kept) if (!rules.includes(k.rule)) rules.push(k.rule);
  return { id: e.id, action: 'keep', rules, reason: e.kept.map((k) => k.text).join(', ') };
}

function deleteReason(p: Policy): string {
  const min = formatPreserveMin(p.min);
  return UNITS.some((u) => p.preserve[u] !== undefined) ? `not preserved by ${formatPreserve(p.preserve)} (min ${min})` : `not preserved by min ${min}`;
}

function compareEntries(a: Entry, b: Entry): number {
  return a.instant - b.instant || a.seq - b.seq || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) || a.index - b.index;
}

// ---- per-snapshot calendar deltas (btrbk's first pass) -------------------------

function toEntry(raw: unknown, index: number, fieldsOf: (t: number) => WallFields, now: WallFields, p: Policy): Entry {
  const it = (typeof raw === 'object' && raw !== null ? raw : {}) as Partial<PlanItem>;
  const instant = validTime(it.instant) ? it.instant : NaN;
  const seq = typeof it.seq === 'number' && Number.isFinite(it.seq) ? it.seq : 0;
  return {
    index,
    id: idOf(raw),
    instant,
    seq,
    pinned: it.pinned === true,
    delta: Number.isNaN(instant) ? null : deltas(fieldsOf(instant), now, p),
    kept: [],
  };
}

/**
 * How many hours/days/weeks/months/years back from now a snapshot lies, the way
 * btrbk counts: on local wall-clock fields, days starting at hod, weeks at dow.
 */
function deltas(f: WallFields, now: WallFields, p: Policy): Record<Unit, number> {
  let fromHod = f.hour - p.hod;
  let fromEow = f.wday - DAYS_OF_WEEK.indexOf(p.dow);
  if (fromHod < 0) {
    // Before the day's start hour: the snapshot belongs to the previous day.
    fromHod += 24;
    fromEow -= 1;
  }
  if (fromEow < 0) fromEow += 7;
  // Months (and years) begin with the first week that starts in them: a snapshot
  // whose week began in the previous month counts to that month.
  let month = f.month;
  let year = f.year;
  if (f.mday <= fromEow) {
    month -= 1;
    if (month < 0) {
      month = 11;
      year -= 1;
    }
  }
  const h = now.hourIndex - f.hourIndex;
  // btrbk uses Perl's int(), which truncates toward zero (matters only for future dates).
  const d = Math.trunc((h + fromHod) / 24) + 0;
  const w = Math.trunc((d + fromEow) / 7) + 0;
  const y = now.year - year;
  return { h, d, w, m: y * 12 + (now.month - month), y };
}

// ---- the rules -------------------------------------------------------------------

function applyMin(order: readonly Scheduled[], min: PreserveMin): void {
  for (const e of order) {
    // btrbk keeps anything dated in the future, whatever the policy.
    if (e.delta.h < 0) e.kept.push({ rule: 'min', text: `future +${-e.delta.h}h` });
    if (min.kind === 'all') e.kept.push({ rule: 'all', text: 'min all' });
    else if (min.kind === 'duration' && e.delta[min.unit] <= min.n) e.kept.push({ rule: 'min', text: `min ${e.delta[min.unit]}${min.unit}` });
  }
  const latest = order[order.length - 1];
  if (min.kind === 'latest' && latest) latest.kept.push({ rule: 'latest', text: 'latest' });
}

/**
 * The first snapshot of each hour; of those, the first of each day; of those, the
 * first of each week, month, year. Each unit keeps its firsts that lie at most N back.
 */
function applyPreserve(order: readonly Scheduled[], preserve: Preserve): void {
  let candidates = order;
  for (const unit of UNITS) {
    candidates = firstPerPeriod(candidates, unit);
    const n = preserve[unit];
    for (const e of candidates) {
      // N = 0 disables the unit, as in btrbk (Perl's 0 is false).
      if (n === 'all' || (typeof n === 'number' && n !== 0 && e.delta[unit] <= n)) {
        e.kept.push({ rule: UNIT_RULE[unit], text: `${UNIT_RULE[unit]} ${e.delta[unit]}` });
      }
    }
  }
}

/** The first entry seen per period (entries come oldest first), returned oldest period first. */
function firstPerPeriod(entries: readonly Scheduled[], unit: Unit): Scheduled[] {
  const first = new Map<number, Scheduled>();
  for (const e of entries) if (!first.has(e.delta[unit])) first.set(e.delta[unit], e);
  return [...first.entries()].sort((a, b) => b[0] - a[0]).map(([, e]) => e);
}

// ---- input hygiene ---------------------------------------------------------------

function idOf(raw: unknown): string {
  const id = typeof raw === 'object' && raw !== null ? (raw as { id?: unknown }).id : undefined;
  if (typeof id === 'string') return id;
  return typeof id === 'number' || typeof id === 'bigint' || typeof id === 'boolean' ? String(id) : '';
}

/** Anything malformed falls back to the safe side: keep all, btrbk's default. */
function normalizePolicy(raw: RetentionPolicy): Policy {
  const p = (typeof raw === 'object' && raw !== null ? raw : {}) as Partial<RetentionPolicy>;
  return {
    min: normalizeMin(p.preserveMin),
    preserve: normalizePreserve(p.preserve),
    dow: (DAYS_OF_WEEK as readonly unknown[]).includes(p.preserveDayOfWeek) ? (p.preserveDayOfWeek as DayOfWeek) : 'sunday',
    hod: Number.isInteger(p.preserveHourOfDay) && p.preserveHourOfDay! >= 0 && p.preserveHourOfDay! <= 23 ? p.preserveHourOfDay! : 0,
  };
}

function normalizeMin(m: unknown): PreserveMin {
  const v = (typeof m === 'object' && m !== null ? m : {}) as Partial<Record<string, unknown>>;
  if (v.kind === 'latest' || v.kind === 'no' || v.kind === 'all') return { kind: v.kind };
  if (v.kind === 'duration' && typeof v.n === 'number' && !Number.isNaN(v.n) && UNITS.includes(v.unit as Unit)) {
    return { kind: 'duration', n: v.n, unit: v.unit as Unit };
  }
  return { kind: 'all' };
}

function normalizePreserve(p: unknown): Preserve {
  const out: Preserve = {};
  if (typeof p !== 'object' || p === null) return out;
  for (const u of UNITS) {
    const v = (p as Record<string, unknown>)[u];
    if (v === 'all' || (typeof v === 'number' && !Number.isNaN(v))) out[u] = v;
  }
  return out;
}
