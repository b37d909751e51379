// Executes a prune plan: journaled first, then batched deletes through the guarded
// delete, with a failpoint after each batch. A killed prune is finished by the next
// run (the recovery below) without deleting anything retention no longer condemns.
import type { Agent } from '../agent.js';
import { guardedDelete, type DeleteOutcome } from '../btrfs/guarded-delete.js';
import { recordEvent } from '../store/db.js';
import type { JournalEntry } from '../store/journal.js';
import { failpoint } from '../util/failpoint.js';
import { checkMarkerName } from '../wipe/plan.js';
import { readMarkerLine } from '../wipe/files.js';
import { planPrune, type Protect, type PrunePlan } from './prune-plan.js';
import { graceProtect } from '../rollback/grace.js';

export const PRUNE_OP = 'prune';
interface JournaledPrune {
  condemned: string[];
}

/** The configured snapshot and archive directories and the live subvolumes, for the delete guard. */
function guardOf(agent: Agent) {
  const c = agent.config;
  return {
    top: agent.top,
    allowedDirs: [c.snapshots.dir, c.root.archiveDir],
    live: [c.root.subvolume, c.root.blank, ...Object.keys(c.snapshots.sources)],
    subvolumes: agent.inventory.subvolumes,
  };
}

/** The archived root a pending root rollback will boot from: retention must leave it alone. */
function pendingRollback(agent: Agent): Protect {
  const line = readMarkerLine(agent.top);
  const check = line === null ? null : checkMarkerName(line.trim(), agent.config.root.archiveDir);
  if (!check?.ok) return () => null;
  const rel = `${agent.config.root.archiveDir}/${check.name}`;
  return (e) => (e.rel === rel ? 'pending root rollback: the next boot starts from it' : null);
}

/**
 * The plan for the inventory as it is. `justCreated`: what this same command made,
 * never condemned by it (a snapshot dated in the future by a wrong clock must not be
 * deleted by the prune that follows its creation).
 */
export function currentPlan(agent: Agent, now = Date.now(), justCreated: readonly string[] = []): PrunePlan {
  const pending = pendingRollback(agent);
  // Safety snapshots and rolled-back subvolumes: kept for rollback.graceDays, then retention's.
  const grace = graceProtect(agent.config.rollback.graceDays, now);
  const rollback: Protect = (e) => pending(e) ?? grace(e);
  const fresh = new Set(justCreated);
  return planPrune(agent.config, agent.inventory, now, (e) => rollback(e) ?? (fresh.has(e.rel) ? 'created by this run: never deleted by it' : null));
}

function deleteJournaled(agent: Agent, id: number, rels: string[], onProgress?: (done: number, total: number) => void): DeleteOutcome {
  // The inventory is fresh (listed at open or after this run's snapshots, under the
  // lock, moments ago; a command that waited for a person lists again): it serves as
  // the first batch's check that nothing changed.
  const outcome = guardedDelete(rels, guardOf(agent), {
    firstListing: agent.inventory.subvolumes,
    onProgress: (done) => {
      agent.journal.progress(id, { done });
      onProgress?.(done, rels.length);
      failpoint('prune.after-batch');
    },
  });
  for (const rel of outcome.deleted) recordEvent(agent.db, 'deleted', rel, { by: 'retention' });
  for (const f of outcome.failed) recordEvent(agent.db, 'delete-failed', f.path, { error: f.error });
  agent.journal.finish(id, outcome.failed.length ? 'failed' : 'done');
  agent.forget(outcome.deleted);
  return outcome;
}

export function executePrune(agent: Agent, plan: PrunePlan, onProgress?: (done: number, total: number) => void): DeleteOutcome {
  if (plan.condemned.length === 0) return { deleted: [], failed: [] };
  const id = agent.journal.begin<JournaledPrune>(PRUNE_OP, { condemned: plan.condemned });
  failpoint('prune.after-journal');
  return deleteJournaled(agent, id, plan.condemned, onProgress);
}

/** Finish an interrupted prune: delete what it condemned that retention still condemns now. */
export function recoverPrune(entry: JournalEntry, agent: Agent): void {
  const { condemned } = entry.plan as JournaledPrune;
  const still = new Set(currentPlan(agent).condemned);
  const rest = condemned.filter((rel) => still.has(rel));
  agent.log.warn({ remaining: rest.length, journaled: condemned.length }, 'resuming an interrupted prune');
  deleteJournaled(agent, entry.id, rest);
}
