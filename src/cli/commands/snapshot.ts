import { ExitCode, UsageError } from '../../errors.js';
import { currentPlan, executePrune } from '../../retention/prune.js';
import { createSnapshots, selectSources } from '../../snapshots/create.js';
import { isoTime, table } from '../output.js';
import { progressBar } from '../progress.js';
import { pruneHuman, pruneJson } from '../prune-view.js';
import type { CommandContext, CommandResult } from '../command.js';

export const TAG_MAX = 64;

/** Why `tag` cannot label a snapshot, or null. Tags are shown in tables and JSON: one printable line. */
export function tagProblem(tag: string): string | null {
  if (tag.length === 0) return 'must not be empty';
  if ([...tag].length > TAG_MAX) return `must be at most ${TAG_MAX} characters`;
  if (/[\p{C}]/u.test(tag)) return 'must be printable: no control, format or invalid characters';
  if (tag.includes('/')) return 'must not contain "/"';
  if (tag.trim() !== tag) return 'must not start or end with a space';
  return null;
}

export async function run(ctx: CommandContext): Promise<CommandResult> {
  const tag = typeof ctx.opts.tag === 'string' ? ctx.opts.tag : undefined;
  const bad = tag === undefined ? null : tagProblem(tag);
  if (bad) throw new UsageError(`--tag ${JSON.stringify(tag)} ${bad}`);
  const agent = ctx.openAgent({ mutating: true });
  // `snapshot @log @log` means @log once.
  const sources = selectSources(agent, [...new Set(ctx.args)]);
  const created = createSnapshots(agent, sources, {
    ...(tag !== undefined ? { tag } : {}),
    pin: ctx.opts.pin === true,
  });
  const json: Record<string, unknown> = { created: created.map((c) => ({ source: c.source, name: c.name, path: c.rel, time: isoTime(c.instant) })) };
  let human = table(['SOURCE', 'SNAPSHOT'], created.map((c) => [c.source, c.rel]));
  let exitCode: number = ExitCode.ok;
  if (ctx.opts.prune === true) {
    // Same lock, same process: the timer's snapshot-then-prune is one atomic step.
    const plan = currentPlan(agent, Date.now(), created.map((c) => c.rel));
    const outcome = executePrune(agent, plan, progressBar('deleting', plan.condemned.length));
    json.prune = pruneJson(plan, false, outcome);
    human += '\n\n' + pruneHuman(plan, false, outcome);
    if (outcome.failed.length) exitCode = ExitCode.failed;
  }
  return { exitCode, json, human };
}
