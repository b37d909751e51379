// The rollback history (`rollback --list`), from the journal: one row per rollback,
// undo, root rollback and restore, newest first, with what it did.
import type { Db } from '../store/db.js';
import { ROLLBACK_OP, ROOT_ROLLBACK_OP, UNDO_OP, type RollbackPlan, type RootRollbackPlan } from './plan.js';
import { RESTORE_OP, type RestorePlan } from './restore-plan.js';

const HISTORY_OPS = [ROLLBACK_OP, UNDO_OP, ROOT_ROLLBACK_OP, RESTORE_OP] as const;

export interface HistoryRow {
  id: number;
  op: string;
  state: string;
  startedAt: number;
  finishedAt: number | null;
  /** What was changed: a source, the root, or restored paths. */
  subject: string;
  /** What it went to: the target snapshot, archived root, or the --from snapshot. */
  target: string | null;
  /** What it left behind to go back to: the aside and safety snapshot, or safety snapshots of a restore. */
  kept: string[];
  undoes: number | null;
}

interface Row {
  id: number;
  op: string;
  plan: string;
  state: string;
  started_at: number;
  finished_at: number | null;
}

function describe(r: Row): HistoryRow {
  const base = { id: r.id, op: r.op, state: r.state, startedAt: r.started_at, finishedAt: r.finished_at, undoes: null };
  const plan = JSON.parse(r.plan) as unknown;
  if (r.op === ROOT_ROLLBACK_OP) {
    const p = plan as RootRollbackPlan;
    return { ...base, subject: p.root, target: p.action === 'cancel' ? `cancel (was ${p.previous})` : (p.target?.rel ?? null), kept: [] };
  }
  if (r.op === RESTORE_OP) {
    const p = plan as RestorePlan;
    return { ...base, subject: p.items.map((i) => i.path).join(' '), target: p.from.rel, kept: p.safety.map((s) => s.rel) };
  }
  const p = plan as RollbackPlan;
  return { ...base, subject: p.source, target: p.target.rel, kept: [p.aside, p.safety], undoes: p.undoes };
}

export function rollbackHistory(db: Db, limit = 50): HistoryRow[] {
  const rows = db
    .prepare(`SELECT id, op, plan, state, started_at, finished_at FROM journal WHERE op IN (${HISTORY_OPS.map(() => '?').join(', ')}) ORDER BY id DESC LIMIT ?`)
    .all(...HISTORY_OPS, limit) as Row[];
  return rows.map(describe);
}

/** The newest finished subvolume rollback or undo: what `rollback --undo` undoes. */
export function lastRollback(db: Db): { id: number; plan: RollbackPlan } | null {
  const r = db
    .prepare("SELECT id, plan FROM journal WHERE op IN (?, ?) AND state = 'done' ORDER BY id DESC LIMIT 1")
    .get(ROLLBACK_OP, UNDO_OP) as { id: number; plan: string } | undefined;
  return r ? { id: r.id, plan: JSON.parse(r.plan) as RollbackPlan } : null;
}

/** The id of the newest finished `rollback root` (set or cancel), or null. */
export function lastRootRollbackId(db: Db): number | null {
  const r = db.prepare("SELECT id FROM journal WHERE op = ? AND state = 'done' ORDER BY id DESC LIMIT 1").get(ROOT_ROLLBACK_OP) as { id: number } | undefined;
  return r?.id ?? null;
}
