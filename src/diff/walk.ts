// The filesystem walk behind `diff`: every leaf on a root that ./classify.ts calls
// state, read with as few system calls as the answer allows.
//
// - readdir with file types (Btrfs always fills d_type), so declared, ignored and
//   generated entries cost no stat at all, and their subtrees are never opened;
// - lstat only for what is reported (its size and mtime) and for the rare entries
//   whose verdict depends on it (an empty file at a mount point);
// - no stat per directory: nested subvolumes and mounts below the root are known
//   beforehand (from `btrfs subvolume list` and our own mount table) and passed in,
//   which is what an inode-256 or st_dev check on every directory would find; that
//   check would add about a quarter to the walk (docs/diff.md has the numbers). A
//   listed subvolume is still confirmed by its inode when the walk meets it;
// - readlink only for a link whose verdict depends on its target: what NixOS
//   activation re-creates in /etc (every link of the etc tree the root's /etc/static
//   points to) is settled by its name, with one readdir of that tree per /etc directory.
import { lstatSync, readdirSync, readlinkSync, type Dirent, type Stats } from 'node:fs';
import { isGeneratedLinkTarget, leafVerdict, linksIntoGenerated, type EntryKind, type LeafFacts, type RuleNode, type Rules } from './classify.js';

export interface FoundEntry {
  /** Absolute path on the root, e.g. "/etc/NetworkManager/system-connections/home.nmconnection". */
  path: string;
  kind: EntryKind;
  /** st_size in bytes (a symlink: the length of its target); null for a nested subvolume, which is not measured. */
  size: number | null;
  mtimeMs: number;
  /** The directory to report it under: the highest ancestor holding nothing but state, else its parent. */
  group: string;
  /** True when `group` holds nothing but state, so it could be persisted as a whole. */
  wholeGroup: boolean;
}

export interface Skipped {
  path: string;
  why: string;
}

export interface WalkOptions {
  /** Filesystem path of the root to walk (e.g. <top>/@root). */
  root: string;
  rules: Rules;
  /** Paths on the root that are nested subvolumes: reported as one entry, never entered. */
  subvolumes: ReadonlySet<string>;
  /** Paths on the root where something is mounted in our namespace: not the root's content, skipped. */
  mounts: ReadonlySet<string>;
  /**
   * Filesystem path of the etc tree that this root's activation links into /etc (the
   * store path its /etc/static points to, as this system sees it; ./diff.ts
   * activationEtc), or null when unknown. When it cannot be read, /etc is classified
   * by reading each link, as anywhere else.
   */
  activationEtc?: string | null;
  /** readlink(2); injectable so that tests can count the reads. */
  readlink?: (fsPath: string) => string;
}

export interface WalkResult {
  entries: FoundEntry[];
  skipped: Skipped[];
  /** Directories read, for the benchmark and logs. */
  dirsRead: number;
}

interface DirRec {
  path: string;
  fsPath: string;
  node: RuleNode | undefined;
  parent: DirRec | null;
  /** Stays true while everything found below is state. */
  pure: boolean;
  /** The matching directory of the activation's etc tree, for /etc and the directories below it that the tree also has. */
  etc: EtcDir | null;
}

/** A directory of the activation's etc tree: its links (what activation re-creates) and subdirectories, read on first use. */
interface EtcDir {
  fsPath: string;
  entries: Map<string, 'link' | 'dir'> | null;
}

function etcEntries(d: EtcDir): Map<string, 'link' | 'dir'> {
  if (d.entries) return d.entries;
  d.entries = new Map();
  let list: Dirent[];
  try {
    list = readdirSync(d.fsPath, { withFileTypes: true });
  } catch {
    return d.entries; // not there (garbage-collected, another system): nothing is known, links get read
  }
  for (const e of list) {
    // Only links declare: the tree's regular files are the .mode/.uid/.gid notes beside them.
    const t = kindOf(e) === null ? lstatOrNull(`${d.fsPath}/${e.name}`) : e;
    if (t?.isSymbolicLink()) d.entries.set(e.name, 'link');
    else if (t?.isDirectory()) d.entries.set(e.name, 'dir');
  }
  return d.entries;
}

