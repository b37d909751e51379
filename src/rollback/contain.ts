// Path containment for restore: a requested path is resolved inside a snapshot, and
// anything that would read outside it is refused. Pure: the snapshot is seen through
// a small reader, so every case is tested without a filesystem (and the real reader
// in ./restore.ts is a thin lstat/readlink). The snapshot is read-only, so what is
// resolved here is what is copied.
//
// Rules: the request is a path inside the snapshot; a ".." in it is refused. Symbolic
// links on the way (not the last component) are followed inside the snapshot: an
// absolute target, or a relative one that climbs above the snapshot's root, is
// refused. The last component is never followed: a link is restored as a link.

export type NodeKind = 'dir' | 'file' | 'symlink' | 'other' | 'missing';

export interface TreeReader {
  /** Kind of the entry at a path inside the snapshot ("" is its root), without following a last link. */
  kind(rel: string): NodeKind;
  /** Target of the symbolic link at `rel`. */
  readlink(rel: string): string;
}

export type ContainError = 'empty' | 'dotdot' | 'absolute-link' | 'escaping-link' | 'missing' | 'not-a-directory' | 'loop';

export type Containment =
  | { ok: true; rel: string; kind: Exclude<NodeKind, 'missing'>; followed: { link: string; target: string }[] }
  | { ok: false; reason: ContainError; error: string };

/** Symbolic links followed before giving up, as the kernel does (MAXSYMLINKS). */
export const MAX_LINKS = 40;

const fail = (reason: ContainError, error: string): Containment => ({ ok: false, reason, error });

/** Components of a request: "/a//b/./c" -> ["a","b","c"]; null when it holds "..". */
export function requestParts(request: string): string[] | null {
  const parts = request.split('/').filter((p) => p !== '' && p !== '.');
  return parts.includes('..') ? null : parts;
}

export function resolveInside(request: string, tree: TreeReader, what = 'the snapshot'): Containment {
  const parts = requestParts(request);
  if (parts === null) return fail('dotdot', `"${request}" contains "..": paths are resolved inside ${what} and may not climb out of it`);
  if (parts.length === 0) return fail('empty', `"${request}" names the whole of ${what}: restore paths inside it (or use rollback for a whole subvolume)`);
  const todo = [...parts];
  const resolved: string[] = [];
  const followed: { link: string; target: string }[] = [];
  while (todo.length) {
    const c = todo.shift()!;
    if (c === '' || c === '.') continue;
    if (c === '..') {
      // Only a link target can bring ".." here (the request cannot).
      if (resolved.length === 0) return fail('escaping-link', `${describeLinks(followed)} points outside ${what}: refused`);
      resolved.pop();
      continue;
    }
    const cand = [...resolved, c].join('/');
    const k = tree.kind(cand);
    if (k === 'missing') return fail('missing', `/${cand} does not exist in ${what}${followed.length ? ` (after following ${describeLinks(followed)})` : ''}`);
    const last = todo.length === 0;
    if (k === 'symlink' && !last) {
      if (followed.length >= MAX_LINKS) return fail('loop', `too many symbolic links resolving "${request}" in ${what} (a loop?)`);
      const target = tree.readlink(cand);
      followed.push({ link: `/${cand}`, target });
      if (target.startsWith('/')) {
        return fail('absolute-link', `/${cand} is a symbolic link to the absolute path ${target}: inside ${what} it would resolve on the live system, so it is refused`);
      }
      todo.unshift(...target.split('/'));
      continue;
    }
    if (!last && k !== 'dir') return fail('not-a-directory', `/${cand} is not a directory in ${what}, so "${request}" cannot be inside it`);
    resolved.push(c);
  }
  // A request made only of links and ".." can end at the root itself.
  if (resolved.length === 0) return fail('empty', `"${request}" resolves to the whole of ${what}: restore paths inside it`);
  const rel = resolved.join('/');
  return { ok: true, rel, kind: tree.kind(rel) as Exclude<NodeKind, 'missing'>, followed };
}

function describeLinks(followed: { link: string; target: string }[]): string {
  const l = followed[followed.length - 1];
  return l ? `the symbolic link ${l.link} -> ${l.target}` : 'the path';
}
