import { ExitCode } from '../../errors.js';
import { currentPlan, executePrune } from '../../retention/prune.js';
import { createSnapshots, selectSources } from '../../snapshots/create.js';
import { isoTime, table } from '../output.js';
import { progressBar } from '../progress.js';
import { pruneHuman, pruneJson } from '../prune-view.js';
import type { CommandContext, CommandResult } from '../command.js';

export async function run(ctx: CommandContext): Promise<CommandResult> {
  const agent = ctx.openAgent({ mutating: true });
  const sources = selectSources(agent, ctx.args);
  const created = createSnapshots(agent, sources, {
    ...(typeof ctx.opts.tag === 'string' ? { tag: ctx.opts.tag } : {}),
    pin: ctx.opts.pin === true,
  });
  const json: Record<string, unknown> = { created: created.map((c) => ({ source: c.source, name: c.name, path: c.rel, time: isoTime(c.instant) })) };
  let human = table(['SOURCE', 'SNAPSHOT'], created.map((c) => [c.source, c.rel]));
  let exitCode: number = ExitCode.ok;
  if (ctx.opts.prune === true) {
    // Same lock, same process: the timer's snapshot-then-prune is one atomic step.
    const plan = currentPlan(agent);
    const outcome = executePrune(agent, plan, progressBar('deleting', plan.condemned.length));
    json.prune = pruneJson(plan, false, outcome);
    human += '\n\n' + pruneHuman(plan, false, outcome);
    if (outcome.failed.length) exitCode = ExitCode.failed;
  }
  return { exitCode, json, human };
}