interface Pending {
  path: string;
  kind: EntryKind;
  size: number | null;
  mtimeMs: number;
  /** Where the group search starts: the parent directory, or for an empty directory or a subvolume the entry itself (it is all state). */
  home: DirRec;
}

const childPath = (dir: string, name: string) => (dir === '/' ? `/${name}` : `${dir}/${name}`);

function markImpure(d: DirRec | null): void {
  // Each directory flips at most once, so the whole walk spends O(directories) here.
  while (d && d.pure) {
    d.pure = false;
    d = d.parent;
  }
}

function kindOf(d: Dirent | Stats): EntryKind | null {
  if (d.isFile()) return 'file';
  if (d.isDirectory()) return 'dir';
  if (d.isSymbolicLink()) return 'symlink';
  if (d.isFIFO()) return 'fifo';
  if (d.isSocket()) return 'socket';
  if (d.isCharacterDevice()) return 'char-device';
  if (d.isBlockDevice()) return 'block-device';
  return null;
}

const gone = (e: unknown) => {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
};

/** lstat, or null when the entry vanished meanwhile (the live root keeps changing under us). */
function lstatOrNull(p: string): Stats | null {
  try {
    return lstatSync(p);
  } catch (e) {
    if (gone(e)) return null;
    throw e;
  }
}

/**
 * Follow the symlink at `path` through the root's own symlinks, as the running system
 * would see it (with `rootFs` as "/"), stopping as soon as the path enters a generated
 * prefix (/nix/store is not on the root: it is a separate subvolume) or a component
 * does not exist. NixOS's "direct-symlink" /etc entries need this: /etc/localtime ->
 * /etc/zoneinfo/... where /etc/zoneinfo -> /etc/static/zoneinfo.
 */
export function resolveOnRoot(rootFs: string, path: string, target: string, readlink: (fsPath: string) => string = readlinkSync): string {
  const parts = (s: string) => s.split('/').filter((x) => x !== '' && x !== '.');
  let resolved: string[] = target.startsWith('/') ? [] : parts(path).slice(0, -1);
  let queue = parts(target);
  let hops = 0;
  while (queue.length) {
    const c = queue.shift()!;
    if (c === '..') {
      resolved.pop();
      continue;
    }
    const candidate = [...resolved, c];
    const abs = '/' + candidate.join('/');
    if (isGeneratedLinkTarget(abs)) return '/' + [...candidate, ...queue].join('/');
    let t: string | null = null;
    try {
      t = readlink(rootFs + abs);
    } catch {
      t = null; // not a symlink, or absent: take the component as it is
    }
    if (t === null || ++hops > 40) {
      resolved = candidate;
      continue;
    }
    if (t.startsWith('/')) resolved = [];
    queue = [...parts(t), ...queue];
  }
  return '/' + resolved.join('/');
}

