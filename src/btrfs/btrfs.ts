// Typed wrapper over btrfs-progs. Deletion is deliberately absent here: it lives in
// ./guarded-delete.ts, behind the "never delete what is not ours" checks.
import { renameSync } from 'node:fs';
import { CommandError, RefusedError } from '../errors.js';
import { exists } from '../util/fsutil.js';
import { run } from './exec.js';
import {
  parseFilesystemUsage,
  parseFindNew,
  parseGetDefault,
  parseQgroupShow,
  parseRoProperty,
  parseSubvolumeList,
  parseSubvolumeShow,
  type FilesystemUsage,
  type FindNewResult,
  type QgroupSize,
  type SubvolumeInfo,
  type SubvolumeShow,
} from './parse.js';

const btrfs = (...args: string[]) => run('btrfs', args).stdout;

export interface ListedSubvolume extends SubvolumeInfo {
  readonly: boolean;
}

/** Every subvolume of the filesystem mounted (top level) at `top`, with its read-only flag. */
export function listSubvolumes(top: string): ListedSubvolume[] {
  const all = parseSubvolumeList(btrfs('subvolume', 'list', '-p', '-c', '-u', '-q', '-R', top));
  const ro = new Set(parseSubvolumeList(btrfs('subvolume', 'list', '-r', '-p', '-c', '-u', '-q', '-R', top)).map((s) => s.id));
  return all.map((s) => ({ ...s, readonly: ro.has(s.id) }));
}

export function showSubvolume(path: string): SubvolumeShow {
  return parseSubvolumeShow(btrfs('subvolume', 'show', path));
}

export function createSubvolume(path: string): void {
  btrfs('subvolume', 'create', path);
}

export function snapshotSubvolume(src: string, dst: string, opts: { readonly: boolean }): void {
  btrfs('subvolume', 'snapshot', ...(opts.readonly ? ['-r'] : []), src, dst);
}

export function getReadonly(path: string): boolean {
  return parseRoProperty(btrfs('property', 'get', '-ts', path, 'ro'));
}

export function setReadonly(path: string, ro: boolean): void {
  btrfs('property', 'set', '-ts', path, 'ro', String(ro));
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

export function filesystemUsage(path: string): FilesystemUsage {
  return parseFilesystemUsage(btrfs('filesystem', 'usage', '-b', path));
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
 * subvolumes move with it). Refuses an existing target, because rename(2) would
 * silently replace an empty directory; callers hold the agent lock, so nothing
 * else creates names in between.
 */
export function renameSubvolume(from: string, to: string): void {
  if (exists(to)) throw new RefusedError(`refusing to rename ${from} onto ${to}: it exists`);
  renameSync(from, to);
}
