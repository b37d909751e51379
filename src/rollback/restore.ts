// `restore`: gathers the facts for ./restore-plan.ts (which snapshot, where each path
// resolves inside it, what is at the destination and which subvolume holds it), and
// walks the plan: journaled, a failpoint after every step. A killed restore is
// completed by recoverRestore on the next mutating run; what the filesystem shows
// (the hidden copy, the moved-aside original, the destination) says how far it got.
import { closeSync, constants, fchmodSync, fchownSync, futimesSync, lstatSync, mkdirSync, openSync, readlinkSync, readdirSync, realpathSync, renameSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Agent } from '../agent.js';
import { snapshotSubvolume } from '../btrfs/btrfs.js';
import { run } from '../btrfs/exec.js';
import { mountedAnywhere, readMounts } from '../btrfs/mounts.js';
import { isUnder } from '../diff/classify.js';
import { AgentError, RefusedError, UsageError } from '../errors.js';
import type { Entry } from '../snapshots/inventory.js';
import { selectEntry } from '../snapshots/select.js';
import { recordEvent } from '../store/db.js';
import type { JournalEntry } from '../store/journal.js';
import { failpoint } from '../util/failpoint.js';
import { exists, isSubvolumeRoot } from '../util/fsutil.js';
import { resolveInside, type NodeKind, type TreeReader } from './contain.js';
import { mountPointsOf } from './mounts.js';
import { ROLLBACK_TAGS, type SubvolRef } from './plan.js';
import { planRestore, RESTORE_OP, type ItemFacts, type RestoreItem, type RestoreMode, type RestorePlan, type RestoreStep } from './restore-plan.js';
import { addTags, dropTags, rootIdOf } from './subvol.js';

export interface RestoreRequest {
  paths: string[];
  from: string;
  to: string | null;
  persist: boolean;
  now: number;
}

function kindAt(path: string): NodeKind {
  try {
    const st = lstatSync(path);
    return st.isSymbolicLink() ? 'symlink' : st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'missing';
    throw e;
  }
}

/** The snapshot seen by the containment rules: lstat and readlink below its root, nothing else. */
function snapshotReader(root: string): TreeReader {
  return { kind: (rel) => kindAt(rel ? join(root, rel) : root), readlink: (rel) => readlinkSync(join(root, rel), 'utf8') };
}

/** What one restore reads of the mounts, each read at most once: every namespace's (slow: every process), and this one's mount points. */
interface Mounts {
  anywhere(): Map<number, string[]>;
  here(): string[];
}

function mountsOnce(top: string): Mounts {
  let anywhere: Map<number, string[]> | undefined;
  let here: string[] | undefined;
  return { anywhere: () => (anywhere ??= mountedAnywhere(top)), here: () => (here ??= readMounts().map((m) => m.mountPoint)) };
}

/** The configured source whose live subvolume is mounted at a directory holding every path, if any. */
function sourceOfPaths(agent: Agent, paths: string[], mounts: Mounts): { source: string; mountPoint: string } | null {
  for (const source of Object.keys(agent.config.snapshots.sources)) {
    const sv = agent.inventory.subvolumes.find((s) => s.path === source);
    if (!sv) continue;
    for (const mp of mountPointsOf(agent.top, sv.id, mounts.anywhere())) {
      if (paths.every((p) => isUnder(p, mp))) return { source, mountPoint: mp };
    }
  }
  return null;
}

/** --from: a name or path of any snapshot or archived root; a keyword or age within the paths' source (or the archived roots). */
function resolveFrom(agent: Agent, selector: string, paths: string[], now: number, mounts: Mounts): Entry {
  const all = [...agent.inventory.snapshots, ...agent.inventory.roots];
  const named = all.filter((e) => e.name === selector || e.rel === selector);
  if (named.length === 1) return named[0]!;
  const rootSource = agent.config.root.subvolume;
  const roots = agent.inventory.roots.filter((e) => e.source === rootSource);
  const owner = selector === 'previous-boot' ? null : sourceOfPaths(agent, paths, mounts);
  const scope = owner ? agent.inventory.snapshots.filter((e) => e.source === owner.source) : roots;
  const what = owner ? `snapshot of ${owner.source} (mounted at ${owner.mountPoint})` : `archived root of ${rootSource}`;
  const sel = selectEntry(scope, selector, now, what);
  if (!sel.ok) throw new UsageError(`--from ${selector}: ${sel.error}`);
  return sel.entry;
}

