// `rollback` as data (DESIGN.md sections 1.4 and 10). Two kinds:
//
// - subvolume: a persistent subvolume (@persist, @home, @log) goes back to one of
//   its snapshots. A read-only safety snapshot of the live subvolume first; then the
//   live subvolume is renamed aside into the snapshot directory (never deleted: it is
//   the exact subvolume the system was using, and a mounted one keeps receiving
//   writes until the next mount); then a writable snapshot of the target takes the
//   live name. The aside is made read-only last, and only once nothing mounts it:
//   read-only while mounted read-write would make the running system's writes fail.
//   Undo is the same plan with the last rollback's aside as the target.
// - root: the next boot starts once from an archived root, through the wipe's marker
//   (src/wipe/plan.ts WIPE_FILES.marker), which both wipe executors consume.
//
// Pure: no I/O. ./execute.ts walks the steps with a journal entry and a failpoint
// after each; ../cli/rollback-view.ts prints them.
import { basenameOf, freeName } from '../btrfs/names.js';
import { RefusedError } from '../errors.js';
import { checkMarkerName, WIPE_FILES } from '../wipe/plan.js';

export const ROLLBACK_OP = 'rollback';
export const UNDO_OP = 'rollback-undo';
export const ROOT_ROLLBACK_OP = 'rollback-root';

/** Kill points of a subvolume rollback (and of undo, which is one), in the order they are reached. */
export const ROLLBACK_FAILPOINTS = [
  'rollback.after-journal',
  'rollback.after-safety',
  'rollback.after-aside',
  'rollback.after-create',
  'rollback.after-seal',
] as const;
export type RollbackFailpoint = (typeof ROLLBACK_FAILPOINTS)[number];

/** Kill points of `rollback root` (and of its --cancel). */
export const ROOT_ROLLBACK_FAILPOINTS = ['rollback-root.after-journal', 'rollback-root.after-marker'] as const;

/** Tags (meta.json) of what rollback and restore create: the agent's own, kept for rollback.graceDays. */
export const ROLLBACK_TAGS = { safety: 'pre-rollback', aside: 'rolled-back', restore: 'pre-restore' } as const;
export const GRACE_TAGS: readonly string[] = Object.values(ROLLBACK_TAGS);

/** A subvolume by identity: a path can be swapped between check and act, an id and a UUID cannot. */
export interface SubvolRef {
  /** Path from the top level. */
  rel: string;
  id: number;
  uuid: string;
}

export interface MountUse {
  mountPoint: string;
  /** systemd mount units for it; null when systemd could not be asked. */
  units: string[] | null;
}

export type RollbackStep =
  /** Read-only snapshot of `from` (must still be subvolume `live.id`) at `to`. */
  | { kind: 'safety-snapshot'; from: string; to: string; failpoint: 'rollback.after-safety' }
  /** rename(2) `from` (must still be `live.id`) to `to`, which must not exist. */
  | { kind: 'rename-aside'; from: string; to: string; failpoint: 'rollback.after-aside' }
  /** Writable snapshot of `from` (must still have `target.uuid`) at `to`, which must not exist. */
  | { kind: 'create-live'; from: string; to: string; failpoint: 'rollback.after-create' }
  /** Read-only flag on `path` (still `live.id`), unless something mounts it: then at a later run. */
  | { kind: 'seal-aside'; path: string; failpoint: 'rollback.after-seal' };

export interface RollbackPlan {
  version: 1;
  kind: 'subvolume';
  /** Journal id of the rollback this one undoes (rollback --undo), else null. */
  undoes: number | null;
  /** The live subvolume (a configured source), e.g. "@persist". */
  source: string;
  live: SubvolRef;
  target: SubvolRef & { name: string; instant: number };
  /** Read-only snapshot of the live subvolume, tagged pre-rollback. */
  safety: string;
  /** Where the live subvolume goes, tagged rolled-back. */
  aside: string;
  /** ms, whole seconds: the stamp of both names. */
  instant: number;
  /** Where the live subvolume is mounted now: then the change takes effect at the next mount. */
  mounted: MountUse[];
  steps: RollbackStep[];
}

export interface RollbackInput {
  source: string;
  live: SubvolRef;
  target: SubvolRef & { name: string; instant: number };
  snapshotDir: string;
  instant: number;
  /** Whether a name in the snapshot directory is taken. */
  taken: (name: string) => boolean;
  /** Subvolumes below the live one (paths from the top level): they would move aside with it. */
  nested: string[];
  mounted: MountUse[];
  undoes?: number | null;
}

