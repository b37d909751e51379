// Which code finishes an interrupted journaled operation, by its journal op name.
import type { Agent } from './agent.js';
import type { JournalEntry } from './store/journal.js';
import { PRUNE_OP, recoverPrune } from './retention/prune.js';
import { recoverWipe, WIPE_OP } from './wipe/execute.js';

/** Completes or undoes an unfinished journal entry. */
export type Recovery = (entry: JournalEntry, agent: Agent) => void;

const RECOVERIES: Record<string, Recovery> = {
  [PRUNE_OP]: recoverPrune,
  [WIPE_OP]: recoverWipe,
};

export function recoveryFor(op: string): Recovery | undefined {
  return RECOVERIES[op];
}
