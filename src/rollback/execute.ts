// Walks a rollback plan (./plan.ts) with effects: journaled before the first change,
// a failpoint after every step, each act checked against the identity (subvolume id
// or UUID) the plan recorded. A killed rollback is finished by recoverRollback on the
// next mutating run: before the rename nothing of the live subvolume changed (undone,
// the safety snapshot stays); after it the rollback is completed. Either way it is
// whole or absent, and nothing is deleted.
import { unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Agent } from '../agent.js';
import { renameSubvolume, setReadonly, snapshotSubvolume } from '../btrfs/btrfs.js';
import { mountedAnywhere } from '../btrfs/mounts.js';
import { AgentError, RefusedError } from '../errors.js';
import { recordEvent } from '../store/db.js';
import type { JournalEntry } from '../store/journal.js';
import { failpoint } from '../util/failpoint.js';
import { exists, isSubvolumeRoot } from '../util/fsutil.js';
import { readMarkerLine, writeRollbackMarker } from '../wipe/files.js';
import { checkMarkerName } from '../wipe/plan.js';
import { mountPointsOf } from './mounts.js';
import { addTags, dropTags, identity, requireId, rootIdOf } from './subvol.js';
import { ROLLBACK_OP, ROLLBACK_TAGS, ROOT_ROLLBACK_OP, UNDO_OP, type RollbackPlan, type RollbackStep, type RootRollbackPlan } from './plan.js';

export interface RollbackResult {
  outcome: 'ok' | 'failed';
  /** The aside is read-only now (false while something still mounts it). */
  sealed: boolean;
  /** A failure after the rename put the live subvolume back. */
  renamedBack: boolean;
  error: string | null;
  journalId: number;
}

const at = (top: string, rel: string) => join(top, rel);

/** Make the aside read-only unless something mounts it; true when it is read-only now. */
function seal(agent: Agent, plan: RollbackPlan): boolean {
  const path = at(agent.top, plan.aside);
  if (mountPointsOf(agent.top, plan.live.id).length) return false;
  setReadonly(path, true, plan.live.id);
  return true;
}

function act(agent: Agent, plan: RollbackPlan, step: RollbackStep, state: { renamed: boolean; sealed: boolean }): void {
  const top = agent.top;
  switch (step.kind) {
    case 'safety-snapshot':
      snapshotSubvolume(at(top, step.from), at(top, step.to), { readonly: true, expectId: plan.live.id });
      return;
    case 'rename-aside':
      requireId(at(top, step.from), step.from, plan.live.id);
      renameSubvolume(at(top, step.from), at(top, step.to));
      state.renamed = true;
      return;
    case 'create-live':
      createLive(top, plan);
      return;
    case 'seal-aside':
      // The rollback itself is done: a seal that fails is retried by the next mutating run (sealAsides), not a failed rollback.
      try {
        state.sealed = seal(agent, plan);
      } catch (e) {
        agent.log.warn({ err: e, aside: plan.aside }, `could not make ${plan.aside} read-only yet; the next run tries again`);
      }
      return;
  }
}

/** The target (by UUID) snapshotted writable at the live name, then verified by its parent UUID. */
function createLive(top: string, plan: RollbackPlan): void {
  const target = identity(at(top, plan.target.rel));
  if (target?.uuid !== plan.target.uuid) throw new RefusedError(`${plan.target.rel} is no longer the snapshot the plan was made for (UUID ${plan.target.uuid})`);
  if (exists(at(top, plan.source))) throw new RefusedError(`${plan.source} exists again after it was renamed aside: not creating it`);
  snapshotSubvolume(at(top, plan.target.rel), at(top, plan.source), { readonly: false, expectId: plan.target.id });
  const made = identity(at(top, plan.source));
  if (made?.parentUuid !== plan.target.uuid) throw new AgentError(`the new ${plan.source} is not a snapshot of ${plan.target.rel} (parent UUID ${made?.parentUuid ?? 'none'})`);
}

/** The live subvolume stayed where it was: it is not an aside; a safety snapshot never made has no tag either. */
function untag(agent: Agent, plan: RollbackPlan): void {
  dropTags(agent.top, agent.inventory.subvolumes, { pendingRels: [plan.safety], uuid: { uuid: plan.live.uuid, tag: ROLLBACK_TAGS.aside } });
}