/** Path inside the snapshot for a requested path: below the source's mount point, or as given. */
function insidePath(agent: Agent, from: Entry, path: string, mounts: Mounts): string {
  if (from.kind === 'root' || !from.source) return path;
  const sv = agent.inventory.subvolumes.find((s) => s.path === from.source);
  const mp = sv ? mountPointsOf(agent.top, sv.id, mounts.anywhere()).find((m) => isUnder(path, m)) : undefined;
  return mp ? path.slice(mp === '/' ? 0 : mp.length) || '/' : path;
}

/** `dest` with its existing parent directories resolved (links followed, as the live system sees them), and the parents still to make. */
function resolveDest(dest: string): { dest: string; missing: string[] } {
  const parts = dest.split('/').filter(Boolean);
  const name = parts.pop()!;
  const missing: string[] = [];
  while (parts.length && kindAt('/' + parts.join('/')) === 'missing') missing.unshift(parts.pop()!);
  // realpath(3) itself: Node's JS realpathSync folds ".." in link targets by text, not as the kernel does.
  const base = realpathSync.native('/' + parts.join('/'));
  if (kindAt(base) !== 'dir') throw new RefusedError(`${base} is not a directory: cannot restore below it`);
  return { dest: join(base, ...missing, name), missing: missing.map((_, i) => join(base, ...missing.slice(0, i + 1))) };
}

/** The subvolume of this filesystem that holds `path` (which exists), by id and then by st_dev: the same id on another filesystem does not count. */
function holderOf(agent: Agent, path: string): SubvolRef | null {
  const id = rootIdOf(path);
  const sv = id === null ? undefined : agent.inventory.subvolumes.find((s) => s.id === id);
  if (!sv) return null;
  try {
    if (lstatSync(join(agent.top, sv.path)).dev !== lstatSync(path).dev) return null;
  } catch {
    return null;
  }
  return { rel: sv.path, id: sv.id, uuid: sv.uuid };
}

/** Entries under the existing directory `dest` that `src` does not have (a changed kind counts, its subtree not). */
function extrasOf(dest: string, src: string): { count: number; sample: string[] } {
  const out = { count: 0, sample: [] as string[] };
  const dev = lstatSync(dest).dev;
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dest, rel))) {
      const r = rel ? `${rel}/${name}` : name;
      const d = lstatSync(join(dest, r));
      const s = kindAt(join(src, r));
      const dKind = d.isSymbolicLink() ? 'symlink' : d.isDirectory() ? 'dir' : 'other';
      if (s === 'missing' || (dKind === 'dir') !== (s === 'dir')) {
        out.count++;
        if (out.sample.length < 5) out.sample.push(r);
      } else if (dKind === 'dir' && d.dev === dev) walk(r);
    }
  };
  walk('');
  return out;
}

function destBaseOf(agent: Agent, mode: RestoreMode, from: Entry, to: string | null): string {
  if (mode === 'to') return to!;
  if (mode === 'persist') return agent.config.persistence.storage;
  return from.kind === 'root' ? agent.config.systemRoot : join(agent.top, from.source!);
}

function factsFor(agent: Agent, from: Entry, mode: RestoreMode, to: string | null, path: string, mounts: Mounts): ItemFacts {
  const inside = insidePath(agent, from, path, mounts);
  const c = resolveInside(inside, snapshotReader(from.path), from.rel);
  if (!c.ok) throw new RefusedError(`${path}: ${c.error}`, { path, reason: c.reason });
  const r = resolveDest(join(destBaseOf(agent, mode, from, to), c.rel));
  const destKind = kindAt(r.dest);
  // A missing parent gets the mode, owner and times of the same directory in the snapshot.
  const srcParents = c.rel.split('/').slice(0, -1);
  const mkdirs = r.missing.map((p, i) => {
    const rel = srcParents.slice(0, srcParents.length - r.missing.length + i + 1).join('/');
    return { path: p, like: rel && kindAt(join(from.path, rel)) === 'dir' ? join(from.path, rel) : null };
  });
  if (destKind !== 'missing') {
    const inside = mounts.here().filter((m) => isUnder(m, r.dest));
    if (inside.length) throw new RefusedError(`${r.dest} is or holds a mount point (${inside.join(', ')}): restore the files inside it instead`, { path });
  }
  // Files and links live in their parent's subvolume; a directory may be a subvolume itself.
  const holderPath = destKind === 'dir' ? r.dest : destKind === 'missing' ? null : dirname(r.dest);
  return {
    path,
    srcRel: c.rel,
    kind: c.kind,
    linkTarget: c.kind === 'symlink' ? readlinkSync(join(from.path, c.rel), 'utf8') : null,
    dest: r.dest,
    destKind,
    mkdirs,
    holder: holderPath ? holderOf(agent, holderPath) : null,
    extras: c.kind === 'dir' && destKind === 'dir' ? extrasOf(r.dest, join(from.path, c.rel)) : { count: 0, sample: [] },
  };
}

