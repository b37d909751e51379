// `rollback SOURCE --to SNAPSHOT`, `rollback root --to ARCHIVED_ROOT|--cancel`,
// `rollback --undo`, `rollback --list`. Parsing and printing only: the plans are in
// src/rollback/plan.ts, the effects in src/rollback/execute.ts.
import type { Agent } from '../../agent.js';
import { basenameOf } from '../../btrfs/names.js';
import { ExitCode, RefusedError, UsageError } from '../../errors.js';
import { executeRollback, executeRootRollback, pendingRootRollback } from '../../rollback/execute.js';
import { lastRollback, lastRootRollbackId, rollbackHistory } from '../../rollback/history.js';
import { mountUses } from '../../rollback/mounts.js';
import { planRollback, planRootRollback, type RollbackPlan, type RootRollbackPlan } from '../../rollback/plan.js';
import { selectEntry } from '../../snapshots/select.js';
import { exists } from '../../util/fsutil.js';
import { join } from 'node:path';
import type { CommandContext, CommandResult } from '../command.js';
import {
  historyHuman,
  historyJson,
  rollbackPlanHuman,
  rollbackPlanJson,
  rollbackResultHuman,
  rollbackResultJson,
  rootPlanHuman,
  rootPlanJson,
  rootResultHuman,
} from '../rollback-view.js';

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

function liveRef(agent: Agent, source: string) {
  const sv = agent.inventory.subvolumes.find((s) => s.path === source);
  if (!sv) throw new RefusedError(`${source} is not a subvolume on ${agent.top}: there is nothing live to roll back`);
  return { rel: sv.path, id: sv.id, uuid: sv.uuid };
}

function subvolumePlan(agent: Agent, source: string, target: RollbackPlan['target'], undoes: number | null): RollbackPlan {
  const live = liveRef(agent, source);
  const dir = agent.config.snapshots.dir;
  return planRollback({
    source,
    live,
    target,
    snapshotDir: dir,
    instant: Date.now(),
    taken: (n) => exists(join(agent.top, dir, n)),
    nested: agent.inventory.subvolumes.filter((s) => s.path.startsWith(source + '/')).map((s) => s.path),
    mounted: mountUses(agent.top, live.id),
    undoes,
  });
}

function planForSource(agent: Agent, source: string, selector: string): RollbackPlan {
  const configured = Object.keys(agent.config.snapshots.sources);
  if (!configured.includes(source)) throw new UsageError(`"${source}" is not a configured snapshot source (configured: ${configured.join(', ')}; or "root" for the root)`);
  const sel = selectEntry(
    agent.inventory.snapshots.filter((e) => e.source === source),
    selector,
    Date.now(),
    `snapshot of ${source}`,
  );
  if (!sel.ok) throw new UsageError(`--to ${selector}: ${sel.error}`);
  const e = sel.entry;
  return subvolumePlan(agent, source, { rel: e.rel, id: e.btrfsId, uuid: e.uuid, name: e.name, instant: e.instant }, null);
}

function planForRoot(agent: Agent, selector: string | undefined, cancel: boolean): RootRollbackPlan {
  const { root } = agent.config;
  const pending = pendingRootRollback(agent);
  if (cancel) return planRootRollback({ root: root.subvolume, archiveDir: root.archiveDir, target: null, previous: pending?.line ?? null });
  if (!selector) throw new UsageError('rollback root needs --to ARCHIVED_ROOT (a name, previous-boot or an age such as 2d-ago), or --cancel');
  const sel = selectEntry(
    agent.inventory.roots.filter((e) => e.source === root.subvolume),
    selector,
    Date.now(),
    `archived root of ${root.subvolume}`,
  );
  if (!sel.ok) throw new UsageError(`--to ${selector}: ${sel.error}`);
  const e = sel.entry;
  return planRootRollback({ root: root.subvolume, archiveDir: root.archiveDir, target: { name: e.name, rel: e.rel, instant: e.instant }, previous: pending?.line ?? null });
}

/**
 * What --undo undoes: a root rollback still pending is cancelled; otherwise the last
 * subvolume rollback (or undo) is reversed by rolling back to the subvolume it moved aside.
 */
