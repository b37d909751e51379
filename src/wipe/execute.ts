// Executor 1: runs the wipe plan with Node, for `pantheragent wipe` (an unmounted
// root: recovery, tests). It walks plan.steps twice: first deciding (reads only:
// marker, blank, root, the free archive name), then acting. The decisions are
// journaled before the first change, so a killed wipe is finished or undone from
// them by recoverWipe on the next run; every change is followed by a failpoint.
import { chmodSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Agent } from '../agent.js';
import { createSubvolume, getReadonly, renameSubvolume, setReadonly, snapshotSubvolume } from '../btrfs/btrfs.js';
import { mountedAnywhere } from '../btrfs/mounts.js';
import { formatStamp, freeName } from '../btrfs/names.js';
import { recordEvent } from '../store/db.js';
import type { JournalEntry } from '../store/journal.js';
import { failpoint } from '../util/failpoint.js';
import { exists, isSubvolumeRoot } from '../util/fsutil.js';
import { consumeMarker, readMarkerLine, writeRecordFiles } from './files.js';
import { checkMarkerName, WIPE_ERRORS, type WipePlan, type WipeStep } from './plan.js';
import { formatRecord, RECORD_VERSION, type MarkerState, type SourceKind, type WipeRecord } from './record.js';

export const WIPE_OP = 'wipe';

/** What the steps will do on this disk, decided before anything changes. */
export interface WipeDecisions {
  source: SourceKind;
  /** Path from the top level of the source subvolume. */
  from: string;
  marker: MarkerState;
  /** A marker file exists (used or ignored): it will be consumed on success. */
  markerPresent: boolean;
  blank: 'unused' | 'exists' | 'create' | 'make-read-only' | 'not-a-subvolume';
  root: 'subvolume' | 'missing' | 'not-a-subvolume';
  /** Where the old root will go (path from the top level), or null. */
  archived: string | null;
  /** The failure the run will meet, known in advance (same record as the initrd would write). */
  problem: string | null;
}

export interface WipeResult {
  outcome: 'ok' | 'failed';
  /** What is at the root's path now: the new root, the old one (never moved, or moved back), or nothing. */
  root: 'fresh' | 'as-before' | 'missing';
  archived: string | null;
  renamedBack: boolean;
  error: string | null;
  record: WipeRecord;
  line: string;
  /** Why the record could not be written (a full filesystem), or null when it was. The wipe itself stands. */
  recordError: string | null;
}

/** A step failed: `message` goes into the record, `cause` to the log. */
class StepFailure extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
  }
}

const at = (top: string, rel: string) => join(top, rel);

/** Why `pantheragent wipe` must not run now, or null. The initrd never meets this: nothing is mounted yet. */
export function wipeRefusal(agent: Agent, plan: WipePlan): string | null {
  const sv = agent.inventory.subvolumes.find((s) => s.path === plan.layout.root);
  if (!sv) return null;
  const where = mountedAnywhere(agent.top).get(sv.id);
  if (where) {
    return `${plan.layout.root} is mounted (${where.join(', ')}): the wipe replaces an unmounted root only. At boot the initrd does it; here, unmount it first.`;
  }
  return null;
}

