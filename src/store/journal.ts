// Journal of destructive operations. An entry is written (and committed) before the
// first destructive step; progress is recorded as steps complete; the entry is closed
// at the end. A run that finds an open entry hands it to the recovery function of
// its operation, which completes or undoes it, before doing anything else.
import type { Db } from './db.js';

export interface JournalEntry<P = unknown> {
  id: number;
  op: string;
  plan: P;
  progress: Record<string, unknown>;
  startedAt: number;
}

export class Journal {
  constructor(private readonly db: Db) {}

  begin<P>(op: string, plan: P): number {
    const r = this.db.prepare("INSERT INTO journal (op, plan, state, started_at) VALUES (?, ?, 'open', ?)").run(op, JSON.stringify(plan), Date.now());
    return Number(r.lastInsertRowid);
  }

  progress(id: number, progress: Record<string, unknown>): void {
    this.db.prepare('UPDATE journal SET progress = ? WHERE id = ?').run(JSON.stringify(progress), id);
  }

  finish(id: number, state: 'done' | 'undone' | 'failed'): void {
    this.db.prepare('UPDATE journal SET state = ?, finished_at = ? WHERE id = ?').run(state, Date.now(), id);
  }

  /** Open entries to recover, oldest first. Rows that do not parse are left out: see unreadable(). */
  open(): JournalEntry[] {
    return this.openRows().flatMap((r) => {
      const e = parseRow(r);
      return 'error' in e ? [] : [e];
    });
  }

  /**
   * Open entries whose stored plan or progress does not parse (a damaged row). They
   * stay open, untouched, for a person to read (`sqlite3 state.db 'SELECT * FROM
   * journal WHERE id = N'`): recovering from a guess could do harm, dropping them
   * would hide an interrupted operation.
   */
  unreadable(): UnreadableEntry[] {
    return this.openRows().flatMap((r) => {
      const e = parseRow(r);
      return 'error' in e ? [e] : [];
    });
  }

  private openRows(): Row[] {
    return this.db.prepare("SELECT id, op, plan, progress, started_at FROM journal WHERE state = 'open' ORDER BY id").all() as Row[];
  }

  /** The newest entry of `op` (null when there is none, or when it does not parse). */
  last(op: string): (JournalEntry & { state: string }) | null {
    const r = this.db.prepare('SELECT id, op, plan, progress, started_at, state FROM journal WHERE op = ? ORDER BY id DESC LIMIT 1').get(op) as
      | (Row & { state: string })
      | undefined;
    if (!r) return null;
    const e = parseRow(r);
    return 'error' in e ? null : { ...e, state: r.state };
  }
}

interface Row {
  id: number;
  op: string;
  plan: string;
  progress: string;
  started_at: number;
}

export interface UnreadableEntry {
  id: number;
  op: string;
  startedAt: number;
  error: string;
}

function parseRow(r: Row): JournalEntry | UnreadableEntry {
  try {
    const plan: unknown = JSON.parse(r.plan);
    const progress: unknown = JSON.parse(r.progress);
    if (typeof plan !== 'object' || plan === null) throw new Error('plan is not an object');
    if (typeof progress !== 'object' || progress === null || Array.isArray(progress)) throw new Error('progress is not an object');
    return { id: r.id, op: r.op, plan, progress: progress as Record<string, unknown>, startedAt: r.started_at };
  } catch (e) {
    return { id: r.id, op: r.op, startedAt: r.started_at, error: (e as Error).message };
  }
}
