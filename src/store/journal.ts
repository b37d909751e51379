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

  open(): JournalEntry[] {
    const rows = this.db.prepare("SELECT id, op, plan, progress, started_at FROM journal WHERE state = 'open' ORDER BY id").all() as {
      id: number;
      op: string;
      plan: string;
      progress: string;
      started_at: number;
    }[];
    return rows.map((r) => ({ id: r.id, op: r.op, plan: JSON.parse(r.plan), progress: JSON.parse(r.progress), startedAt: r.started_at }));
  }

  last(op: string): (JournalEntry & { state: string }) | null {
    const r = this.db.prepare('SELECT id, op, plan, progress, started_at, state FROM journal WHERE op = ? ORDER BY id DESC LIMIT 1').get(op) as
      | { id: number; op: string; plan: string; progress: string; started_at: number; state: string }
      | undefined;
    return r ? { id: r.id, op: r.op, plan: JSON.parse(r.plan), progress: JSON.parse(r.progress), startedAt: r.started_at, state: r.state } : null;
  }
}
