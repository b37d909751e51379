// Retention policy syntax, as btrbk.conf(5) defines it (RETENTION POLICY).
// Pure parsing: the config schema and the planner share it.

export type Unit = 'h' | 'd' | 'w' | 'm' | 'y';
export const UNITS: readonly Unit[] = ['h', 'd', 'w', 'm', 'y'];
export const UNIT_NAMES: Record<Unit, string> = { h: 'hourly', d: 'daily', w: 'weekly', m: 'monthly', y: 'yearly' };

export type PreserveMin =
  | { kind: 'all' }
  | { kind: 'latest' }
  | { kind: 'no' }
  | { kind: 'duration'; n: number; unit: Unit };

/** Per unit: how many periods back to keep the first snapshot of each, or 'all' for `*`. */
export type Preserve = Partial<Record<Unit, number | 'all'>>;

export const DAYS_OF_WEEK = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'] as const;
export type DayOfWeek = (typeof DAYS_OF_WEEK)[number];

export interface RetentionPolicy {
  preserveMin: PreserveMin;
  preserve: Preserve;
  preserveDayOfWeek: DayOfWeek;
  preserveHourOfDay: number;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string };

export function parsePreserveMin(text: string): ParseResult<PreserveMin> {
  const s = text.trim();
  if (s === 'all' || s === 'latest' || s === 'no') return { ok: true, value: { kind: s } };
  const m = /^([0-9]+)([hdwmy])$/.exec(s);
  if (!m) return { ok: false, error: `"${text}" is not a preserveMin: use all, latest, no, or N followed by h, d, w, m or y (e.g. "2d")` };
  return { ok: true, value: { kind: 'duration', n: Number(m[1]), unit: m[2] as Unit } };
}

export function parsePreserve(text: string): ParseResult<Preserve> {
  const s = text.trim();
  if (s === 'no' || s === '') return { ok: true, value: {} };
  const out: Preserve = {};
  for (const tok of s.split(/\s+/)) {
    const m = /^([0-9]+|\*)([hdwmy])$/.exec(tok);
    if (!m) return { ok: false, error: `"${tok}" in preserve "${text}" is not N or * followed by h, d, w, m or y (e.g. "24h 14d 8w 6m")` };
    const unit = m[2] as Unit;
    if (out[unit] !== undefined) return { ok: false, error: `preserve "${text}" names the unit "${unit}" twice` };
    out[unit] = m[1] === '*' ? 'all' : Number(m[1]);
  }
  return { ok: true, value: out };
}

export function formatPreserveMin(p: PreserveMin): string {
  return p.kind === 'duration' ? `${p.n}${p.unit}` : p.kind;
}

export function formatPreserve(p: Preserve): string {
  const parts = UNITS.filter((u) => p[u] !== undefined).map((u) => `${p[u] === 'all' ? '*' : p[u]}${u}`);
  return parts.length ? parts.join(' ') : 'no';
}
