// `persistence`: every declared persistent path exists in persistent storage and is
// mounted where it is declared: a bind mount of the storage copy (per the mount table),
// or a symlink to it. Reads /proc/self/mountinfo and the two paths; changes nothing.
import { lstatSync, readlinkSync, realpathSync } from 'node:fs';
import { basename, dirname, join, posix } from 'node:path';
import { readMounts } from '../btrfs/mounts.js';
import type { MountInfo } from '../btrfs/parse.js';
import type { KindCheck, Verdict } from './kind.js';
import { drift, ok, unknown } from './kind.js';

export interface MountRef {
  /** MAJOR:MINOR of the filesystem. */
  dev: string;
  /** Path within that filesystem. */
  root: string;
}

export interface PathFacts {
  /** The declared path on the system, e.g. /etc/nixos. */
  path: string;
  kind: 'directory' | 'file';
  /** The copy in storage, e.g. /persist/etc/nixos. */
  storedAt: string;
  stored: 'directory' | 'file' | 'other' | 'missing';
  /** The storage copy as a mount of it would name it; null when it is missing. */
  expected: MountRef | null;
  /** The topmost mount at the declared path; null when nothing is mounted there. */
  mount: MountRef | null;
  /** The declared path is a symlink to this (as the system sees it); null otherwise. */
  link: string | null;
}

export interface PersistenceFacts {
  storage: string;
  paths: PathFacts[];
}

export interface Problem {
  path: string;
  storedAt: string;
  problems: string[];
}

/** What is wrong with one declared path; [] when it is persisted. Pure. */
export function problemsOf(p: PathFacts): string[] {
  const out: string[] = [];
  if (p.stored === 'missing') out.push(`missing in storage (${p.storedAt})`);
  else if (p.stored !== p.kind) out.push(`${p.storedAt} is ${p.stored === 'other' ? 'neither a file nor a directory' : `a ${p.stored}`}, declared as a ${p.kind}`);
  const bound = p.mount !== null && p.expected !== null && p.mount.dev === p.expected.dev && p.mount.root === p.expected.root;
  const linked = p.link !== null && p.link === p.storedAt;
  if (bound || linked) return out;
  if (p.mount) out.push(`mounted from ${p.mount.root} (device ${p.mount.dev}), not from ${p.storedAt}`);
  else if (p.link) out.push(`a link to ${p.link}, not to ${p.storedAt}`);
  else out.push(`not mounted: neither a bind mount of nor a link to ${p.storedAt}`);
  return out;
}

export function comparePersistence(f: PersistenceFacts): Verdict {
  const total = f.paths.length;
  if (total === 0) return ok('no persistent paths are declared', { storage: f.storage });
  const bad: Problem[] = f.paths.map((p) => ({ path: p.path, storedAt: p.storedAt, problems: problemsOf(p) })).filter((p) => p.problems.length);
  if (!bad.length) return ok(`${total === 1 ? 'the declared path is' : `all ${total} declared paths are`} in ${f.storage} and mounted`, { storage: f.storage, paths: total });
  const first = bad[0]!;
  return drift(`${bad.length} of ${total} declared paths are not persisted: ${first.path} ${first.problems[0]}${bad.length > 1 ? `, and ${bad.length - 1} more` : ''}`, {
    storage: f.storage,
    paths: total,
    problems: bad,
    run: 'check persistence in the flake (the impermanence module) and its mount units: systemctl list-units --type=mount',
  });
}

const under = (p: string, dir: string) => dir === '/' || p === dir || p.startsWith(dir + '/');

/** The mount holding `realPath` (the last of the longest mount points above it). */
function containing(mounts: MountInfo[], realPath: string): MountInfo | null {
  let best: MountInfo | null = null;
  for (const m of mounts) {
    if (under(realPath, m.mountPoint) && (!best || m.mountPoint.length >= best.mountPoint.length)) best = m;
  }
  return best;
}

function kindOf(path: string): PathFacts['stored'] {
  try {
    const st = lstatSync(path);
    return st.isDirectory() ? 'directory' : st.isFile() ? 'file' : 'other';
  } catch {
    return 'missing';
  }
}

/** The path with its parent's links resolved, the last component kept: what mountinfo lists. */
function realParent(path: string): string {
  try {
    return join(realpathSync(dirname(path)), basename(path));
  } catch {
    return path;
  }
}

export function readPersistenceFacts(systemRoot: string, persistence: { storage: string; directories: string[]; files: string[] }): PersistenceFacts {
  // Mount points in the table are paths of this process's namespace, so everything below
  // compares host paths (systemRoot + declared); link targets are read as the system sees them.
  const mounts = readMounts(systemRoot);
  const declared = [...persistence.directories.map((p) => ({ path: p, kind: 'directory' as const })), ...persistence.files.map((p) => ({ path: p, kind: 'file' as const }))];
  const paths = declared.map(({ path, kind }): PathFacts => {
    const storedAt = posix.join(persistence.storage, path);
    const storedHost = join(systemRoot, storedAt);
    const stored = kindOf(storedHost);
    let expected: MountRef | null = null;
    if (stored !== 'missing') {
      const real = realpathSync(storedHost);
      const m = containing(mounts, real);
      if (m) expected = { dev: m.dev, root: posix.join(m.root, posix.relative(m.mountPoint, real)) };
    }
    const host = realParent(join(systemRoot, path));
    const top = mounts.filter((m) => m.mountPoint === host).pop();
    let link: string | null = null;
    try {
      if (lstatSync(host).isSymbolicLink()) {
        const t = readlinkSync(host);
        link = t.startsWith('/') ? posix.normalize(t) : posix.join(posix.dirname(path), t);
      }
    } catch {
      link = null;
    }
    return { path, kind, storedAt, stored, expected, mount: top ? { dev: top.dev, root: top.root } : null, link };
  });
  return { storage: persistence.storage, paths };
}

export const persistenceCheck: KindCheck = {
  kind: 'persistence',
  check: async (ctx) => {
    let facts: PersistenceFacts;
    try {
      facts = readPersistenceFacts(ctx.config.systemRoot, ctx.config.persistence);
    } catch (e) {
      return unknown(`cannot read the mount table: ${(e as Error).message}`);
    }
    return comparePersistence(facts);
  },
};
