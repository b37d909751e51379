// System paths as the system under `systemRoot` sees them: NixOS links are absolute
// (/run/current-system -> /nix/store/...), so a link target is taken inside the root,
// never on the host running the check. With systemRoot "/" this is plain readlink -f.
import { lstatSync, readlinkSync } from 'node:fs';
import { join, posix } from 'node:path';

export interface Resolved {
  /** The path inside the root with every link that exists followed. */
  path: string;
  /** False when a component (the link target, or the path itself) does not exist. */
  exists: boolean;
}

const MAX_LINKS = 40; // the kernel's own limit (MAXSYMLINKS)

export function resolveIn(systemRoot: string, path: string): Resolved {
  let done = '/';
  let isDir = true;
  const todo = path.split('/').filter(Boolean);
  let links = 0;
  while (todo.length) {
    const c = todo.shift()!;
    if (c === '.' || c === '..') {
      // As the kernel: "." and ".." only after a directory (file/. is ENOTDIR).
      if (!isDir) return { path: posix.join(done, c, ...todo), exists: false };
      if (c === '..') done = posix.dirname(done);
      continue;
    }
    const next = posix.join(done, c);
    let st;
    try {
      st = lstatSync(join(systemRoot, next));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw e;
      return { path: posix.join(next, ...todo), exists: false };
    }
    if (!st.isSymbolicLink()) {
      done = next;
      isDir = st.isDirectory();
      continue;
    }
    if (++links > MAX_LINKS) throw new Error(`too many levels of symbolic links resolving ${path} under ${systemRoot}`);
    const target = readlinkSync(join(systemRoot, next));
    if (target.startsWith('/')) done = '/';
    isDir = true; // the link's directory, which the target's components continue from
    todo.unshift(...target.split('/').filter(Boolean));
  }
  return { path: done, exists: true };
}

/** True when the link itself (not its target) exists under the root. */
export function linkExists(systemRoot: string, path: string): boolean {
  try {
    lstatSync(join(systemRoot, path));
    return true;
  } catch {
    return false;
  }
}

const STORE_PATH = /^\/nix\/store\/([0-9a-z]{32})-([^/]+)/;

/** "/nix/store/<hash>-linux-6.12.9/bzImage" -> "linux-6.12.9"; null outside the store. */
export function storeName(path: string): string | null {
  return STORE_PATH.exec(path)?.[2] ?? null;
}

/** A store path's name for a summary, with the start of its hash when `other` has the same name. */
export function named(p: string, other: string): string {
  const name = storeName(p);
  if (!name) return p;
  return name === storeName(other) ? `${p.slice('/nix/store/'.length, '/nix/store/'.length + 8)}…-${name}` : name;
}
