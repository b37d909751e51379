import { createSnapshots, selectSources } from '../../snapshots/create.js';
import { isoTime, table } from '../output.js';
import type { CommandContext, CommandResult } from '../command.js';

export async function run(ctx: CommandContext): Promise<CommandResult> {
  const agent = ctx.openAgent({ mutating: true });
  const sources = selectSources(agent, ctx.args);
  const created = createSnapshots(agent, sources, {
    ...(typeof ctx.opts.tag === 'string' ? { tag: ctx.opts.tag } : {}),
    pin: ctx.opts.pin === true,
  });
  return {
    json: { created: created.map((c) => ({ source: c.source, name: c.name, path: c.rel, time: isoTime(c.instant) })) },
    human: table(['SOURCE', 'SNAPSHOT'], created.map((c) => [c.source, c.rel])),
  };
}
