// Which code finishes an interrupted journaled operation, by its journal op name.
import type { Agent } from './agent.js';
import type { JournalEntry } from './store/journal.js';
import { PRUNE_OP, recoverPrune } from './retention/prune.js';
import { recoverWipe, WIPE_OP } from './wipe/execute.js';
import { recoverRollback, recoverRootRollback } from './rollback/execute.js';
import { ROLLBACK_OP, ROOT_ROLLBACK_OP, UNDO_OP } from './rollback/plan.js';
import { recoverRestore } from './rollback/restore.js';
import { RESTORE_OP } from './rollback/restore-plan.js';

/** Completes or undoes an unfinished journal entry. */
export type Recovery = (entry: JournalEntry, agent: Agent) => void;

const RECOVERIES: Record<string, Recovery> = {
  [PRUNE_OP]: recoverPrune,
  [WIPE_OP]: recoverWipe,
  [ROLLBACK_OP]: recoverRollback,
  [UNDO_OP]: recoverRollback,
  [ROOT_ROLLBACK_OP]: recoverRootRollback,
  [RESTORE_OP]: recoverRestore,
};

export function recoveryFor(op: string): Recovery | undefined {
  return RECOVERIES[op];
}
