// Opens everything a command that touches the filesystem needs, in the order the
// design requires: config, lock (mutating commands), top-level mount, index, journal
// recovery, reconciliation. Commands receive the result and do nothing of this again.
import { closeSync } from 'node:fs';
import type { Config } from './config/schema.js';
import { ensureTopLevel } from './btrfs/mounts.js';
import { listSubvolumesWith } from './btrfs/btrfs.js';
import { openDb, openDbReadOnly, type Db } from './store/db.js';
import { Journal } from './store/journal.js';
import { acquireLock, type Lock } from './store/lock.js';
import { inventoryOf, inventoryWithMade, inventoryWithout, reconcileIndex, scan, type Inventory } from './snapshots/inventory.js';
import { checkLayout } from './snapshots/layout.js';
import type { Logger } from './util/log.js';
import { adoptAfterBoot } from './wipe/adopt.js';
import { readLastWipe, type LastWipe } from './wipe/files.js';

export interface Agent {
  config: Config;
  log: Logger;
  top: string;
  db: Db;
  journal: Journal;
  lock: Lock | null;
  /** Re-scan the filesystem and reconcile the index (after changing it in ways the agent cannot account for). */
  refresh(): Inventory;
  /**
   * After the agent made read-only subvolumes (`made`, paths from the top level): one
   * `btrfs subvolume list` learns their ids and UUIDs; read-only flags come from what
   * was known and what was made. Cheaper than refresh(), which lists twice. The caller
   * has recorded an event for each one made, so the index adds no "appeared".
   */
  learnMade(made: readonly string[]): Inventory;
  /** After the agent deleted subvolumes (events recorded by the caller): the inventory and the index follow without a rescan. */
  forget(deleted: readonly string[]): Inventory;
  /** After the agent changed pins or tags of these paths: the same listing, meta.json read again, their rows updated. */
  reread(changed: readonly string[]): Inventory;
  inventory: Inventory;
  /** The last root wipe's result record (initrd or `wipe`), read from the top level. */
  lastWipe(): LastWipe;
  /** Close the index and drop the lock (a long-running process must not keep them between runs). */
  close(): void;
}


export function openAgent(config: Config, log: Logger, opts: { mutating: boolean; waitSeconds: number }): Agent {
  const lock = opts.mutating
    ? acquireLock(config.stateDir, opts.waitSeconds, (pid) => log.warn({ holder: pid }, `waiting up to ${opts.waitSeconds}s for the lock held by ${pid ? `pid ${pid}` : 'another process'}`))
    : null;
  let db: Db | null = null;
  try {
    return openLocked(config, log, opts, lock, (opened) => (db = opened));
  } catch (e) {
    // Whatever failed, nothing is held afterwards: a daemon must not keep the lock
    // that the snapshot timer waits for.
    try {
      (db as Db | null)?.close();
    } finally {
      if (lock) closeSync(lock.fd);
    }
    throw e;
  }
}

function openLocked(config: Config, log: Logger, opts: { mutating: boolean }, lock: Lock | null, opened: (db: Db) => void): Agent {
  const top = ensureTopLevel({ configured: config.btrfs.topLevel, device: config.btrfs.device, runtimeDir: config.runtimeDir });
  checkLayout(config, top);
  // A read command opens the index read-only and never writes it (DESIGN.md section 2:
  // every command reconciles; a read command does so in memory, from the filesystem),
  // and only at first use (`diff` never uses it, so it loads no SQLite).
  let index: { db: Db; journal: Journal } | undefined;
  const open = () => {
    if (index) return index;
    const db = opts.mutating
      ? openDb(config.stateDir, (movedTo, error) =>
          log.warn({ movedTo, error }, `the index could not be read (${error}): moved it to ${movedTo} and rebuilt it from the filesystem`),
        )
      : openDbReadOnly(config.stateDir, (why) => log.info({ why }, 'reading without the index'));
    opened(db);
    return (index = { db, journal: new Journal(db) });
  };
  if (opts.mutating) open();
  const settle = (inv: Inventory, scope?: ReadonlySet<string>, recorded = false): Inventory => {
    if (!opts.mutating) return inv;
    const r = reconcileIndex(open().db, inv, Date.now(), scope, recorded);
    if (r.added || r.removed || r.changed) log.info(r, 'index reconciled with the filesystem');
    return inv;
  };
  const load = (): Inventory => settle(scan(config, top));
  const agent: Agent = {
    config,
    log,
    top,
    get db() {
      return open().db;
    },
    get journal() {
      return open().journal;
    },
    lock,
    inventory: load(),
    lastWipe: () => readLastWipe(top),
    close() {
      try {
        index?.db.close();
      } finally {
        if (lock) closeSync(lock.fd);
      }
    },
    refresh() {
      agent.inventory = load();
      return agent.inventory;
    },
    learnMade(made) {
      const known = new Map(agent.inventory.subvolumes.map((sv) => [sv.id, sv.readonly]));
      const ours = new Set(made);
      // Anything new that the agent did not make counts as writable (never deletable)
      // until a full scan says otherwise; the index learns only what the agent made.
      const listing = listSubvolumesWith(top, (sv) => known.get(sv.id) ?? ours.has(sv.path));
      agent.inventory = settle(inventoryWithMade(config, agent.inventory, listing, ours), ours, true);
      return agent.inventory;
    },
    forget(deleted) {
      const gone = new Set(deleted);
      agent.inventory = settle(inventoryWithout(agent.inventory, gone), gone, true);
      return agent.inventory;
    },
    reread(changed) {
      agent.inventory = settle(inventoryOf(config, top, agent.inventory.subvolumes), new Set(changed));
      return agent.inventory;
    },
  };
  // Recovery changes the filesystem, so it only runs under the lock; each one leaves
  // the inventory fresh for the next (they refresh after acting).
  if (lock) {
    for (const u of agent.journal.unreadable()) {
      log.error(u, `journal entry ${u.id} (${u.op}) cannot be read (${u.error}): left open for a person; 'pantheragent status' lists it`);
    }
    for (const entry of agent.journal.open()) {
      // Loaded only for an unfinished entry: it brings every destructive operation's code.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { recoveryFor } = require('./recoveries.js') as typeof import('./recoveries.js');
      const fn = recoveryFor(entry.op);
      if (!fn) {
        log.error({ entry: entry.id, op: entry.op }, 'unfinished journal entry of an unknown operation: left open');
        continue;
      }
      log.warn({ entry: entry.id, op: entry.op }, 'finishing an operation that was interrupted');
      fn(entry, agent);
      agent.refresh();
    }
  }
  // After boot, the first mutating run takes over what the initrd wipe did.
  if (lock && adoptAfterBoot(agent)) agent.refresh();
  // A rolled-back subvolume that was still mounted during its rollback becomes
  // read-only (and so retention's) once nothing mounts it. Such an aside is a writable
  // foreign entry: without one, the rollback code is not even loaded.
  if (lock && agent.inventory.foreign.some((f) => f.writable)) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { sealAsides } = require('./rollback/execute.js') as typeof import('./rollback/execute.js');
    if (sealAsides(agent).length) agent.refresh();
  }
  return agent;
}
