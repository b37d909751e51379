import { closeSync, fsyncSync, lstatSync, openSync, readdirSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { AgentError } from '../errors.js';

const WHY: Record<string, string> = {
  ENOSPC: 'no space left on the filesystem',
  EDQUOT: 'over the disk quota',
  EROFS: 'the filesystem is read-only',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EIO: 'input/output error',
};

/** An errno error from writing `path`, as an error that names the file and the cause in words. */
export function writeError(path: string, e: unknown): AgentError {
  const code = (e as NodeJS.ErrnoException).code ?? 'error';
  return new AgentError(`could not write ${path}: ${WHY[code] ?? (e as Error).message} (${code})`, 1, { path, code });
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes `<path>.tmp-<pid>` files that a killed writeFileAtomic left behind: those
 * whose writer is no longer running (or is this process, which writes one at a time).
 * Returns the names removed. Missing directories and races with another cleaner are fine.
 */
export function removeStaleTemps(path: string): string[] {
  const prefix = `${basename(path)}.tmp-`;
  const removed: string[] = [];
  for (const name of unlessMissing(() => readdirSync(dirname(path)), [] as string[])) {
    if (!name.startsWith(prefix)) continue;
    const pid = name.slice(prefix.length);
    if (!/^\d+$/.test(pid) || (Number(pid) !== process.pid && pidAlive(Number(pid)))) continue;
    unlessMissing(() => unlinkSync(join(dirname(path), name)), undefined);
    removed.push(name);
  }
  return removed;
}

/**
 * Write a file so that a crash leaves either the old or the new content, never a mix.
 * Failures (a full filesystem, a read-only one) are AgentErrors naming the file; the
 * temp file is removed, and stale ones from killed writers are removed first.
 */
export function writeFileAtomic(path: string, data: string, mode = 0o644): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    removeStaleTemps(path);
    writeFileSync(tmp, data, { mode });
    const fd = openSync(tmp, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    const dfd = openSync(dirname(path), 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // Not there (the rename happened, or it was never made).
    }
    throw e instanceof AgentError ? e : writeError(path, e);
  }
}

export function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

/** Btrfs gives every subvolume root inode number 256 (BTRFS_FIRST_FREE_OBJECTID). */
export function isSubvolumeRoot(path: string): boolean {
  try {
    const st = lstatSync(path);
    return st.isDirectory() && st.ino === 256;
  } catch {
    return false;
  }
}

/** `fn()`, or `missing` when what it reads does not exist (ENOENT); other errors propagate. */
export function unlessMissing<T>(fn: () => T, missing: T): T {
  try {
    return fn();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return missing;
    throw e;
  }
}
