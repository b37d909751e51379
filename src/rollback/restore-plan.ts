// `restore` as data. Each path is copied out of a read-only snapshot (or archived
// root) with `cp -a --reflink=auto` into a hidden temporary next to its destination;
// then what is there is renamed aside, the copy renamed into place, and what was
// there removed. So the destination is at every moment either the old or the new
// content, and a directory ends up exactly as in the snapshot (extra files gone).
// Nothing that exists is changed before a read-only safety snapshot of the
// subvolume holding it (tag pre-restore).
//
// Pure: the facts (resolved paths, what exists, which subvolume holds it) come from
// ./restore.ts; this decides names and steps.
import { basenameOf, formatStamp, freeName } from '../btrfs/names.js';
import { isUnder } from '../diff/classify.js';
import { RefusedError } from '../errors.js';
import type { NodeKind } from './contain.js';
import type { SubvolRef } from './plan.js';

export const RESTORE_OP = 'restore';

/** Kill points of `restore`, in the order they are reached. */
export const RESTORE_FAILPOINTS = [
  'restore.after-journal',
  'restore.after-safety',
  'restore.after-copy',
  'restore.after-aside',
  'restore.after-swap',
  'restore.after-cleanup',
] as const;

export type RestoreMode = 'in-place' | 'persist' | 'to';

/** What ./restore.ts found out about one requested path. */
export interface ItemFacts {
  /** As requested (absolute). */
  path: string;
  /** Resolved path inside the snapshot (no leading "/"). */
  srcRel: string;
  kind: Exclude<NodeKind, 'missing'>;
  /** For a link: its target (restored as a link, never followed). */
  linkTarget: string | null;
  /** Absolute path that will hold the result. */
  dest: string;
  destKind: NodeKind;
  /** Parent directories to create, outermost first, each with the snapshot directory whose mode, owner and times it gets (null: 0755 root). */
  mkdirs: { path: string; like: string | null }[];
  /** Subvolume that holds the destination, when it exists (for the safety snapshot). */
  holder: SubvolRef | null;
  /** Entries under an existing destination directory that the snapshot does not have: removed. */
  extras: { count: number; sample: string[] };
}

export interface RestoreItem extends ItemFacts {
  index: number;
  /** Absolute path inside the snapshot. */
  src: string;
  /** Hidden siblings of dest: the copy before it goes into place, and what was there before it is removed. */
  tmp: string;
  old: string;
}

export type RestoreStep =
  | { kind: 'safety-snapshot'; subvolume: string; id: number; to: string; failpoint: 'restore.after-safety' }
  | { kind: 'copy'; item: number; failpoint: 'restore.after-copy' }
  | { kind: 'aside'; item: number; failpoint: 'restore.after-aside' }
  | { kind: 'swap'; item: number; failpoint: 'restore.after-swap' }
  | { kind: 'cleanup'; item: number; failpoint: 'restore.after-cleanup' };

export interface RestorePlan {
  version: 1;
  from: { rel: string; name: string; kind: 'snapshot' | 'root'; source: string | null; path: string };
  mode: RestoreMode;
  instant: number;
  safety: { subvolume: string; rel: string }[];
  items: RestoreItem[];
  /** With --persist: what to add to the flake so the next boot keeps it. */
  declarations: { kind: 'directories' | 'files'; path: string; nix: string }[];
  steps: RestoreStep[];
}

export interface RestoreInput {
  from: RestorePlan['from'];
  mode: RestoreMode;
  instant: number;
  items: ItemFacts[];
  snapshotDir: string;
  /** Subvolumes a safety snapshot may be taken of (configured sources and the root). */
  managed: string[];
  /** Whether a name in the snapshot directory is taken. */
  taken: (name: string) => boolean;
  /** Whether a path exists (for the temporary names). */
  exists: (path: string) => boolean;
  storage: string;
}

/** One hidden name next to `dest` that is free: ".<base>.pantheragent-<what>-<stamp>[-N]". */
function sibling(dest: string, what: string, stamp: string, exists: (p: string) => boolean): string {
  const slash = dest.lastIndexOf('/');
  const dir = dest.slice(0, slash);
  const base = dest.slice(slash + 1);
  for (let n = 0; ; n++) {
    const p = `${dir}/.${base}.pantheragent-${what}-${stamp}${n ? `-${n}` : ''}`;
    if (!exists(p)) return p;
  }
}

