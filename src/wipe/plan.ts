// The boot-time root wipe of DESIGN.md section 6 as data. One plan, two executors:
// ./execute.ts runs it with Node (`pantheragent wipe`), ./render.ts turns it into the
// POSIX sh script for the initrd (`pantheragent render-initrd`). Neither executor
// has steps of its own: both walk `steps` in order and give each kind the meaning
// documented on it here. Decisions that depend on the disk (is there a marker, does
// @root exist, which _N is free) are described, not taken, because the initrd can
// only take them at boot.
//
// Pure: no I/O. Everything here is a function of the configuration and a time.
import { basenameOf, formatStamp } from '../btrfs/names.js';

/** Files on the top level that the wipe reads and writes (next to meta.json). */
export const WIPE_FILES = {
  dir: '.pantheragent',
  /** Pending root rollback: one line, the name of an archived root (optionally prefixed with "<archiveDir>/"). */
  marker: '.pantheragent/rollback-root',
  /** Where a consumed marker goes: it is renamed, never deleted, so what happened stays visible. */
  markerUsed: '.pantheragent/rollback-root.used',
  /** The last result record (one line, see ./record.ts). */
  result: '.pantheragent/wipe-result',
  /** Every result record, appended. */
  log: '.pantheragent/wipe.log',
} as const;

/** Kernel command-line word that makes the initrd skip the wipe (outcome=skipped). */
export const SKIP_FLAG = 'pantheragent.wipe=0';

/**
 * Characters a marker name may hold. A name is one path component made of these,
 * which keeps "..", "/" and anything needing quoting out by construction. Used as a
 * sh bracket expression and as a JS character class, so both executors agree.
 */
export const MARKER_NAME_CHARS = 'A-Za-z0-9._+@:-';
const MARKER_NAME_RE = new RegExp(`^[${MARKER_NAME_CHARS}]+$`);

/** Kill points of the Node executor (PANTHERAGENT_FAILPOINT), in the order they are reached. */
export const WIPE_FAILPOINTS = [
  'wipe.after-journal',
  'wipe.after-blank-create',
  'wipe.after-blank',
  'wipe.after-rename',
  'wipe.after-snapshot',
  'wipe.after-consume',
  'wipe.after-record',
] as const;
export type WipeFailpoint = (typeof WIPE_FAILPOINTS)[number];

export interface WipeLayout {
  device: string;
  /** Subvolume paths from the top level. */
  root: string;
  blank: string;
  archiveDir: string;
}

/**
 * The steps, in order. Every executor must implement each kind exactly as described.
 * Any failure in any step jumps to `WipePlan.onFailure`.
 */
export type WipeStep =
  /** Mount the top level (subvolid 5) of `device` at a private mount point. The agent uses its own top-level mount. */
  | { kind: 'mount-top'; device: string }
  /** initrd only: if the kernel command line holds `flag`, record outcome=skipped, change nothing, exit 0. */
  | { kind: 'check-skip'; flag: string }
  /**
   * If `marker` exists, read its first line; strip a leading "<archiveDir>/"; the
   * rest must be one name of MARKER_NAME_CHARS (else ignored:bad-name) naming a
   * subvolume (inode 256) directly in `archiveDir` (else ignored:not-a-subvolume).
   * Valid: source=rollback from <archiveDir>/<name>, marker=used. Otherwise
   * source=blank from `blank`. Reads only.
   */
  | { kind: 'choose-source'; marker: string; archiveDir: string; blank: string }
  /**
   * Only when source=blank. Missing: create an empty subvolume, chmod 0755 (it becomes
   * every fresh root's "/"), then set ro=true. Present but not a subvolume: fail.
   * A writable subvolume: set ro=true (this also completes a creation that was cut
   * short between create and ro).
   */
  | { kind: 'ensure-blank'; blank: string; failpoints: ['wipe.after-blank-create', 'wipe.after-blank'] }
  /**
   * If `root` exists: it must be a subvolume (else fail, touching nothing); create
   * `archiveDir` if missing; pick the first free `<base>.<stamp>[_N]` in it; rename
   * `root` there. Never onto an existing name. Nested subvolumes move with it.
   * If `root` does not exist (first boot), nothing is archived.
   */
  | { kind: 'archive-root'; root: string; archiveDir: string; base: string; failpoint: 'wipe.after-rename' }
  /** `root` must not exist now. Create it as a writable snapshot of the source. */
  | { kind: 'create-root'; root: string; failpoint: 'wipe.after-snapshot' }
  /** If a marker was present (used or ignored), rename it to `used`: consumed, once. */
  | { kind: 'consume-marker'; marker: string; used: string; failpoint: 'wipe.after-consume' }
  /** Write the result record to `result` (atomically) and append it to `log`. */
  | { kind: 'write-record'; result: string; log: string; failpoint: 'wipe.after-record' }
  /** Unmount what mount-top mounted. */
  | { kind: 'unmount' };

export type WipeStepKind = WipeStep['kind'];

export interface WipePlan {
  version: 1;
  layout: WipeLayout;
  files: typeof WIPE_FILES;
  /** The instant (ms, whole seconds) the stamp is taken from; null: at run time (the initrd script). */
  instant: number | null;
  steps: WipeStep[];
  /**
   * What any failure does: if the old root was renamed and `root` does not exist,
   * rename it back; write the record with outcome=failed; unmount; the initrd exits 0
   * so boot continues on the unwiped root.
   */
  onFailure: { renameBack: true; record: true; initrdExitCode: 0 };
}