function decideStep(step: WipeStep, top: string, plan: WipePlan, d: WipeDecisions): void {
  switch (step.kind) {
    case 'mount-top':
    case 'check-skip':
    case 'consume-marker':
    case 'write-record':
    case 'unmount':
    case 'create-root':
      return;
    case 'choose-source': {
      const line = readMarkerLine(top);
      if (line === null) return;
      d.markerPresent = true;
      const check = checkMarkerName(line, step.archiveDir);
      if (!check.ok) d.marker = { state: 'ignored', reason: check.reason };
      else if (!isSubvolumeRoot(at(top, `${step.archiveDir}/${check.name}`))) d.marker = { state: 'ignored', reason: 'not-a-subvolume' };
      else {
        d.marker = { state: 'used' };
        d.source = 'rollback';
        d.from = `${step.archiveDir}/${check.name}`;
      }
      return;
    }
    case 'ensure-blank': {
      if (d.source !== 'blank') return;
      const p = at(top, step.blank);
      if (!exists(p)) d.blank = 'create';
      else if (!isSubvolumeRoot(p)) {
        d.blank = 'not-a-subvolume';
        d.problem ??= WIPE_ERRORS.blankNotSubvolume(plan.layout);
      } else d.blank = getReadonly(p) ? 'exists' : 'make-read-only';
      return;
    }
    case 'archive-root': {
      const p = at(top, step.root);
      if (!exists(p)) d.root = 'missing';
      else if (!isSubvolumeRoot(p)) {
        d.root = 'not-a-subvolume';
        d.problem ??= WIPE_ERRORS.rootNotSubvolume(plan.layout);
      } else {
        d.root = 'subvolume';
        const name = freeName(step.base, plan.instant!, (n) => exists(at(top, `${step.archiveDir}/${n}`)));
        d.archived = `${step.archiveDir}/${name}`;
      }
      return;
    }
  }
}

/** The decide pass: reads only. */
export function decideWipe(plan: WipePlan, top: string): WipeDecisions {
  if (plan.instant === null) throw new Error('the Node executor needs a plan with its instant fixed');
  const d: WipeDecisions = {
    source: 'blank',
    from: plan.layout.blank,
    marker: { state: 'none' },
    markerPresent: false,
    blank: 'unused',
    root: 'missing',
    archived: null,
    problem: null,
  };
  for (const step of plan.steps) decideStep(step, top, plan, d);
  return d;
}

interface RunState {
  top: string;
  plan: WipePlan;
  d: WipeDecisions;
  renamed: boolean;
  /** The new root was made. */
  created: boolean;
  recordError: string | null;
}

/**
 * Writes the record; a failure (ENOSPC) is returned, not thrown: the record reports
 * the wipe, it is not part of it, so a root that was wiped stays wiped and says so.
 */
function tryWriteRecord(agent: Agent, top: string, record: WipeRecord): { line: string; error: string | null } {
  try {
    return { line: writeRecordFiles(top, record), error: null };
  } catch (e) {
    agent.log.error({ err: e }, 'could not write the wipe record');
    return { line: formatRecord(record), error: (e as Error).message };
  }
}

function attempt<T>(message: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw new StepFailure(message, e);
  }
}

function makeBlankReadonly(top: string, blank: string, l: WipePlan['layout']): void {
  attempt(WIPE_ERRORS.blankReadonly(l), () => setReadonly(at(top, blank), true));
}

/** Recovery: finish a blank this wipe created (mode 0755, read-only) or was making read-only. */
function finishBlank(top: string, l: WipePlan['layout'], created: boolean): void {
  if (getReadonly(at(top, l.blank))) return;
  if (created) attempt(WIPE_ERRORS.blankCreate(l), () => chmodSync(at(top, l.blank), 0o755));
  makeBlankReadonly(top, l.blank, l);
}

