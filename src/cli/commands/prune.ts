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
  // On a terminal the plan is shown and confirmed; unattended (the timer) it runs as
  // declared, since the policy is the user's decision and --dry-run shows it beforehand.
  if (process.stdin.isTTY && ctx.opts.yes !== true && !ctx.json) {
    process.stdout.write(pruneHuman(plan, true, null) + '\n\n');
    if (!(await ctx.confirm(`delete ${plan.condemned.length} subvolume(s)?`))) {
      return { json: pruneJson(plan, true, null), human: 'cancelled: nothing was deleted' };
    }
  }
  const outcome = executePrune(agent, plan, progressBar('deleting', plan.condemned.length));
  return {
    exitCode: outcome.failed.length ? ExitCode.failed : ExitCode.ok,
    json: pruneJson(plan, false, outcome),
    human: pruneHuman(plan, false, outcome),
  };
}