export function planWipe(layout: WipeLayout, instant: number | null): WipePlan {
  return {
    version: 1,
    layout,
    files: WIPE_FILES,
    instant: instant === null ? null : Math.floor(instant / 1000) * 1000,
    steps: [
      { kind: 'mount-top', device: layout.device },
      { kind: 'check-skip', flag: SKIP_FLAG },
      { kind: 'choose-source', marker: WIPE_FILES.marker, archiveDir: layout.archiveDir, blank: layout.blank },
      { kind: 'ensure-blank', blank: layout.blank, failpoints: ['wipe.after-blank-create', 'wipe.after-blank'] },
      { kind: 'archive-root', root: layout.root, archiveDir: layout.archiveDir, base: basenameOf(layout.root), failpoint: 'wipe.after-rename' },
      { kind: 'create-root', root: layout.root, failpoint: 'wipe.after-snapshot' },
      { kind: 'consume-marker', marker: WIPE_FILES.marker, used: WIPE_FILES.markerUsed, failpoint: 'wipe.after-consume' },
      { kind: 'write-record', result: WIPE_FILES.result, log: WIPE_FILES.log, failpoint: 'wipe.after-record' },
      { kind: 'unmount' },
    ],
    onFailure: { renameBack: true, record: true, initrdExitCode: 0 },
  };
}

/** One line for people per step, as `wipe` prints the plan. */
export function describeStep(step: WipeStep, plan: WipePlan): string {
  const stamp = plan.instant === null ? '<UTC stamp at boot>' : formatStamp(plan.instant);
  switch (step.kind) {
    case 'mount-top':
      return `mount the top level (subvolid 5) of ${step.device} at a private mount point`;
    case 'check-skip':
      return `initrd only: skip everything if the kernel command line has ${step.flag}`;
    case 'choose-source':
      return `source: the archived root named in ${step.marker} if it is a subvolume directly in ${step.archiveDir}, else ${step.blank}`;
    case 'ensure-blank':
      return `if the source is ${step.blank} and it is missing, create it empty and read-only`;
    case 'archive-root':
      return `rename ${step.root} (if it exists; it must be a subvolume) to ${step.archiveDir}/${step.base}.${stamp}[_N], never onto an existing name`;
    case 'create-root':
      return `create ${step.root} as a writable snapshot of the source`;
    case 'consume-marker':
      return `consume the marker, once: rename ${step.marker} to ${step.used}`;
    case 'write-record':
      return `write the result record to ${step.result} and append it to ${step.log}`;
    case 'unmount':
      return 'unmount the top level';
  }
}

export function describeFailure(plan: WipePlan): string {
  return `on any failure: rename the archived root back to ${plan.layout.root} if the new one was not made, record outcome=failed, exit 0 (boot continues on the unwiped root)`;
}

export type MarkerCheck = { ok: true; name: string } | { ok: false; reason: 'bad-name' };

/**
 * The textual half of the marker rule (the other half, "is a subvolume in the
 * archive directory", needs the disk). `firstLine` is the marker's first line.
 */
export function checkMarkerName(firstLine: string, archiveDir: string): MarkerCheck {
  const name = firstLine.startsWith(archiveDir + '/') ? firstLine.slice(archiveDir.length + 1) : firstLine;
  if (name === '.' || name === '..' || !MARKER_NAME_RE.test(name)) return { ok: false, reason: 'bad-name' };
  return { ok: true, name };
}

/**
 * The messages that go into the record's error field. Both executors use these, so
 * the same failure reads the same whichever executor met it; the tool's own error
 * output goes to the log, not the record.
 */
export const WIPE_ERRORS = {
  blankCreate: (l: WipeLayout) => `could not create the empty read-only ${l.blank}`,
  blankNotSubvolume: (l: WipeLayout) => `${l.blank} exists but is not a subvolume: left as it is`,
  blankReadonly: (l: WipeLayout) => `could not make ${l.blank} read-only`,
  rootNotSubvolume: (l: WipeLayout) => `${l.root} exists but is not a subvolume: left as it is, not wiped`,
  archiveDir: (l: WipeLayout) => `could not create the archive directory ${l.archiveDir}`,
  rename: (l: WipeLayout) => `could not rename ${l.root} into ${l.archiveDir}`,
  rootInTheWay: (l: WipeLayout) => `${l.root} exists after archiving it: not creating the new root`,
  snapshot: (l: WipeLayout) => `could not snapshot the source as the new ${l.root}`,
  consume: () => `could not consume the rollback marker ${WIPE_FILES.marker}`,
  interrupted: () => 'interrupted before the old root was renamed: nothing was changed',
} as const;

/** The layout a configuration declares (the wipe needs nothing else from it). */
export function layoutOf(config: { btrfs: { device: string }; root: { subvolume: string; blank: string; archiveDir: string } }): WipeLayout {
  return { device: config.btrfs.device, root: config.root.subvolume, blank: config.root.blank, archiveDir: config.root.archiveDir };
}