function actStep(agent: Agent, step: WipeStep, s: RunState, buildRecord: () => WipeRecord): void {
  const { top, plan, d } = s;
  const l = plan.layout;
  switch (step.kind) {
    case 'mount-top': // the agent's own top-level mount is already there
    case 'check-skip': // the command was asked for explicitly
    case 'choose-source': // decided
    case 'unmount':
      return;
    case 'ensure-blank':
      if (d.blank === 'not-a-subvolume') throw new StepFailure(WIPE_ERRORS.blankNotSubvolume(l));
      if (d.blank === 'create') {
        attempt(WIPE_ERRORS.blankCreate(l), () => {
          mkdirSync(dirname(at(top, step.blank)), { recursive: true });
          createSubvolume(at(top, step.blank));
        });
        failpoint(step.failpoints[0]);
        // Its root directory becomes "/" of every fresh root.
        attempt(WIPE_ERRORS.blankCreate(l), () => chmodSync(at(top, step.blank), 0o755));
      }
      if (d.blank === 'create' || d.blank === 'make-read-only') makeBlankReadonly(top, step.blank, l);
      failpoint(step.failpoints[1]);
      return;
    case 'archive-root':
      if (d.root === 'not-a-subvolume') throw new StepFailure(WIPE_ERRORS.rootNotSubvolume(l));
      if (d.root === 'missing') return;
      attempt(WIPE_ERRORS.archiveDir(l), () => mkdirSync(at(top, step.archiveDir), { recursive: true }));
      attempt(WIPE_ERRORS.rename(l), () => renameSubvolume(at(top, step.root), at(top, d.archived!)));
      s.renamed = true;
      failpoint(step.failpoint);
      return;
    case 'create-root':
      if (exists(at(top, step.root))) throw new StepFailure(WIPE_ERRORS.rootInTheWay(l));
      attempt(WIPE_ERRORS.snapshot(l), () => {
        mkdirSync(dirname(at(top, step.root)), { recursive: true });
        snapshotSubvolume(at(top, d.from), at(top, step.root), { readonly: false });
      });
      s.created = true;
      failpoint(step.failpoint);
      return;
    case 'consume-marker':
      if (d.markerPresent && exists(at(top, step.marker))) attempt(WIPE_ERRORS.consume(), () => consumeMarker(top));
      failpoint(step.failpoint);
      return;
    case 'write-record':
      s.recordError = tryWriteRecord(agent, top, buildRecord()).error;
      failpoint(step.failpoint);
      return;
  }
}

function recordOf(plan: WipePlan, d: WipeDecisions, r: { outcome: 'ok' | 'failed'; archived: string | null; renamedBack: boolean; error: string | null }): WipeRecord {
  return {
    version: RECORD_VERSION,
    time: new Date(plan.instant!).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    outcome: r.outcome,
    executor: 'agent',
    stamp: formatStamp(plan.instant!),
    source: d.source,
    from: d.from,
    root: plan.layout.root,
    archived: r.archived,
    marker: d.marker,
    renamedBack: r.renamedBack,
    error: r.error,
  };
}

/**
 * The failure path of plan.onFailure: the old root goes back if it was moved and
 * no new root took its place; the failure is recorded. Never throws for the record.
 */
function failWith(agent: Agent, s: RunState, message: string, cause: unknown): WipeResult {
  const l = s.plan.layout;
  agent.log.error({ err: cause, step: message }, `wipe failed: ${message}`);
  let renamedBack = false;
  let error = message;
  if (s.renamed && !exists(at(s.top, l.root))) {
    try {
      renameSubvolume(at(s.top, s.d.archived!), at(s.top, l.root));
      renamedBack = true;
      agent.log.warn({ from: s.d.archived, to: l.root }, 'renamed the old root back: the system is as before the wipe');
    } catch (e) {
      error += `; and renaming ${s.d.archived} back to ${l.root} failed too`;
      agent.log.error({ err: e }, `could not rename ${s.d.archived} back to ${l.root}: rename it by hand before booting`);
    }
  }
  const archived = s.renamed && !renamedBack ? s.d.archived : null;
  const record = recordOf(s.plan, s.d, { outcome: 'failed', archived, renamedBack, error });
  const written = tryWriteRecord(agent, s.top, record);
  const root = s.created ? 'fresh' : !s.renamed || renamedBack ? 'as-before' : 'missing';
  return { outcome: 'failed', root, archived, renamedBack, error, record, line: written.line, recordError: written.error };
}

interface JournaledWipe {
  plan: WipePlan;
  decisions: WipeDecisions;
}

