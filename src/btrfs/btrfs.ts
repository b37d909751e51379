// Typed wrapper over btrfs-progs. Deletion is deliberately absent here: it lives in
// ./guarded-delete.ts, behind the "never delete what is not ours" checks.
import { closeSync, constants, fstatSync, lstatSync, openSync, renameSync, statfsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { CommandError, RefusedError } from '../errors.js';
import { exists } from '../util/fsutil.js';
import { run, runWithFd3 } from './exec.js';
import {
  parseFindNew,
  parseGetDefault,
  parseQgroupShow,
  parseRoProperty,
  parseSubvolumeList,
  parseSubvolumeShow,
  type FindNewResult,
  type QgroupSize,
  type SubvolumeInfo,
  type SubvolumeShow,
} from './parse.js';

const btrfs = (...args: string[]) => run('btrfs', args).stdout;

export interface ListedSubvolume extends SubvolumeInfo {
  readonly: boolean;
}

const LIST = ['subvolume', 'list', '-p', '-c', '-u', '-q', '-R'];
// The read-only flags need a second listing (`-r`). Both run side by side from one
// process start, the second on fd 3: a listing of 1,000 subvolumes takes ~6 ms.
// /bin/sh by path (NixOS has it too), so a PATH without btrfs names btrfs-progs.
const LIST_BOTH = `btrfs ${LIST.join(' ')} -r "$1" >&3 & ro=$!
btrfs ${LIST.join(' ')} "$1"; all=$?
wait "$ro"; r=$?
[ "$all" -ne 0 ] && exit "$all"
exit "$r"`;

/** Every subvolume of the filesystem mounted (top level) at `top`, with its read-only flag. */
export function listSubvolumes(top: string): ListedSubvolume[] {
  const [all, ro] = runWithFd3('/bin/sh', ['-c', LIST_BOTH, 'pantheragent-list', top], ['btrfs', ...LIST, top]);
  const readonly = new Set(parseSubvolumeList(ro).map((s) => s.id));
  return parseSubvolumeList(all).map((s) => ({ ...s, readonly: readonly.has(s.id) }));
}

export interface FreeSpace {
  size: number;
  used: number;
  free: number;
  freePercent: number;
}

/**
 * Free space from statfs(2): a syscall, not a process. On Btrfs f_bavail is the
 * kernel's own estimate of what new data can still use (the same figure df shows).
 */
export function freeSpace(path: string): FreeSpace {
  const st = statfsSync(path);
  const size = st.blocks * st.bsize;
  const free = st.bavail * st.bsize;
  return { size, used: (st.blocks - st.bfree) * st.bsize, free, freePercent: size > 0 ? (free / size) * 100 : 0 };
}

export function showSubvolume(path: string): SubvolumeShow {
  return parseSubvolumeShow(btrfs('subvolume', 'show', path));
}

/**
 * One `btrfs subvolume list` (the read-only flags would take a second): after the
 * agent made subvolumes it learns their ids and UUIDs from this, and takes each flag
 * from what it knew and what it made. (`btrfs subvolume show` of the new one alone
 * is slower: it searches every subvolume for snapshots of it.)
 */
export function listSubvolumesWith(top: string, readonly: (s: SubvolumeInfo) => boolean): ListedSubvolume[] {
  return parseSubvolumeList(btrfs('subvolume', 'list', '-p', '-c', '-u', '-q', '-R', top)).map((s) => ({ ...s, readonly: readonly(s) }));
}

/**
 * Runs `fn` with a path that names exactly the directory at `path` as it is now:
 * /proc/<pid>/fd/<n> of a descriptor opened with O_NOFOLLOW, so a link or a rename
 * swapped in after this point cannot redirect what a child process acts on.
 */
function withPinnedDir<T>(path: string, fn: (pinned: string, fd: number) => T): T {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR' || code === 'ELOOP') throw new RefusedError(`refusing to act on ${path}: it is a symbolic link or not a directory`, { path });
    throw e;
  }
  try {
    return fn(`/proc/${process.pid}/fd/${fd}`, fd);
  } finally {
    closeSync(fd);
  }
}

