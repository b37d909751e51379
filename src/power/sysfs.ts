// Every sysfs access of the power piece goes through this small interface, with
// paths relative to config.power.sysfsRoot ("/sys" in production, a fixture tree in
// tests). Plain files cannot refuse a write the way the kernel does, so tests swap
// in an implementation that enforces the kernel's rules (test/helpers/sysfs.ts).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface SysfsIO {
  /** The root these paths are under (for messages). */
  readonly root: string;
  /** Trimmed content, or null when the file does not exist (or the kernel has no data for it). */
  read(path: string): string | null;
  /** Writes one value; throws the kernel's refusal as an error with `code` (EBUSY, EINVAL, ...). */
  write(path: string, value: string): void;
  /** Entry names of a directory; [] when it does not exist. */
  list(dir: string): string[];
}

/** Errors a read can meet that mean "no value here", not "broken": the attribute is absent or has no data now. */
const ABSENT = new Set(['ENOENT', 'ENOTDIR', 'ENODATA', 'ENODEV', 'ENXIO']);

export function errnoOf(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' ? code : 'EIO';
}

export function nodeSysfs(root: string): SysfsIO {
  return {
    root,
    read(path) {
      try {
        return readFileSync(join(root, path), 'utf8').trim();
      } catch (e) {
        if (ABSENT.has(errnoOf(e))) return null;
        throw e;
      }
    },
    write(path, value) {
      // One write(2) of the bare value: sysfs takes one value per write, and the
      // kernel's store functions strip a trailing newline anyway.
      writeFileSync(join(root, path), value);
    },
    list(dir) {
      try {
        return readdirSync(join(root, dir)).sort();
      } catch (e) {
        if (ABSENT.has(errnoOf(e))) return [];
        throw e;
      }
    },
  };
}
