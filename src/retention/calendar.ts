// Wall-clock calendar fields of an instant in a time zone, the way btrbk sees them:
// btrbk calls Perl's localtime() under the process's TZ and then does its arithmetic
// on the local wall-clock fields (it never looks at real elapsed time). So all the
// planner needs is, per instant: local year, month, day, hour, weekday, and an
// "hour index" that numbers local wall-clock hours (hour 02 of a fall-back night is
// one index, the skipped hour of a spring-forward night has none in use).
//
// No tz library: offsets come from Intl.DateTimeFormat, which is expensive per call,
// so each zone keeps one cached formatter and a cache of offsets per block of time.

const MS_HOUR = 3_600_000;
const MS_DAY = 86_400_000;
/** The range of a JavaScript Date; anything outside is clamped into it. */
const MAX_INSTANT = 8.64e15;
/** Offsets are only looked up between these (years 1000 and 9999): Intl output stays 4-digit, no era. */
const LOOKUP_LO = Date.UTC(1000, 0, 1);
const LOOKUP_HI = Date.UTC(9999, 11, 31);
/**
 * Offsets are cached per block of this length. A block whose two ends have the same
 * offset is taken to have it throughout, and one whose ends differ to change once
 * (found by binary search): that holds as long as no zone makes two transitions
 * within one hour, which the tz database has never recorded. An hour keeps the
 * formatter calls to about one per hour of snapshot history.
 */
const BLOCK = MS_HOUR;
const CACHE_LIMIT = 1_000_000;

export interface WallFields {
  year: number;
  /** 0..11, like localtime()'s tm_mon. */
  month: number;
  /** 1..31 */
  mday: number;
  /** 0..23 */
  hour: number;
  /** 0 = Sunday .. 6 = Saturday, like tm_wday. */
  wday: number;
  /** Local wall-clock hours since 1970-01-01T00 local: btrbk's timegm() of the local fields, in hours. */
  hourIndex: number;
}

export interface Zone {
  /** The zone actually used (an unknown name falls back to UTC, as glibc does for an unknown TZ). */
  readonly name: string;
  fields(instant: number): WallFields;
}

const floorDiv = (a: number, b: number) => Math.floor(a / b);
const mod = (a: number, b: number) => a - b * Math.floor(a / b);

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm; any year, no 2-digit-year trap). */
export function daysFromCivil(year: number, month0: number, mday: number): number {
  const y = month0 < 2 ? year - 1 : year;
  const m = month0 + 1;
  const era = floorDiv(y, 400);
  const yoe = y - era * 400;
  const doy = floorDiv(153 * (m > 2 ? m - 3 : m + 9) + 2, 5) + mday - 1;
  const doe = yoe * 365 + floorDiv(yoe, 4) - floorDiv(yoe, 100) + doy;
  return era * 146097 + doe - 719468;
}

/** Inverse of daysFromCivil. */
export function civilFromDays(days: number): { year: number; month: number; mday: number } {
  const z = days + 719468;
  const era = floorDiv(z, 146097);
  const doe = z - era * 146097;
  const yoe = floorDiv(doe - floorDiv(doe, 1460) + floorDiv(doe, 36524) - floorDiv(doe, 146096), 365);
  const doy = doe - (365 * yoe + floorDiv(yoe, 4) - floorDiv(yoe, 100));
  const mp = floorDiv(5 * doy + 2, 153);
  const mday = doy - floorDiv(153 * mp + 2, 5) + 1;
  const month = mp < 10 ? mp + 2 : mp - 10;
  return { year: yoe + era * 400 + (month < 2 ? 1 : 0), month, mday };
}

/** Clamp to the Date range; NaN becomes the earliest instant (the planner never passes one). */
function clampInstant(t: number): number {
  if (Number.isNaN(t)) return -MAX_INSTANT;
  return Math.min(MAX_INSTANT, Math.max(-MAX_INSTANT, t));
}

/** Fields of a wall-clock time given as ms since the epoch "as if UTC" (instant + offset). */
function fieldsOfWall(wall: number): WallFields {
  const days = floorDiv(wall, MS_DAY);
  const { year, month, mday } = civilFromDays(days);
  return { year, month, mday, hour: floorDiv(wall - days * MS_DAY, MS_HOUR), wday: mod(days + 4, 7), hourIndex: floorDiv(wall, MS_HOUR) };
}