const opOf = (plan: RollbackPlan) => (plan.undoes === null ? ROLLBACK_OP : UNDO_OP);

/** Runs the plan under the journal. The caller holds the lock. */
export function executeRollback(agent: Agent, plan: RollbackPlan): RollbackResult {
  const op = opOf(plan);
  const id = agent.journal.begin<RollbackPlan>(op, plan);
  // Tags after the journal entry: a crash before the subvolumes move leaves tags that recovery drops.
  addTags(agent.top, agent.inventory.subvolumes, {
    pending: [{ rel: plan.safety, parentUuid: plan.live.uuid, tag: ROLLBACK_TAGS.safety }],
    uuid: { uuid: plan.live.uuid, tag: ROLLBACK_TAGS.aside },
  });
  failpoint('rollback.after-journal');
  const state = { renamed: false, sealed: false };
  const done: string[] = [];
  let result: RollbackResult;
  try {
    for (const step of plan.steps) {
      act(agent, plan, step, state);
      done.push(step.kind);
      agent.journal.progress(id, { done });
      failpoint(step.failpoint);
    }
    result = { outcome: 'ok', sealed: state.sealed, renamedBack: false, error: null, journalId: id };
    agent.journal.finish(id, 'done');
  } catch (e) {
    const error = (e as Error).message;
    agent.log.error({ err: e, plan: { source: plan.source, target: plan.target.rel } }, `rollback of ${plan.source} failed: ${error}`);
    let renamedBack = false;
    // Failed after the rename and before a new live subvolume: put the old one back.
    if (state.renamed && !exists(at(agent.top, plan.source))) {
      try {
        renameSubvolume(at(agent.top, plan.aside), at(agent.top, plan.source));
        renamedBack = true;
      } catch (e2) {
        agent.log.error({ err: e2 }, `could not rename ${plan.aside} back to ${plan.source}: rename it by hand`);
      }
    }
    const untouched = !state.renamed || renamedBack;
    if (untouched) untag(agent, plan);
    agent.journal.finish(id, untouched ? 'undone' : 'failed');
    result = { outcome: 'failed', sealed: false, renamedBack, error: untouched ? `${error}; ${plan.source} is unchanged` : error, journalId: id };
  }
  recordEvent(agent.db, op, plan.source, { outcome: result.outcome, target: plan.target.rel, safety: plan.safety, aside: plan.aside, sealed: result.sealed, error: result.error, journal: id });
  agent.refresh();
  return result;
}

/**
 * Finishes a rollback that was killed. The aside name was free when the plan was made
 * under the lock, so the live subvolume's id at the aside path says the rename
 * happened: then the rollback is completed (the new live subvolume made if missing,
 * the aside sealed if nothing mounts it); otherwise nothing of the live subvolume
 * changed and it is undone (a safety snapshot already made stays).
 */
export function recoverRollback(entry: JournalEntry, agent: Agent): void {
  const plan = entry.plan as RollbackPlan;
  const top = agent.top;
  const op = opOf(plan);
  const aside = at(top, plan.aside);
  if (!isSubvolumeRoot(aside) || rootIdOf(aside) !== plan.live.id) {
    untag(agent, plan);
    agent.journal.finish(entry.id, 'undone');
    recordEvent(agent.db, op, plan.source, { outcome: 'undone', recovered: true, target: plan.target.rel, journal: entry.id });
    agent.log.warn({ entry: entry.id, source: plan.source }, `an interrupted rollback of ${plan.source} had not moved it yet: ${plan.source} is unchanged`);
    return;
  }
  try {
    if (!exists(at(top, plan.source))) createLive(top, plan);
    else if (identity(at(top, plan.source))?.parentUuid !== plan.target.uuid) {
      throw new AgentError(`${plan.source} exists but is not a snapshot of ${plan.target.rel}: left as it is; the old ${plan.source} is at ${plan.aside}`);
    }
    const sealed = seal(agent, plan);
    agent.journal.finish(entry.id, 'done');
    recordEvent(agent.db, op, plan.source, { outcome: 'ok', recovered: true, target: plan.target.rel, safety: plan.safety, aside: plan.aside, sealed, journal: entry.id });
    agent.log.warn({ entry: entry.id, source: plan.source }, `completed an interrupted rollback of ${plan.source} to ${plan.target.rel}`);
  } catch (e) {
    agent.journal.finish(entry.id, 'failed');
    recordEvent(agent.db, op, plan.source, { outcome: 'failed', recovered: true, error: (e as Error).message, journal: entry.id });
    agent.log.error({ err: e, entry: entry.id }, `could not complete the interrupted rollback of ${plan.source}`);
  }
}