export function planRestore(i: RestoreInput): RestorePlan {
  if (i.items.length === 0) throw new RefusedError('nothing to restore: name at least one PATH');
  const dests = i.items.map((x) => x.dest);
  for (const [a, da] of dests.entries()) {
    for (const [b, db] of dests.entries()) {
      if (a !== b && isUnder(db, da)) throw new RefusedError(`${i.items[b]!.path} lies inside ${i.items[a]!.path} (or is the same): name each path once`);
    }
  }
  const instant = Math.floor(i.instant / 1000) * 1000;
  const stamp = formatStamp(instant);
  // Safety snapshots: one per subvolume that holds something this restore replaces.
  const holders = new Map<string, SubvolRef>();
  for (const it of i.items) {
    if (it.destKind === 'missing') continue;
    if (!it.holder) throw new RefusedError(`${it.dest} exists, but no subvolume of this Btrfs filesystem holds it: a safety snapshot is impossible, so it is not replaced. Restore elsewhere with --to DIR.`);
    if (!i.managed.includes(it.holder.rel)) {
      throw new RefusedError(
        `${it.dest} is in the subvolume ${it.holder.rel || '(top level)'}, which pantheragent does not manage (${i.managed.join(', ')}): it is not replaced. Restore elsewhere with --to DIR.`,
      );
    }
    holders.set(it.holder.rel, it.holder);
  }
  const names = new Set<string>();
  const safety: RestorePlan['safety'] = [];
  const steps: RestoreStep[] = [];
  for (const h of holders.values()) {
    const name = freeName(basenameOf(h.rel), instant, (n) => names.has(n) || i.taken(n));
    names.add(name);
    const rel = `${i.snapshotDir}/${name}`;
    safety.push({ subvolume: h.rel, rel });
    steps.push({ kind: 'safety-snapshot', subvolume: h.rel, id: h.id, to: rel, failpoint: 'restore.after-safety' });
  }
  const used = new Set<string>();
  const free = (p: string) => i.exists(p) || used.has(p);
  const items: RestoreItem[] = i.items.map((f, index) => {
    const tmp = sibling(f.dest, 'restore', stamp, free);
    used.add(tmp);
    const old = sibling(f.dest, 'replaced', stamp, free);
    used.add(old);
    return { ...f, index, src: `${i.from.path}/${f.srcRel}`, tmp, old };
  });
  for (const it of items) {
    steps.push({ kind: 'copy', item: it.index, failpoint: 'restore.after-copy' });
    if (it.destKind !== 'missing') steps.push({ kind: 'aside', item: it.index, failpoint: 'restore.after-aside' });
    steps.push({ kind: 'swap', item: it.index, failpoint: 'restore.after-swap' });
    if (it.destKind !== 'missing') steps.push({ kind: 'cleanup', item: it.index, failpoint: 'restore.after-cleanup' });
  }
  const declarations =
    i.mode === 'persist'
      ? items.map((it) => {
          const kind = it.kind === 'dir' ? ('directories' as const) : ('files' as const);
          return { kind, path: it.path, nix: `environment.persistence.${JSON.stringify(i.storage)}.${kind} = [ ${JSON.stringify(it.path)} ];` };
        })
      : [];
  return { version: 1, from: i.from, mode: i.mode, instant, safety, items, declarations, steps };
}

export function describeRestoreStep(step: RestoreStep, plan: RestorePlan): string {
  if (step.kind === 'safety-snapshot') return `snapshot ${step.subvolume} read-only as ${step.to} (tag pre-restore)`;
  const it = plan.items[step.item]!;
  switch (step.kind) {
    case 'copy':
      return `copy ${plan.from.rel}/${it.srcRel}${it.kind === 'symlink' ? ` (a symbolic link to ${it.linkTarget})` : it.kind === 'dir' ? '/' : ''} (cp -a --reflink=auto) next to ${it.dest}${it.mkdirs.length ? `, creating ${it.mkdirs.length} missing parent director${it.mkdirs.length === 1 ? 'y' : 'ies'}` : ''}`;
    case 'aside':
      return `move the existing ${it.dest} aside`;
    case 'swap':
      return `put the copy in place at ${it.dest}`;
    case 'cleanup':
      return `remove what was at ${it.dest}${it.extras.count ? `, including ${it.extras.count} entr${it.extras.count === 1 ? 'y' : 'ies'} the snapshot does not have (${it.extras.sample.join(', ')}${it.extras.count > it.extras.sample.length ? ', …' : ''})` : ''}`;
  }
}
