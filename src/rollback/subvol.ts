// Small shared acts of rollback and restore: identity checks (a path can be swapped
// between check and act, a subvolume id cannot) and the tags of what they create.
import { join } from 'node:path';
import { showSubvolume } from '../btrfs/btrfs.js';
import { run } from '../btrfs/exec.js';
import { RefusedError } from '../errors.js';
import type { SubvolumeInfo } from '../btrfs/parse.js';
import { readMeta, writeMeta } from '../snapshots/meta.js';
import { exists, isSubvolumeRoot } from '../util/fsutil.js';

/**
 * Id of the subvolume holding `path`, or null when btrfs cannot tell (not Btrfs, gone).
 * One ioctl: where only the id is checked, this rather than identity(), whose
 * `btrfs subvolume show` searches every subvolume of the filesystem for snapshots.
 */
export function rootIdOf(path: string): number | null {
  const r = run('btrfs', ['inspect-internal', 'rootid', path], { allowFail: true });
  return r.code === 0 ? Number(r.stdout.trim()) : null;
}

/** id and UUIDs of the subvolume at `path`, or null when it is not a subvolume. */
export function identity(path: string): { id: number; uuid: string | null; parentUuid: string | null } | null {
  if (!isSubvolumeRoot(path)) return null;
  const s = showSubvolume(path);
  return { id: s.id, uuid: s.uuid, parentUuid: s.parentUuid };
}

/** Refuses unless `path` is still subvolume `id` (what the plan was made for). */
export function requireId(path: string, rel: string, id: number): void {
  const now = isSubvolumeRoot(path) ? rootIdOf(path) : null;
  if (now !== id) {
    throw new RefusedError(`${rel} is no longer the subvolume the plan was made for (id ${id}, now ${now !== null ? `id ${now}` : 'not a subvolume'}): nothing more was changed; run the command again`);
  }
}

/**
 * Tags, in one write of meta.json. `pending`: snapshots about to be made, as marks
 * that bind to the new snapshot's UUID once it exists (as `snapshot --tag` does), so
 * a crash before the snapshot leaves a mark that expires, never a snapshot without
 * its tag. `uuid`: an existing subvolume (the aside: the live subvolume renamed, its
 * UUID known in advance).
 */
export function addTags(top: string, subvolumes: readonly SubvolumeInfo[], opts: { pending: { rel: string; parentUuid: string; tag: string }[]; uuid?: { uuid: string; tag: string } }): void {
  const meta = readMeta(top, subvolumes);
  for (const m of opts.pending) meta.pending.push({ rel: m.rel, parentUuid: m.parentUuid, pin: false, tag: m.tag, at: Date.now() });
  if (opts.uuid) meta.tags[opts.uuid.uuid] = opts.uuid.tag;
  writeMeta(top, meta);
}

/** Undo addTags for what was never made or moved (the command stopped before it). */
export function dropTags(top: string, subvolumes: readonly SubvolumeInfo[], opts: { pendingRels: string[]; uuid?: { uuid: string; tag: string } }): void {
  const meta = readMeta(top, subvolumes);
  const before = JSON.stringify(meta);
  meta.pending = meta.pending.filter((p) => !(opts.pendingRels.includes(p.rel) && !exists(join(top, p.rel))));
  if (opts.uuid && meta.tags[opts.uuid.uuid] === opts.uuid.tag) delete meta.tags[opts.uuid.uuid];
  if (JSON.stringify(meta) !== before) writeMeta(top, meta);
}
