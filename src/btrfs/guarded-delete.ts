// The only way pantheragent deletes a subvolume. DESIGN.md section 2: a delete goes
// only to a subvolume that (a) is a subvolume (inode 256), (b) lies directly in a
// configured snapshot or archive directory, reached without following a link,
// (c) has a name in the long-iso format, (d) is not the live, default or mounted
// subvolume, in any mount namespace, and (e) is read-only, as everything the agent
// makes there is. The check records the subvolume's id and UUID; right before the
// delete a fresh listing must still show that id at that path, with that UUID,
// read-only; then the delete names the id, never a path: a path can be swapped for a
// link between check and act, an id cannot.
import { lstatSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { isSubvolumeRoot } from '../util/fsutil.js';
import { defaultSubvolumeId, listSubvolumes, type ListedSubvolume } from './btrfs.js';
import { run } from './exec.js';
import { mountedAnywhere } from './mounts.js';
import { parseName } from './names.js';

export interface DeleteGuard {
  top: string;
  /** Directories (relative to top) that may hold deletable subvolumes. */
  allowedDirs: string[];
  /** Live subvolumes (relative to top), e.g. the configured sources and @root. */
  live: string[];
  subvolumes: ListedSubvolume[];
}

/** What the check saw: the delete acts on this identity only. */
export interface CheckedSubvolume {
  rel: string;
  id: number;
  uuid: string;
}

const isRealDir = (path: string) => {
  try {
    const st = lstatSync(path);
    return st.isDirectory() && !st.isSymbolicLink();
  } catch {
    return false;
  }
};

/** Returns why `rel` must not be deleted, or the identity to delete. */
export function check(rel: string, guard: DeleteGuard, mounted: Map<number, string[]>, defaultId: number): CheckedSubvolume | string {
  const dir = dirname(rel);
  if (!guard.allowedDirs.includes(dir)) return `${rel} is not directly in a snapshot or archive directory (${guard.allowedDirs.join(', ')})`;
  if (parseName(basename(rel)) === null) return `${rel} does not have a pantheragent/btrbk snapshot name`;
  if (guard.live.includes(rel)) return `${rel} is a live subvolume`;
  if (dir.split('/').some((_, i, parts) => !isRealDir(join(guard.top, ...parts.slice(0, i + 1))))) return `${dir} is not a real directory on the top level (a link?)`;
  const sv = guard.subvolumes.find((s) => s.path === rel);
  if (!sv || !isSubvolumeRoot(join(guard.top, rel))) return `${rel} is not a subvolume`;
  if (sv.odd) return `${rel} has an odd name (${sv.odd}): left alone`;
  const where = mounted.get(sv.id);
  if (where) return `${rel} is mounted (${where.join(', ')})`;
  if (sv.id === defaultId) return `${rel} is the default subvolume`;
  const nested = guard.subvolumes.some((s) => s.path.startsWith(rel + '/'));
  if (nested) return `${rel} contains nested subvolumes: move or delete them first`;
  if (!sv.readonly) return `${rel} is writable: pantheragent only makes read-only snapshots and archived roots, so it is not ours`;
  return { rel, id: sv.id, uuid: sv.uuid };
}

/** Why a checked subvolume changed since its check, by a fresh listing; null when it is the same. */
function changedSince(c: CheckedSubvolume, now: Map<number, ListedSubvolume>): string | null {
  const sv = now.get(c.id);
  if (!sv) return null; // already gone: nothing to delete
  if (sv.uuid !== c.uuid) return `subvolume ${c.id} is no longer ${c.rel} (UUID changed)`;
  if (sv.path !== c.rel) return `subvolume ${c.id} moved from ${c.rel} to ${sv.path} since it was checked`;
  if (!sv.readonly) return `${c.rel} became writable since it was checked`;
  return null;
}

export interface DeleteOptions {
  batch?: number;
  onProgress?: (done: number) => void;
  /**
   * A listing taken moments ago under the lock, standing in for the first batch's fresh
   * one (the hourly run deletes a handful: one listing fewer). Later batches list again.
   */
  firstListing?: ListedSubvolume[];
}

export interface DeleteOutcome {
  deleted: string[];
  failed: { path: string; error: string }[];
}

/** The check half: every path's refusal, or its identity. Fails closed when mounts cannot be read. */
export function checkAll(rels: string[], guard: DeleteGuard): { allowed: CheckedSubvolume[]; failed: DeleteOutcome['failed'] } {
  const failed: DeleteOutcome['failed'] = [];
  let mounted: Map<number, string[]>;
  let defaultId: number;
  try {
    mounted = mountedAnywhere(guard.top);
    defaultId = defaultSubvolumeId(guard.top);
  } catch (e) {
    return { allowed: [], failed: rels.map((rel) => ({ path: rel, error: `refused: cannot check mounts (${(e as Error).message})` })) };
  }
  const allowed: CheckedSubvolume[] = [];
  for (const rel of rels) {
    const c = check(rel, guard, mounted, defaultId);
    if (typeof c === 'string') failed.push({ path: rel, error: `refused: ${c}` });
    else allowed.push(c);
  }
  return { allowed, failed };
}

/**
 * The act half: per batch, one fresh listing (for the first batch, `firstListing` when
 * the caller has one from moments ago) and mount check, then one delete by id each
 * (the last of the batch waits for the transaction commit). What changed since its
 * check is refused.
 */
export function deleteChecked(top: string, checked: CheckedSubvolume[], out: DeleteOutcome, opts: DeleteOptions = {}): void {
  const size = opts.batch ?? 32;
  for (let i = 0; i < checked.length; i += size) {
    const chunk = checked.slice(i, i + size);
    const fresh = new Map((i === 0 && opts.firstListing ? opts.firstListing : listSubvolumes(top)).map((s) => [s.id, s]));
    const mountedNow = mountedAnywhere(top);
    const go: CheckedSubvolume[] = [];
    for (const c of chunk) {
      const why = changedSince(c, fresh) ?? (mountedNow.has(c.id) ? `${c.rel} was mounted since it was checked (${mountedNow.get(c.id)!.join(', ')})` : null);
      if (why) out.failed.push({ path: c.rel, error: `refused: ${why}` });
      else if (!fresh.has(c.id)) out.deleted.push(c.rel);
      else go.push(c);
    }
    const answers = deleteByIds(top, go.map((c) => c.id));
    for (const c of go) {
      const a = answers.get(c.id);
      if (a === true) out.deleted.push(c.rel);
      else out.failed.push({ path: c.rel, error: a || 'btrfs gave no answer for it' });
    }
    opts.onProgress?.(out.deleted.length + out.failed.length);
  }
}

// btrfs-progs deletes one id per call; one shell runs the calls, instead of one
// process start from Node each, four at a time (each answer is one short line, one
// write). The last runs alone, after the others, and waits for the transaction commit.
const DELETE_SCRIPT = `top=$1; shift
n=$#
i=0
one() {
  if err=$(btrfs subvolume delete $2 --subvolid "$1" "$top" 2>&1 >/dev/null); then echo "ok $1"
  else printf 'fail %s %s\\n' "$1" "$(printf %s "$err" | tr '\\n' ' ')"; fi
}
for id in "$@"; do
  i=$((i + 1))
  if [ "$i" -eq "$n" ]; then wait; one "$id" --commit-after
  else one "$id" & [ $((i % 4)) -eq 0 ] && wait; fi
done`;

/** Deletes subvolumes by id: true for each deleted, else btrfs's error. */
function deleteByIds(top: string, ids: number[]): Map<number, true | string> {
  const answers = new Map<number, true | string>();
  if (ids.length === 0) return answers;
  const r = run('sh', ['-c', DELETE_SCRIPT, 'pantheragent-delete', top, ...ids.map(String)], { allowFail: true });
  for (const line of r.stdout.split('\n')) {
    const m = /^(ok|fail) (\d+)(?: (.*))?$/.exec(line);
    if (m) answers.set(Number(m[2]), m[1] === 'ok' ? true : m[3]?.trim() || 'failed');
  }
  return answers;
}

/**
 * Deletes the given subvolumes (paths relative to top). Each path is checked first; a
 * refused path is reported as failed and never reaches btrfs, and one failure does
 * not stop the others.
 */
export function guardedDelete(rels: string[], guard: DeleteGuard, opts: DeleteOptions = {}): DeleteOutcome {
  const { allowed, failed } = checkAll(rels, guard);
  const out: DeleteOutcome = { deleted: [], failed };
  deleteChecked(guard.top, allowed, out, opts);
  return out;
}