/**
 * Asides left writable because something mounted them: read-only as soon as nothing
 * does (retention may delete only read-only subvolumes). Run by every mutating
 * openAgent, which refreshes the inventory when this returns any; returns the paths sealed.
 */
export function sealAsides(agent: Agent): string[] {
  const sealed: string[] = [];
  // Read only when there is an aside: every mutating run calls this.
  let where: Map<number, string[]> | undefined;
  // Writable, an aside is listed with the foreign entries (the agent makes only read-only ones there).
  for (const f of agent.inventory.foreign) {
    const e = f.writable;
    if (!e || e.tag !== ROLLBACK_TAGS.aside) continue;
    where ??= mountedAnywhere(agent.top);
    if (mountPointsOf(agent.top, e.btrfsId, where).length) continue;
    try {
      setReadonly(e.path, true, e.btrfsId);
      recordEvent(agent.db, 'sealed', e.rel, { readonly: true });
      sealed.push(e.rel);
    } catch (err) {
      agent.log.warn({ err, path: e.rel }, `could not make ${e.rel} read-only; the next run tries again`);
    }
  }
  return sealed;
}

// ---- root ----------------------------------------------------------------------

export interface RootRollbackResult {
  outcome: 'ok';
  journalId: number;
}

function actRoot(top: string, plan: RootRollbackPlan): void {
  for (const step of plan.steps) {
    if (step.kind === 'write-marker') writeRollbackMarker(top, step.name);
    else if (exists(at(top, step.marker))) unlinkSync(at(top, step.marker));
    failpoint(step.failpoint);
  }
}

export function executeRootRollback(agent: Agent, plan: RootRollbackPlan): RootRollbackResult {
  const id = agent.journal.begin<RootRollbackPlan>(ROOT_ROLLBACK_OP, plan);
  failpoint('rollback-root.after-journal');
  actRoot(agent.top, plan);
  agent.journal.finish(id, 'done');
  recordEvent(agent.db, ROOT_ROLLBACK_OP, plan.root, { action: plan.action, target: plan.target?.rel ?? null, previous: plan.previous, journal: id });
  return { outcome: 'ok', journalId: id };
}

/** A killed `rollback root`: the marker write is atomic, so it is simply done again (idempotent). */
export function recoverRootRollback(entry: JournalEntry, agent: Agent): void {
  const plan = entry.plan as RootRollbackPlan;
  actRoot(agent.top, plan);
  agent.journal.finish(entry.id, 'done');
  recordEvent(agent.db, ROOT_ROLLBACK_OP, plan.root, { action: plan.action, target: plan.target?.rel ?? null, recovered: true, journal: entry.id });
  agent.log.warn({ entry: entry.id }, `completed an interrupted 'rollback root' (${plan.action})`);
}

/** What the marker says now, as status, list --roots and rollback --list show it. */
export interface PendingRootRollback {
  /** The marker's first line. */
  line: string;
  /** Path from the top level of the archived root it names, when the name is valid. */
  path: string | null;
  /** The initrd will use it: a valid name of a subvolume directly in the archive directory. */
  valid: boolean;
  why: string | null;
}

export function pendingRootRollback(agent: Agent): PendingRootRollback | null {
  const line = readMarkerLine(agent.top);
  if (line === null) return null;
  const dir = agent.config.root.archiveDir;
  const check = checkMarkerName(line, dir);
  if (!check.ok) return { line, path: null, valid: false, why: 'not a valid archived root name: the next boot ignores it' };
  const rel = `${dir}/${check.name}`;
  if (!isSubvolumeRoot(at(agent.top, rel))) return { line, path: rel, valid: false, why: `${rel} is not a subvolume: the next boot ignores it` };
  return { line, path: rel, valid: true, why: null };
}