function planUndo(agent: Agent): RollbackPlan | RootRollbackPlan {
  const lastRoot = lastRootRollbackId(agent.db);
  const last = lastRollback(agent.db);
  const pending = pendingRootRollback(agent);
  if (lastRoot !== null && (!last || lastRoot > last.id) && pending) return planForRoot(agent, undefined, true);
  if (!last) throw new UsageError('there is no rollback to undo (see pantheragent rollback --list)');
  const p = last.plan;
  const aside = agent.inventory.subvolumes.find((s) => s.uuid === p.live.uuid);
  if (!aside) {
    throw new RefusedError(
      `${p.aside}, the ${p.source} that rollback #${last.id} replaced, no longer exists (retention may have deleted it after rollback.graceDays): choose a snapshot with 'pantheragent rollback ${p.source} --to SNAPSHOT'`,
    );
  }
  return subvolumePlan(agent, p.source, { rel: aside.path, id: aside.id, uuid: aside.uuid, name: basenameOf(aside.path), instant: p.instant }, last.id);
}

async function runRoot(ctx: CommandContext, agent: Agent, plan: RootRollbackPlan, dryRun: boolean): Promise<CommandResult> {
  const shown = rootPlanHuman(plan);
  const base = { kind: 'root' as const, dryRun, cancelled: false, plan: rootPlanJson(plan), result: null };
  if (dryRun) return { json: base, human: `${shown}\n\ndry run: nothing was changed` };
  const question = plan.action === 'cancel' ? 'cancel the pending root rollback?' : `boot once from ${plan.target!.rel} at the next boot?`;
  if (!(await ctx.confirmOrRefuse({ plan: shown, question, hint: `rollback root changes what the next boot starts from` }))) {
    return { json: { ...base, cancelled: true }, human: 'cancelled: nothing was changed' };
  }
  const r = executeRootRollback(agent, plan);
  return { json: { ...base, result: { outcome: r.outcome, journalId: r.journalId } }, human: `${ctx.opts.yes === true ? shown + '\n\n' : ''}${rootResultHuman(plan, r)}` };
}

async function runSubvolume(ctx: CommandContext, agent: Agent, plan: RollbackPlan, dryRun: boolean): Promise<CommandResult> {
  const shown = rollbackPlanHuman(plan);
  const base = { kind: 'subvolume' as const, dryRun, undo: plan.undoes !== null, cancelled: false, plan: rollbackPlanJson(plan), result: null };
  if (dryRun) return { json: base, human: `${shown}\n\ndry run: nothing was changed` };
  const ok = await ctx.confirmOrRefuse({
    plan: shown,
    question: `roll ${plan.source} back to ${plan.target.rel}?`,
    hint: `rollback replaces ${plan.source} (after a safety snapshot)`,
  });
  if (!ok) return { json: { ...base, cancelled: true }, human: 'cancelled: nothing was changed' };
  const r = executeRollback(agent, plan);
  return {
    exitCode: r.outcome === 'ok' ? ExitCode.ok : ExitCode.failed,
    json: { ...base, result: rollbackResultJson(r) },
    human: `${ctx.opts.yes === true ? shown + '\n\n' : ''}${rollbackResultHuman(plan, r)}`,
  };
}

export async function run(ctx: CommandContext): Promise<CommandResult> {
  const o = ctx.opts;
  const dryRun = o['dry-run'] === true;
  const to = str(o.to);
  const what = ctx.args[0];
  const modes = [o.list === true, o.undo === true, what !== undefined].filter(Boolean).length;
  if (modes !== 1) throw new UsageError('rollback takes one of: SOURCE --to SNAPSHOT, root --to ARCHIVED_ROOT, root --cancel, --undo, --list');
  if (o.list === true) {
    const agent = ctx.openAgent({ mutating: false });
    const rows = rollbackHistory(agent.db);
    const pending = pendingRootRollback(agent);
    return { json: historyJson(rows, pending), human: historyHuman(rows, pending) };
  }
  if (o.cancel === true && what !== 'root') throw new UsageError('--cancel takes back a pending root rollback: rollback root --cancel');
  if (o.undo === true && to !== undefined) throw new UsageError('--undo takes no --to: it goes back to what the last rollback replaced');
  // A mutating open also seals asides that nothing mounts any more (openAgent, sealAsides).
  const agent = ctx.openAgent({ mutating: !dryRun });
  if (o.undo === true) {
    const plan = planUndo(agent);
    return plan.kind === 'root' ? runRoot(ctx, agent, plan, dryRun) : runSubvolume(ctx, agent, plan, dryRun);
  }
  if (what === 'root') {
    if (o.cancel === true && to !== undefined) throw new UsageError('give either --to or --cancel');
    return runRoot(ctx, agent, planForRoot(agent, to, o.cancel === true), dryRun);
  }
  if (to === undefined) throw new UsageError(`rollback ${what} needs --to SNAPSHOT (a name, latest, or an age such as 3h-ago; see pantheragent list ${what})`);
  return runSubvolume(ctx, agent, planForSource(agent, what!, to), dryRun);
}
