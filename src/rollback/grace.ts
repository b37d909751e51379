// What rollback and restore leave behind (safety snapshots, renamed-aside subvolumes)
// is the agent's own: well-named in the snapshot directory, so listed and subject to
// retention, but kept for rollback.graceDays after it was made, so that a rollback
// can be undone for that long. Then retention decides as for any snapshot. The grace
// follows from the tag and the instant in the name (both on the filesystem), so a
// lost index changes nothing and nobody has to remember to unpin. Pure.
import { GRACE_TAGS } from './plan.js';

const DAY_MS = 86_400_000;

export interface GraceEntry {
  tag: string | null;
  instant: number;
}

/** Why retention must keep `e` now, or null when the grace does not apply (any more). */
export function graceReason(e: GraceEntry, graceDays: number, now: number): string | null {
  if (e.tag === null || !GRACE_TAGS.includes(e.tag)) return null;
  const until = e.instant + graceDays * DAY_MS;
  return now < until ? `${e.tag}: kept until ${new Date(until).toISOString().replace(/\.\d{3}Z$/, 'Z')} (rollback.graceDays ${graceDays})` : null;
}

export function graceProtect(graceDays: number, now: number): (e: GraceEntry) => string | null {
  return (e) => graceReason(e, graceDays, now);
}