/** Runs btrfs on a pinned subvolume after checking that it is subvolume `expectId` (when given). */
function onSubvolume(path: string, expectId: number | undefined, args: (pinned: string) => string[]): void {
  withPinnedDir(path, (pinned, fd) => {
    if (fstatSync(fd).ino !== 256) throw new RefusedError(`refusing to act on ${path}: it is not a subvolume`, { path });
    if (expectId !== undefined) {
      const id = Number(btrfs('inspect-internal', 'rootid', pinned).trim());
      if (id !== expectId) throw new RefusedError(`refusing to act on ${path}: it is now subvolume ${id}, not ${expectId} as planned (it was replaced)`, { path, expectId, id });
    }
    btrfs(...args(pinned));
  });
}

/** Creates a subvolume at `path`; its parent is pinned, so a link swapped in for the parent cannot move it. */
export function createSubvolume(path: string): void {
  withPinnedDir(dirname(path), (parent) => btrfs('subvolume', 'create', join(parent, basename(path))));
}

/** A snapshot of `src` (subvolume `expectId` when given) at `dst`, both pinned: no link is followed. */
export function snapshotSubvolume(src: string, dst: string, opts: { readonly: boolean; expectId?: number }): void {
  withPinnedDir(dirname(dst), (parent) =>
    onSubvolume(src, opts.expectId, (pinned) => ['subvolume', 'snapshot', ...(opts.readonly ? ['-r'] : []), pinned, join(parent, basename(dst))]),
  );
}

export function getReadonly(path: string): boolean {
  return withPinnedDir(path, (pinned) => parseRoProperty(btrfs('property', 'get', '-ts', pinned, 'ro')));
}

/** Sets the read-only flag of the subvolume at `path` (subvolume `expectId` when given), never through a link. */
export function setReadonly(path: string, ro: boolean, expectId?: number): void {
  onSubvolume(path, expectId, (pinned) => ['property', 'set', '-ts', pinned, 'ro', String(ro)]);
}

export function findNew(path: string, sinceGen: number): FindNewResult {
  return parseFindNew(btrfs('subvolume', 'find-new', path, String(sinceGen)));
}

/**
 * Sizes of subvolumes from qgroups, or null when quotas are not enabled (then sizes
 * are not known: walking every snapshot to add up file sizes would cost far more).
 */
export function qgroupSizes(top: string): Map<number, QgroupSize> | null {
  const r = run('btrfs', ['qgroup', 'show', '--raw', top], { allowFail: true });
  if (r.code !== 0) {
    if (/quotas not enabled/i.test(r.stderr)) return null;
    throw new CommandError(['btrfs', 'qgroup', 'show', '--raw', top], r.code, r.stderr);
  }
  return parseQgroupShow(r.stdout);
}

export function defaultSubvolumeId(path: string): number {
  return parseGetDefault(btrfs('subvolume', 'get-default', path));
}

/** Wait until deleted subvolumes are cleaned up (btrfs subvolume sync). */
export function syncSubvolumes(top: string): void {
  btrfs('subvolume', 'sync', top);
}

/**
 * Move a subvolume to a new path on the same filesystem (rename(2): atomic, nested
 * subvolumes move with it; it never follows a link in either last component). Refuses
 * an existing target, because rename(2) would silently replace an empty directory;
 * callers hold the agent lock, so nothing else creates names in between. Identity is
 * checked on both sides: every subvolume has its own st_dev, so the same st_dev and
 * inode 256 after the move prove that what moved is what was checked; anything else
 * is moved back and refused.
 */
export function renameSubvolume(from: string, to: string): void {
  if (exists(to)) throw new RefusedError(`refusing to rename ${from} onto ${to}: it exists`);
  const before = lstatSync(from);
  if (!before.isDirectory() || before.ino !== 256) throw new RefusedError(`refusing to rename ${from}: it is not a subvolume`, { path: from });
  renameSync(from, to);
  const after = lstatSync(to);
  if (after.dev !== before.dev || after.ino !== 256 || !after.isDirectory()) {
    renameSync(to, from);
    throw new RefusedError(`refusing to rename ${from}: it was replaced while being moved; moved back`, { path: from });
  }
}