export function gatherRestore(agent: Agent, req: RestoreRequest): RestorePlan {
  for (const p of req.paths) {
    if (!p.startsWith('/')) throw new UsageError(`PATH must be absolute, not "${p}" (a path on the live system, e.g. /etc/NetworkManager/system-connections)`);
  }
  if (req.to !== null && !req.to.startsWith('/')) throw new UsageError(`--to takes an absolute directory, not "${req.to}"`);
  if (req.to !== null && req.persist) throw new UsageError('--to and --persist name two different destinations: give one');
  const mounts = mountsOnce(agent.top);
  const from = resolveFrom(agent, req.from, req.paths, req.now, mounts);
  if (!from.readonly) throw new RefusedError(`${from.rel} is writable (still mounted, or not adopted yet): restore reads only from read-only snapshots, which cannot change while they are read`);
  const mode: RestoreMode = req.to !== null ? 'to' : req.persist ? 'persist' : 'in-place';
  if (mode === 'persist' && from.kind !== 'root') throw new UsageError(`--persist copies paths of the ephemeral root into ${agent.config.persistence.storage}; ${from.rel} is a snapshot of ${from.source}, which is already persistent`);
  if (mode === 'in-place' && from.kind === 'snapshot' && !from.source) throw new UsageError(`${from.rel} belongs to no configured source: restore it elsewhere with --to DIR`);
  const snapDir = agent.config.snapshots.dir;
  return planRestore({
    from: { rel: from.rel, name: from.name, kind: from.kind, source: from.source, path: from.path },
    mode,
    instant: req.now,
    items: req.paths.map((p) => factsFor(agent, from, mode, req.to, p, mounts)),
    snapshotDir: snapDir,
    managed: [agent.config.root.subvolume, ...Object.keys(agent.config.snapshots.sources)],
    taken: (n) => exists(join(agent.top, snapDir, n)),
    exists,
    storage: agent.config.persistence.storage,
  });
}

// ---- executor -----------------------------------------------------------------

export interface RestoreResult {
  outcome: 'ok' | 'failed';
  restored: string[];
  error: string | null;
  journalId: number;
}

const keyOf = (s: RestoreStep) => (s.kind === 'safety-snapshot' ? `safety:${s.to}` : `${s.kind}:${s.item}`);

/** rm -rf that stays on one filesystem: a mount or nested subvolume below is never descended into (rm then fails, loudly). */
function removeTree(path: string): void {
  if (kindAt(path) !== 'missing') run('rm', ['-rf', '--one-file-system', '--', path]);
}

/**
 * Runs `fn` with a path that names the directory `path` as the plan resolved it: it
 * is opened one component at a time from "/", each through the previous one's
 * descriptor and never following a link, so a directory swapped for a link since the
 * plan (in a tree others can write, a home directory) cannot send the copy, the
 * renames or the removal anywhere else. `/proc/<pid>/fd/<n>` also serves cp and rm.
 */
function inDir<T>(path: string, fn: (pinned: string) => T): T {
  let fd = openSync('/', constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    const parts = path.split('/').filter(Boolean);
    for (const [i, part] of parts.entries()) {
      let next: number;
      try {
        next = openSync(`/proc/self/fd/${fd}/${part}`, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'ELOOP' && code !== 'ENOTDIR') throw e;
        throw new RefusedError(`/${parts.slice(0, i + 1).join('/')} is no longer a directory (a link?) since the plan was made: nothing more was changed there`, { path });
      }
      closeSync(fd);
      fd = next;
    }
    return fn(`/proc/${process.pid}/fd/${fd}`);
  } finally {
    closeSync(fd);
  }
}

