import { ExitCode } from '../../errors.js';
import { currentPlan, executePrune } from '../../retention/prune.js';
import { progressBar } from '../progress.js';
import { pruneHuman, pruneJson } from '../prune-view.js';
import type { CommandContext, CommandResult } from '../command.js';

export async function run(ctx: CommandContext): Promise<CommandResult> {
  const dryRun = ctx.opts['dry-run'] === true;
  const agent = ctx.openAgent({ mutating: !dryRun });
  const plan = currentPlan(agent);
  if (dryRun || plan.condemned.length === 0) {
    return { json: pruneJson(plan, dryRun, null), human: pruneHuman(plan, dryRun, null) };
  }
  // The timer runs `snapshot --prune`, which asks nothing; `prune` itself asks.
  const go = await ctx.confirmOrRefuse({
    plan: pruneHuman(plan, true, null) + '\n',
    question: `delete ${plan.condemned.length} subvolume(s)?`,
    hint: `prune would delete ${plan.condemned.length} subvolume(s)`,
  });
  if (!go) return { json: pruneJson(plan, true, null), human: 'cancelled: nothing was deleted' };
  // A person may have taken a while to answer: what is deleted is checked against a new listing.
  if (ctx.opts.yes !== true) agent.refresh();
  const outcome = executePrune(agent, plan, progressBar('deleting', plan.condemned.length));
  return {
    exitCode: outcome.failed.length ? ExitCode.failed : ExitCode.ok,
    json: pruneJson(plan, false, outcome),
    human: pruneHuman(plan, false, outcome),
  };
}
