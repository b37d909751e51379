// Opens everything a command that touches the filesystem needs, in the order the
// design requires: config, lock (mutating commands), top-level mount, index, journal
// recovery, reconciliation. Commands receive the result and do nothing of this again.
import type { Config } from './config/schema.js';
import { ensureTopLevel } from './btrfs/mounts.js';
import { openDb, type Db } from './store/db.js';
import { Journal, type JournalEntry } from './store/journal.js';
import { acquireLock, type Lock } from './store/lock.js';
import { reconcileIndex, scan, type Inventory } from './snapshots/inventory.js';
import type { Logger } from './util/log.js';

export interface Agent {
  config: Config;
  log: Logger;
  top: string;
  db: Db;
  journal: Journal;
  lock: Lock | null;
  /** Re-scan the filesystem and reconcile the index (after changing it). */
  refresh(): Inventory;
  inventory: Inventory;
}

/** Completes or undoes an unfinished journal entry. Registered per operation. */
export type Recovery = (entry: JournalEntry, agent: Agent) => void;
const recoveries = new Map<string, Recovery>();
export function registerRecovery(op: string, fn: Recovery): void {
  recoveries.set(op, fn);
}

export function openAgent(config: Config, log: Logger, opts: { mutating: boolean; waitSeconds: number }): Agent {
  const lock = opts.mutating
    ? acquireLock(config.stateDir, opts.waitSeconds, (pid) => log.warn({ holder: pid }, `waiting up to ${opts.waitSeconds}s for the lock held by ${pid ? `pid ${pid}` : 'another process'}`))
    : null;
  const top = ensureTopLevel({ configured: config.btrfs.topLevel, device: config.btrfs.device, runtimeDir: config.runtimeDir });
  const db = openDb(config.stateDir);
  const journal = new Journal(db);
  const agent: Agent = {
    config,
    log,
    top,
    db,
    journal,
    lock,
    inventory: undefined as unknown as Inventory,
    refresh() {
      const inv = scan(config, top);
      const r = reconcileIndex(db, inv);
      if (r.added || r.removed) log.info(r, 'index reconciled with the filesystem');
      agent.inventory = inv;
      return inv;
    },
  };
  // Recovery changes the filesystem, so it only runs under the lock.
  if (lock) {
    for (const entry of journal.open()) {
      const fn = recoveries.get(entry.op);
      if (!fn) {
        log.error({ entry: entry.id, op: entry.op }, 'unfinished journal entry of an unknown operation: left open');
        continue;
      }
      log.warn({ entry: entry.id, op: entry.op }, 'finishing an operation that was interrupted');
      agent.refresh();
      fn(entry, agent);
    }
  }
  agent.refresh();
  return agent;
}
