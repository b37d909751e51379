// `restore PATH... --from SNAPSHOT|ARCHIVED_ROOT [--to DIR] [--persist] [--dry-run] [--yes]`.
// Parsing and printing only: the facts and effects are in src/rollback/restore.ts.
import { ExitCode, UsageError } from '../../errors.js';
import { executeRestore, gatherRestore } from '../../rollback/restore.js';
import type { CommandContext, CommandResult } from '../command.js';
import { restorePlanHuman, restorePlanJson, restoreResultHuman, restoreResultJson } from '../restore-view.js';

export async function run(ctx: CommandContext): Promise<CommandResult> {
  const o = ctx.opts;
  const from = typeof o.from === 'string' ? o.from : undefined;
  if (!from) throw new UsageError('restore needs --from SNAPSHOT (a name, latest, previous-boot, or an age such as 3h-ago)');
  if (ctx.args.length === 0) throw new UsageError('restore needs at least one PATH');
  const dryRun = o['dry-run'] === true;
  const agent = ctx.openAgent({ mutating: !dryRun });
  const plan = gatherRestore(agent, { paths: ctx.args, from, to: typeof o.to === 'string' ? o.to : null, persist: o.persist === true, now: Date.now() });
  const shown = restorePlanHuman(plan);
  const base = { dryRun, cancelled: false, plan: restorePlanJson(plan), result: null };
  if (dryRun) return { json: base, human: `${shown}\n\ndry run: nothing was changed` };
  const ok = await ctx.confirmOrRefuse({ plan: shown, question: `restore ${plan.items.length} path(s) from ${plan.from.rel}?`, hint: 'restore replaces files (after a safety snapshot)' });
  if (!ok) return { json: { ...base, cancelled: true }, human: 'cancelled: nothing was changed' };
  const r = executeRestore(agent, plan);
  return {
    exitCode: r.outcome === 'ok' ? ExitCode.ok : ExitCode.failed,
    json: { ...base, result: restoreResultJson(r) },
    human: `${o.yes === true ? shown + '\n\n' : ''}${restoreResultHuman(plan, r)}`,
  };
}
