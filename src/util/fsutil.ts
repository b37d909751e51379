import { closeSync, fsyncSync, openSync, renameSync, writeFileSync, lstatSync } from 'node:fs';
import { dirname } from 'node:path';

/** Write a file so that a crash leaves either the old or the new content, never a mix. */
export function writeFileAtomic(path: string, data: string, mode = 0o644): void {
  const tmp = `${path}.tmp-${process.pid}`;
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
