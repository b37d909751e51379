// Selectors (DESIGN.md section 13), accepted wherever a snapshot or archived root is
// named: the full name, `latest`, `previous-boot`, or an age such as `3h-ago`.
// Pure over the entries and `now`, so diff, rollback and restore resolve a selector
// the same way and tests need no filesystem or clock.
import { compareStrings } from '../util/text.js';

/** What a selector needs of an inventory entry (snapshots/inventory.ts Entry fits). */
export interface Selectable {
  kind: 'snapshot' | 'root';
  name: string;
  /** Path from the top level, e.g. "@old_roots/@root.20261125T220000+0000". */
  rel: string;
  instant: number;
  seq: number;
}

export type Selection<T> = { ok: true; entry: T; how: string } | { ok: false; error: string };

const UNIT_MS = { h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 } as const;
const AGE_RE = /^(\d{1,6})([hdw])-ago$/;

/** "2d-ago" -> 172800000; null when the text is not an age selector. */
export function parseAgeSelector(selector: string): number | null {
  const m = AGE_RE.exec(selector);
  if (!m) return null;
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}

/** Newest first; `_N` breaks ties within one second, the name breaks the rest (stable output). */
function newestFirst<T extends Selectable>(entries: readonly T[]): T[] {
  return [...entries].sort((a, b) => b.instant - a.instant || b.seq - a.seq || compareStrings(b.name, a.name));
}

const noun = (entries: readonly Selectable[]) =>
  entries.length > 0 && entries.every((e) => e.kind === 'root') ? 'archived root' : entries.every((e) => e.kind === 'snapshot') ? 'snapshot' : 'snapshot or archived root';

function available(sorted: readonly Selectable[]): string {
  if (sorted.length === 0) return 'there are none';
  const shown = sorted.slice(0, 5).map((e) => e.name);
  return `newest: ${shown.join(', ')}${sorted.length > shown.length ? `, … (${sorted.length} in all)` : ''}`;
}

/**
 * Resolve `selector` among `entries` (the caller narrows them to one source first:
 * `latest` means the newest of whatever it is given).
 *
 * - full name or path from the top level: that entry;
 * - `latest`: the newest entry;
 * - `previous-boot`: the newest archived root (entries of kind "root" only);
 * - `Nh-ago`, `Nd-ago`, `Nw-ago`: the newest entry at least that old at `now`.
 *
 * A name is matched before the keywords, so an entry literally called "latest" is
 * still reachable by its name. `what` names the entries in error messages
 * (e.g. "archived root of @root"); by default it is derived from their kind.
 */
export function selectEntry<T extends Selectable>(entries: readonly T[], selector: string, now: number, what: string = noun(entries)): Selection<T> {
  const sorted = newestFirst(entries);
  const byName = sorted.find((e) => e.name === selector || e.rel === selector);
  if (byName) return { ok: true, entry: byName, how: `by name` };

  if (selector === 'latest') {
    const e = sorted[0];
    return e ? { ok: true, entry: e, how: `latest: the newest ${what}` } : { ok: false, error: `"latest" names the newest ${what}, but there are none` };
  }
  if (selector === 'previous-boot') {
    const roots = sorted.filter((e) => e.kind === 'root');
    const e = roots[0];
    if (e) return { ok: true, entry: e, how: 'previous-boot: the newest archived root' };
    return {
      ok: false,
      error: sorted.length
        ? `"previous-boot" names an archived root; for a ${what}, use "latest", an age such as "2d-ago", or a name`
        : '"previous-boot" names the newest archived root, but there are none yet (the first wipe makes one at the next boot)',
    };
  }
  const age = parseAgeSelector(selector);
  if (age !== null) {
    const e = sorted.find((x) => x.instant <= now - age);
    if (e) return { ok: true, entry: e, how: `${selector}: the newest ${what} at least that old` };
    return { ok: false, error: `no ${what} is at least ${selector.replace(/-ago$/, '')} old (${available(sorted)})` };
  }
  return {
    ok: false,
    error: `no ${what} is named "${selector}" (${available(sorted)}); selectors: a full name, latest, previous-boot, or an age such as 3h-ago, 2d-ago, 1w-ago`,
  };
}
