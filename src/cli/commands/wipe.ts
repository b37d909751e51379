// `wipe [--dry-run] [--yes]`: the boot-time root wipe, run by the agent on an
// unmounted root (recovery, tests). The same plan the initrd script is rendered from.
import { ExitCode, RefusedError, UsageError } from '../../errors.js';
import { decideWipe, executeWipe, wipeRefusal } from '../../wipe/execute.js';
import { layoutOf, planWipe } from '../../wipe/plan.js';
import type { CommandContext, CommandResult } from '../command.js';
import { decisionsHuman, decisionsJson, planHuman, planJson, resultHuman, resultJson } from '../wipe-view.js';

/** "Now", or PANTHERAGENT_WIPE_EPOCH (seconds): the initrd script honours the same variable, so tests can compare both. */
function wipeInstant(): number {
  const env = process.env.PANTHERAGENT_WIPE_EPOCH;
  if (env === undefined || env === '') return Date.now();
  if (!/^\d+$/.test(env)) throw new UsageError(`PANTHERAGENT_WIPE_EPOCH must be seconds since the epoch, not "${env}"`);
  return Number(env) * 1000;
}

export async function run(ctx: CommandContext): Promise<CommandResult> {
  const dryRun = ctx.opts['dry-run'] === true;
  const agent = ctx.openAgent({ mutating: !dryRun });
  const plan = planWipe(layoutOf(agent.config), wipeInstant());
  const decisions = decideWipe(plan, agent.top);
  const refusal = wipeRefusal(agent, plan);
  const shown = `${planHuman(plan, agent.top)}\n\n${decisionsHuman(plan, decisions, refusal)}`;
  const base = { dryRun, plan: planJson(plan, agent.top), decisions: decisionsJson(decisions), refused: refusal, cancelled: false, result: null };
  if (dryRun) return { json: base, human: `${shown}\n\ndry run: nothing was changed` };
  if (refusal) throw new RefusedError(refusal);
  const go = await ctx.confirmOrRefuse({
    plan: shown + '\n',
    question: `archive ${plan.layout.root} and replace it?`,
    hint: `wipe renames ${plan.layout.root} and makes a new one`,
  });
  if (!go) return { json: { ...base, cancelled: true }, human: 'cancelled: nothing was changed' };
  const result = executeWipe(agent, plan, decisions);
  return {
    // A wipe whose record could not be written did its work but leaves status blind to it: not a clean success.
    exitCode: result.outcome === 'ok' && result.recordError === null ? ExitCode.ok : ExitCode.failed,
    json: { ...base, result: resultJson(result) },
    human: `${ctx.opts.yes === true ? shown + '\n\n' : ''}${resultHuman(plan, decisions, result)}`,
  };
}