/** Runs the act pass of `plan` under the journal. The caller holds the lock and has checked wipeRefusal. */
export function executeWipe(agent: Agent, plan: WipePlan, d: WipeDecisions): WipeResult {
  const id = agent.journal.begin<JournaledWipe>(WIPE_OP, { plan, decisions: d });
  failpoint('wipe.after-journal');
  const s: RunState = { top: agent.top, plan, d, renamed: false, created: false, recordError: null };
  const okRecord = () => recordOf(plan, d, { outcome: 'ok', archived: d.archived, renamedBack: false, error: null });
  let result: WipeResult;
  try {
    for (const step of plan.steps) {
      actStep(agent, step, s, okRecord);
      agent.journal.progress(id, { done: step.kind });
    }
    const record = okRecord();
    result = { outcome: 'ok', root: 'fresh', archived: d.archived, renamedBack: false, error: null, record, line: formatRecord(record), recordError: s.recordError };
    agent.journal.finish(id, 'done');
  } catch (e) {
    const message = e instanceof StepFailure ? e.message : (e as Error).message;
    result = failWith(agent, s, message, e instanceof StepFailure ? e.cause : e);
    agent.journal.finish(id, result.renamedBack ? 'undone' : 'failed');
  }
  recordEvent(agent.db, 'wipe', plan.layout.root, { outcome: result.outcome, archived: result.archived, source: d.from, error: result.error, executor: 'agent', recordError: result.recordError });
  agent.refresh();
  return result;
}

/**
 * Finishes a wipe that was killed. The filesystem says how far it got: the archive
 * name was free when it was chosen under the lock, so if it exists now the rename
 * happened. Before the rename: undone (nothing of the root changed; a half-made
 * blank is finished). After it, or with no root to archive: completed (the new root
 * is made if missing, the marker consumed, the record written); if the new root
 * cannot be made, the old one goes back as in any failure.
 */
export function recoverWipe(entry: JournalEntry, agent: Agent): void {
  const { plan, decisions: d } = entry.plan as JournaledWipe;
  const top = agent.top;
  const l = plan.layout;
  const renamed = d.archived !== null && isSubvolumeRoot(at(top, d.archived));
  const s: RunState = { top, plan, d, renamed, created: false, recordError: null };
  if (d.root !== 'missing' && !renamed) {
    agent.log.warn({ entry: entry.id }, 'an interrupted wipe had not renamed the root yet: nothing to undo');
    if (d.blank === 'create' && isSubvolumeRoot(at(top, l.blank))) finishBlank(top, l, true);
    tryWriteRecord(agent, top, recordOf(plan, d, { outcome: 'failed', archived: null, renamedBack: false, error: WIPE_ERRORS.interrupted() }));
    agent.journal.finish(entry.id, 'undone');
    recordEvent(agent.db, 'wipe', l.root, { outcome: 'failed', recovered: true, error: WIPE_ERRORS.interrupted() });
    return;
  }
  try {
    if (!exists(at(top, l.root))) {
      agent.log.warn({ entry: entry.id, from: d.from }, 'completing an interrupted wipe: making the new root');
      if (d.source === 'blank' && (d.blank === 'create' || d.blank === 'make-read-only')) {
        if (!exists(at(top, l.blank))) {
          attempt(WIPE_ERRORS.blankCreate(l), () => {
            mkdirSync(dirname(at(top, l.blank)), { recursive: true });
            createSubvolume(at(top, l.blank));
          });
        }
        finishBlank(top, l, d.blank === 'create');
      }
      attempt(WIPE_ERRORS.snapshot(l), () => {
        mkdirSync(dirname(at(top, l.root)), { recursive: true });
        snapshotSubvolume(at(top, d.from), at(top, l.root), { readonly: false });
      });
      s.created = true;
    }
    if (d.markerPresent && exists(at(top, plan.files.marker))) attempt(WIPE_ERRORS.consume(), () => consumeMarker(top));
    tryWriteRecord(agent, top, recordOf(plan, d, { outcome: 'ok', archived: renamed ? d.archived : null, renamedBack: false, error: null }));
    agent.journal.finish(entry.id, 'done');
    recordEvent(agent.db, 'wipe', l.root, { outcome: 'ok', recovered: true, archived: renamed ? d.archived : null });
  } catch (e) {
    const r = failWith(agent, s, e instanceof StepFailure ? e.message : (e as Error).message, e instanceof StepFailure ? e.cause : e);
    agent.journal.finish(entry.id, r.renamedBack ? 'undone' : 'failed');
    recordEvent(agent.db, 'wipe', l.root, { outcome: 'failed', recovered: true, error: r.error });
  }
  agent.refresh();
}