export function walk(opts: WalkOptions): WalkResult {
  const { root, rules, subvolumes, mounts } = opts;
  const readlink = opts.readlink ?? readlinkSync;
  const found: Pending[] = [];
  const skipped: Skipped[] = [];
  let dirsRead = 0;
  const stack: DirRec[] = [{ path: '/', fsPath: root, node: rules.root, parent: null, pure: true, etc: null }];

  const report = (home: DirRec, path: string, fsPath: string, kind: EntryKind, st: Stats | null) => {
    const s = st ?? lstatOrNull(fsPath);
    if (!s) return;
    found.push({ path, kind, size: kind === 'subvolume' ? null : kind === 'dir' ? 0 : s.size, mtimeMs: s.mtimeMs, home });
  };

  while (stack.length) {
    const dir = stack.pop()!;
    let list: Dirent[];
    try {
      list = readdirSync(dir.fsPath, { withFileTypes: true });
    } catch (e) {
      if (gone(e)) continue;
      skipped.push({ path: dir.path, why: `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` });
      markImpure(dir.parent);
      continue;
    }
    dirsRead++;
    if (list.length === 0) {
      if (dir.parent) {
        const v = leafVerdict(dir.node, dir.path, { kind: 'dir' });
        if (v.state) report(dir, dir.path, dir.fsPath, 'dir', null);
        else markImpure(dir.parent);
      }
      continue;
    }
    for (const d of list) {
      const name = d.name;
      const node = dir.node?.children.get(name);
      if (node?.subtree) {
        markImpure(dir);
        continue;
      }
      let kind = kindOf(d);
      let st: Stats | null = null;
      if (kind === null) {
        // DT_UNKNOWN: not from Btrfs, but cheap to be correct about.
        st = lstatOrNull(`${dir.fsPath}/${name}`);
        if (!st) continue;
        kind = kindOf(st);
        if (kind === null) continue;
      }
      if (kind !== 'dir' && dir.etc && etcEntries(dir.etc).get(name) === 'link') {
        // Activation renames its own link over whatever is here (leafVerdict, facts.activation):
        // most /etc links are settled here, by name, without a readlink, a verdict or even a path.
        markImpure(dir);
        continue;
      }
      const fsPath = `${dir.fsPath}/${name}`;
      const path = childPath(dir.path, name);
      if (kind === 'dir') {
        // (A directory under a subtree rule was dropped above, unopened.)
        if (subvolumes.has(path) && (st ??= lstatOrNull(fsPath))?.ino === 256) {
          // Confirmed by its inode (256: a subvolume's root), so a stale listing cannot hide a directory.
          report({ path, fsPath, node, parent: dir, pure: true, etc: null }, path, fsPath, 'subvolume', st);
        } else if (mounts.has(path)) {
          skipped.push({ path, why: 'a mount point: what is mounted there is not on this root' });
          markImpure(dir);
        } else {
          stack.push({ path, fsPath, node, parent: dir, pure: true, etc: etcBelow(dir, name) });
        }
        continue;
      }
      const facts: LeafFacts = { kind };
      if (kind === 'symlink') {
        try {
          facts.target = readlink(fsPath);
        } catch (e) {
          if (gone(e)) continue;
          throw e;
        }
        // Most links on a NixOS root point into the store: settled here, without a verdict object.
        if (linksIntoGenerated(path, facts.target)) {
          markImpure(dir);
          continue;
        }
        facts.resolved = resolveOnRoot(root, path, facts.target, readlink);
      } else if (kind === 'file' && node?.mountPoint) {
        st ??= lstatOrNull(fsPath);
        if (!st) continue;
        facts.size = st.size;
      }
      const v = leafVerdict(node, path, facts);
      if (v.state) report(dir, path, fsPath, kind, st);
      else markImpure(dir);
    }
  }

  return { entries: finish(found), skipped: skipped.sort((a, b) => cmp(a.path, b.path)), dirsRead };

  /** The etc tree's directory for the root's directory dir/name: /etc itself, or one the tree also has (a real directory, not a link). */
  function etcBelow(dir: DirRec, name: string): EtcDir | null {
    if (dir.parent === null) return name === 'etc' && opts.activationEtc ? { fsPath: opts.activationEtc, entries: null } : null;
    if (!dir.etc || etcEntries(dir.etc).get(name) !== 'dir') return null;
    return { fsPath: `${dir.etc.fsPath}/${name}`, entries: null };
  }
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Groups are known only once the whole walk has marked impure directories. */
function finish(found: Pending[]): FoundEntry[] {
  const groupOf = new Map<DirRec, { group: string; whole: boolean }>();
  const entries = found.map((p): FoundEntry => {
    let g = groupOf.get(p.home);
    if (!g) {
      let top = p.home;
      if (top.pure && top.parent) {
        // The highest pure ancestor below "/" (the root itself is never offered whole).
        while (top.parent?.pure && top.parent.parent) top = top.parent;
        g = { group: top.path, whole: true };
      } else {
        g = { group: p.home.path, whole: false };
      }
      groupOf.set(p.home, g);
    }
    return { path: p.path, kind: p.kind, size: p.size, mtimeMs: p.mtimeMs, group: g.group, wholeGroup: g.whole };
  });
  return entries.sort((a, b) => cmp(a.path, b.path));
}