export function planRollback(i: RollbackInput): RollbackPlan {
  if (i.target.rel === i.live.rel || i.target.uuid === i.live.uuid) throw new RefusedError(`${i.target.rel} is the live ${i.source} itself: nothing to roll back to`);
  if (i.nested.length) {
    throw new RefusedError(
      `${i.source} holds nested subvolumes (${i.nested.join(', ')}): a rollback would move them aside with it and the new ${i.source} would not have them. Move them out of ${i.source} first.`,
      { nested: i.nested },
    );
  }
  const instant = Math.floor(i.instant / 1000) * 1000;
  const base = basenameOf(i.source);
  const safetyName = freeName(base, instant, i.taken);
  const asideName = freeName(base, instant, (n) => n === safetyName || i.taken(n));
  const safety = `${i.snapshotDir}/${safetyName}`;
  const aside = `${i.snapshotDir}/${asideName}`;
  return {
    version: 1,
    kind: 'subvolume',
    undoes: i.undoes ?? null,
    source: i.source,
    live: i.live,
    target: i.target,
    safety,
    aside,
    instant,
    mounted: i.mounted,
    steps: [
      { kind: 'safety-snapshot', from: i.source, to: safety, failpoint: 'rollback.after-safety' },
      { kind: 'rename-aside', from: i.source, to: aside, failpoint: 'rollback.after-aside' },
      { kind: 'create-live', from: i.target.rel, to: i.source, failpoint: 'rollback.after-create' },
      { kind: 'seal-aside', path: aside, failpoint: 'rollback.after-seal' },
    ],
  };
}

export function describeRollbackStep(step: RollbackStep, plan: RollbackPlan): string {
  switch (step.kind) {
    case 'safety-snapshot':
      return `snapshot ${step.from} read-only as ${step.to} (tag ${ROLLBACK_TAGS.safety}, kept at least rollback.graceDays)`;
    case 'rename-aside':
      return `rename ${step.from} aside to ${step.to} (tag ${ROLLBACK_TAGS.aside}; never deleted by this command)`;
    case 'create-live':
      return `create ${step.to} as a writable snapshot of ${step.from}`;
    case 'seal-aside':
      return plan.mounted.length
        ? `make ${step.path} read-only once nothing mounts it (the next pantheragent run after it is unmounted)`
        : `make ${step.path} read-only`;
  }
}

/** When the rollback becomes visible to the running system. */
export function effectOf(plan: RollbackPlan): 'now' | 'next-mount' {
  return plan.mounted.length ? 'next-mount' : 'now';
}

// ---- root ----------------------------------------------------------------------

export type RootStep =
  /** Write the marker (atomically): one line, the archived root's name. */
  | { kind: 'write-marker'; marker: string; name: string; failpoint: 'rollback-root.after-marker' }
  /** Remove the marker (--cancel). */
  | { kind: 'remove-marker'; marker: string; failpoint: 'rollback-root.after-marker' };

export interface RootRollbackPlan {
  version: 1;
  kind: 'root';
  action: 'set' | 'cancel';
  root: string;
  archiveDir: string;
  /** The archived root the next boot starts from (action set). */
  target: { name: string; rel: string; instant: number } | null;
  /** The marker's first line before this command, if one is pending. */
  previous: string | null;
  marker: string;
  steps: RootStep[];
}

export function planRootRollback(i: {
  root: string;
  archiveDir: string;
  target: { name: string; rel: string; instant: number } | null;
  previous: string | null;
}): RootRollbackPlan {
  const base = { version: 1 as const, kind: 'root' as const, root: i.root, archiveDir: i.archiveDir, previous: i.previous, marker: WIPE_FILES.marker };
  if (!i.target) {
    if (i.previous === null) throw new RefusedError('no root rollback is pending: nothing to cancel');
    return { ...base, action: 'cancel', target: null, steps: [{ kind: 'remove-marker', marker: WIPE_FILES.marker, failpoint: 'rollback-root.after-marker' }] };
  }
  // The marker must read back the same in the initrd: one name the wipe's rule accepts.
  const check = checkMarkerName(i.target.name, i.archiveDir);
  if (!check.ok || i.target.rel !== `${i.archiveDir}/${check.name}`) {
    throw new RefusedError(`${i.target.rel} cannot be named in the rollback marker: the initrd accepts one name of [A-Za-z0-9._+@:-] directly in ${i.archiveDir}`);
  }
  return { ...base, action: 'set', target: i.target, steps: [{ kind: 'write-marker', marker: WIPE_FILES.marker, name: check.name, failpoint: 'rollback-root.after-marker' }] };
}

export function describeRootStep(step: RootStep, plan: RootRollbackPlan): string {
  if (step.kind === 'remove-marker') return `remove ${step.marker} (it names ${plan.previous}): the next boot starts from the blank root again`;
  return (
    `write ${step.marker} naming ${step.name}${plan.previous !== null ? ` (replacing the pending ${plan.previous})` : ''}: at the next boot the initrd ` +
    `archives ${plan.root} as usual and makes the new ${plan.root} a writable snapshot of ${plan.archiveDir}/${step.name}, once`
  );
}
