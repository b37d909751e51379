// The only way pantheragent deletes a subvolume. DESIGN.md section 2: a delete goes
// only to a path that (a) is a subvolume (inode 256), (b) lies directly in a
// configured snapshot or archive directory, (c) has a name in the long-iso format,
// (d) is not the live, mounted or default subvolume. Anything else is refused.
import { basename, dirname, join } from 'node:path';
import { isSubvolumeRoot } from '../util/fsutil.js';
import { defaultSubvolumeId } from './btrfs.js';
import { run } from './exec.js';
import { mountedSubvolIds, mountSourceOf, readMounts } from './mounts.js';
import { parseName } from './names.js';
import type { ListedSubvolume } from './btrfs.js';

export interface DeleteGuard {
  top: string;
  /** Directories (relative to top) that may hold deletable subvolumes. */
  allowedDirs: string[];
  /** Live subvolumes (relative to top), e.g. the configured sources and @root. */
  live: string[];
  subvolumes: ListedSubvolume[];
}

/** Returns why `rel` must not be deleted, or null when every rule allows it. */
export function refusalReason(rel: string, guard: DeleteGuard, mountedIds: Set<number>, defaultId: number): string | null {
  const abs = join(guard.top, rel);
  const dir = dirname(rel);
  if (!guard.allowedDirs.includes(dir)) return `${rel} is not directly in a snapshot or archive directory (${guard.allowedDirs.join(', ')})`;
  if (parseName(basename(rel)) === null) return `${rel} does not have a pantheragent/btrbk snapshot name`;
  if (guard.live.includes(rel)) return `${rel} is a live subvolume`;
  const sv = guard.subvolumes.find((s) => s.path === rel);
  if (!sv || !isSubvolumeRoot(abs)) return `${rel} is not a subvolume`;
  if (mountedIds.has(sv.id)) return `${rel} is mounted`;
  if (sv.id === defaultId) return `${rel} is the default subvolume`;
  const nested = guard.subvolumes.some((s) => s.path.startsWith(rel + '/'));
  if (nested) return `${rel} contains nested subvolumes: move or delete them first`;
  return null;
}

export interface DeleteOutcome {
  deleted: string[];
  failed: { path: string; error: string }[];
}

/**
 * Deletes the given subvolumes (paths relative to top), several per btrfs call.
 * Each path is checked first; a refused path is reported as failed and never
 * reaches btrfs, and one failure does not stop the others.
 */
export function guardedDelete(rels: string[], guard: DeleteGuard, opts: { batch?: number; onProgress?: (done: number) => void } = {}): DeleteOutcome {
  const mounts = readMounts();
  const source = mountSourceOf(mounts, guard.top);
  const mountedIds = source ? mountedSubvolIds(mounts, source) : new Set<number>();
  const defaultId = defaultSubvolumeId(guard.top);
  const out: DeleteOutcome = { deleted: [], failed: [] };
  const allowed: string[] = [];
  for (const rel of rels) {
    const why = refusalReason(rel, guard, mountedIds, defaultId);
    if (why) out.failed.push({ path: rel, error: `refused: ${why}` });
    else allowed.push(rel);
  }
  const size = opts.batch ?? 32;
  for (let i = 0; i < allowed.length; i += size) {
    const chunk = allowed.slice(i, i + size);
    const r = run('btrfs', ['subvolume', 'delete', '--commit-after', ...chunk.map((c) => join(guard.top, c))], { allowFail: true });
    if (r.code === 0) out.deleted.push(...chunk);
    else {
      // One bad path fails the whole call: find it by going one by one.
      for (const c of chunk) {
        if (!isSubvolumeRoot(join(guard.top, c))) {
          out.deleted.push(c);
          continue;
        }
        const one = run('btrfs', ['subvolume', 'delete', '--commit-after', join(guard.top, c)], { allowFail: true });
        if (one.code === 0) out.deleted.push(c);
        else out.failed.push({ path: c, error: one.stderr.trim() || `exit ${one.code}` });
      }
    }
    opts.onProgress?.(out.deleted.length + out.failed.length);
  }
  return out;
}