class UtcZone implements Zone {
  constructor(readonly name: string) {}
  fields(instant: number): WallFields {
    return fieldsOfWall(clampInstant(instant));
  }
}

/** The process's own zone: Date's local getters are exactly that, and cheap. */
class LocalZone implements Zone {
  readonly name = 'local';
  fields(instant: number): WallFields {
    const d = new Date(clampInstant(instant));
    const year = d.getFullYear();
    const month = d.getMonth();
    const mday = d.getDate();
    const hour = d.getHours();
    if (Number.isNaN(year)) return fieldsOfWall(clampInstant(instant)); // local offset pushed it out of range
    return { year, month, mday, hour, wday: d.getDay(), hourIndex: daysFromCivil(year, month, mday) * 24 + hour };
  }
}

class IanaZone implements Zone {
  private readonly offsets = new Map<number, number>();
  /** Per block start: the instant where the offset changes inside the block, or absent. */
  private readonly transitions = new Map<number, number>();

  constructor(
    readonly name: string,
    private readonly fmt: Intl.DateTimeFormat,
  ) {}

  fields(instant: number): WallFields {
    const t = clampInstant(instant);
    return fieldsOfWall(t + this.offsetAt(t));
  }

  private offsetAt(t: number): number {
    if (t < LOOKUP_LO) return this.exactOffset(LOOKUP_LO);
    if (t > LOOKUP_HI) return this.exactOffset(LOOKUP_HI);
    const start = floorDiv(t, BLOCK) * BLOCK;
    const end = start + BLOCK;
    const before = this.boundaryOffset(start);
    const after = this.boundaryOffset(end);
    if (before === after) return before;
    const at = this.transitionIn(start, end, after);
    return t < at ? before : after;
  }

  private boundaryOffset(t: number): number {
    let o = this.offsets.get(t);
    if (o === undefined) {
      // A daemon plans the same hours again and again; bound the cache anyway.
      if (this.offsets.size >= CACHE_LIMIT) {
        this.offsets.clear();
        this.transitions.clear();
      }
      o = this.exactOffset(t);
      this.offsets.set(t, o);
    }
    return o;
  }

  /** First whole second in (start, end] whose offset is `after`: a binary search, cached per block. */
  private transitionIn(start: number, end: number, after: number): number {
    const cached = this.transitions.get(start);
    if (cached !== undefined) return cached;
    let lo = start; // offset here is "before"
    let hi = end; // offset here is "after"
    while (hi - lo > 1000) {
      const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
      if (this.exactOffset(mid) === after) hi = mid;
      else lo = mid;
    }
    this.transitions.set(start, hi);
    return hi;
  }

  /** Offset in ms at instant t (whole seconds, as the zone database has them). */
  private exactOffset(t: number): number {
    const p: Record<string, number> = {};
    for (const part of this.fmt.formatToParts(t)) {
      if (part.type !== 'literal') p[part.type] = Number(part.value);
    }
    const wall = Date.UTC(p.year ?? 1970, (p.month ?? 1) - 1, p.day ?? 1, p.hour ?? 0, p.minute ?? 0, p.second ?? 0);
    const offset = wall - floorDiv(t, 1000) * 1000;
    return Number.isFinite(offset) ? offset : 0;
  }
}

const zones = new Map<string, Zone>();

function makeZone(timezone: string): Zone {
  if (timezone === 'local') return new LocalZone();
  if (timezone === 'UTC' || timezone === 'Etc/UTC') return new UtcZone(timezone);
  try {
    const fmt = new Intl.DateTimeFormat('en-US-u-nu-latn', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    return new IanaZone(fmt.resolvedOptions().timeZone, fmt);
  } catch {
    // Not a zone Intl knows: glibc treats an unknown TZ as UTC, and so does btrbk then.
    return new UtcZone('UTC');
  }
}

/** The zone for an IANA name or 'local', cached: formatters are costly to build. */
export function zoneFor(timezone: string): Zone {
  const key = typeof timezone === 'string' ? timezone : 'UTC';
  let z = zones.get(key);
  if (!z) {
    z = makeZone(key);
    zones.set(key, z);
  }
  return z;
}