/** Missing parents, each made in its pinned parent and given the snapshot directory's mode, owner and times through its own descriptor. */
function makeParents(it: RestoreItem): void {
  for (const d of it.mkdirs) {
    if (kindAt(d.path) !== 'missing') continue;
    inDir(dirname(d.path), (parent) => {
      const path = `${parent}/${basename(d.path)}`;
      mkdirSync(path, { mode: 0o755 });
      if (!d.like) return;
      const st = lstatSync(d.like);
      const fd = openSync(path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
      try {
        fchownSync(fd, st.uid, st.gid);
        fchmodSync(fd, st.mode & 0o7777);
        futimesSync(fd, st.atime, st.mtime);
      } finally {
        closeSync(fd);
      }
    });
  }
}

/** The item's three names inside its pinned parent directory. */
function names(it: RestoreItem, parent: string) {
  return { dest: `${parent}/${basename(it.dest)}`, tmp: `${parent}/${basename(it.tmp)}`, old: `${parent}/${basename(it.old)}` };
}

function actStep(agent: Agent, plan: RestorePlan, step: RestoreStep): void {
  if (step.kind === 'safety-snapshot') {
    snapshotSubvolume(join(agent.top, step.subvolume), join(agent.top, step.to), { readonly: true, expectId: step.id });
    return;
  }
  const it = plan.items[step.item]!;
  if (step.kind === 'copy') makeParents(it);
  inDir(dirname(it.dest), (parent) => {
    const n = names(it, parent);
    switch (step.kind) {
      case 'copy':
        run('cp', ['-a', '--reflink=auto', '--no-target-directory', '--', it.src, n.tmp]);
        return;
      case 'aside':
        if (kindAt(n.dest) !== 'missing') renameSync(n.dest, n.old);
        return;
      case 'swap':
        if (kindAt(n.dest) !== 'missing') throw new AgentError(`${it.dest} appeared again while restoring it: left as it is, the restored copy is at ${it.tmp}`);
        renameSync(n.tmp, n.dest);
        return;
      case 'cleanup':
        removeTree(n.old);
        return;
    }
  });
}

function walk(agent: Agent, plan: RestorePlan, id: number, done: Set<string>): void {
  for (const step of plan.steps) {
    const key = keyOf(step);
    if (done.has(key)) continue;
    actStep(agent, plan, step);
    done.add(key);
    agent.journal.progress(id, { done: [...done] });
    failpoint(step.failpoint);
  }
}

const restoredPaths = (plan: RestorePlan, done: Set<string>) => plan.items.filter((it) => done.has(`swap:${it.index}`)).map((it) => it.path);

/** After a failed step: the item in hand goes back to how it was (its copy removed, the original put back). */
function putBack(it: RestoreItem): void {
  inDir(dirname(it.dest), (parent) => {
    const n = names(it, parent);
    if (kindAt(n.old) !== 'missing' && kindAt(n.dest) === 'missing') renameSync(n.old, n.dest);
    if (kindAt(n.dest) !== 'missing' || it.destKind === 'missing') removeTree(n.tmp);
  });
}

export function executeRestore(agent: Agent, plan: RestorePlan): RestoreResult {
  const id = agent.journal.begin<RestorePlan>(RESTORE_OP, plan);
  addTags(agent.top, agent.inventory.subvolumes, {
    pending: plan.steps.flatMap((s) => (s.kind === 'safety-snapshot' ? [{ rel: s.to, parentUuid: uuidOf(agent, s.subvolume), tag: ROLLBACK_TAGS.restore }] : [])),
  });
  failpoint('restore.after-journal');
  const done = new Set<string>();
  let result: RestoreResult;
  try {
    walk(agent, plan, id, done);
    agent.journal.finish(id, 'done');
    result = { outcome: 'ok', restored: restoredPaths(plan, done), error: null, journalId: id };
  } catch (e) {
    const current = plan.steps.find((s) => !done.has(keyOf(s)));
    const it = current && current.kind !== 'safety-snapshot' ? plan.items[current.item] : undefined;
    agent.log.error({ err: e, step: current?.kind }, `restore failed: ${(e as Error).message}`);
    if (it && !done.has(`swap:${it.index}`)) {
      try {
        putBack(it);
      } catch (e2) {
        agent.log.error({ err: e2 }, `could not put ${it.dest} back as it was: the original is at ${it.old}, the copy at ${it.tmp}`);
      }
    }
    dropTags(agent.top, agent.inventory.subvolumes, { pendingRels: plan.safety.map((s) => s.rel) });
    agent.journal.finish(id, 'failed');
    result = { outcome: 'failed', restored: restoredPaths(plan, done), error: (e as Error).message, journalId: id };
  }
  recordEvent(agent.db, RESTORE_OP, plan.from.rel, { outcome: result.outcome, paths: plan.items.map((i) => i.path), restored: result.restored, safety: plan.safety.map((s) => s.rel), error: result.error, journal: id });
  agent.refresh();
  return result;
}

function uuidOf(agent: Agent, rel: string): string {
  const sv = agent.inventory.subvolumes.find((s) => s.path === rel);
  if (!sv) throw new AgentError(`${rel} is not a subvolume any more: nothing was changed`);
  return sv.uuid;
}

/**
 * Which steps a killed restore had finished, from the filesystem (the journal's
 * progress can lag one step behind). Per path: the hidden copy, the original moved
 * aside, and the destination tell the stage; a copy the journal does not call
 * finished may be partial and is made again.
 */
function doneFromDisk(agent: Agent, plan: RestorePlan, progress: Set<string>): Set<string> {
  const done = new Set<string>();
  for (const s of plan.safety) if (isSubvolumeRoot(join(agent.top, s.rel))) done.add(`safety:${s.rel}`);
  for (const it of plan.items) {
    const tmp = kindAt(it.tmp) !== 'missing';
    const old = kindAt(it.old) !== 'missing';
    const dest = kindAt(it.dest) !== 'missing';
    const existed = it.destKind !== 'missing';
    const all = () => ['copy', 'aside', 'swap', 'cleanup'].forEach((k) => done.add(`${k}:${it.index}`));
    if (!tmp && !old) {
      if (existed ? progress.has(`swap:${it.index}`) : dest && progress.has(`copy:${it.index}`)) all();
      // else: not begun.
    } else if (tmp && !old) {
      if (progress.has(`copy:${it.index}`)) done.add(`copy:${it.index}`);
      else inDir(dirname(it.dest), (p) => removeTree(names(it, p).tmp)); // possibly partial: copied again
    } else if (tmp && old && !dest) {
      done.add(`copy:${it.index}`).add(`aside:${it.index}`);
    } else if (!tmp && old && dest) {
      done.add(`copy:${it.index}`).add(`aside:${it.index}`).add(`swap:${it.index}`);
    } else if (!tmp && old && !dest) {
      inDir(dirname(it.dest), (p) => renameSync(names(it, p).old, names(it, p).dest)); // the copy is gone: the original goes back, and it starts over
    } else {
      throw new AgentError(`${it.dest}, ${it.tmp} and ${it.old} all exist: left for a person to look at (the original is ${it.old})`);
    }
  }
  return done;
}

/** Completes a restore that was killed: the safety snapshots are made, every path ends up restored. */
export function recoverRestore(entry: JournalEntry, agent: Agent): void {
  const plan = entry.plan as RestorePlan;
  try {
    const progress = new Set(((entry.progress as { done?: string[] }).done ?? []) as string[]);
    const done = doneFromDisk(agent, plan, progress);
    walk(agent, plan, entry.id, done);
    agent.journal.finish(entry.id, 'done');
    recordEvent(agent.db, RESTORE_OP, plan.from.rel, { outcome: 'ok', recovered: true, paths: plan.items.map((i) => i.path), journal: entry.id });
    agent.log.warn({ entry: entry.id }, `completed an interrupted restore from ${plan.from.rel}`);
  } catch (e) {
    agent.journal.finish(entry.id, 'failed');
    recordEvent(agent.db, RESTORE_OP, plan.from.rel, { outcome: 'failed', recovered: true, error: (e as Error).message, journal: entry.id });
    agent.log.error({ err: e, entry: entry.id }, `could not complete the interrupted restore from ${plan.from.rel}`);
  }
}
