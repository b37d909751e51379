// `pantheragent health`: the document the endpoint serves. From the daemon's published
// state when it is fresh; otherwise gathered here and now. Exit 2 when it fails.
import { ExitCode } from '../../errors.js';
import { PIECES } from '../../daemon/pieces.js';
import { collectState, unavailableState } from '../../health/collect.js';
import { healthDocument, stateAge } from '../../health/doc.js';
import { readState, statePath, type ReadState } from '../../health/publish.js';
import { healthHuman } from '../../health/view.js';
import { VERSION } from '../version.js';
import type { CommandContext, CommandResult } from '../command.js';

export async function run(ctx: CommandContext): Promise<CommandResult> {
  const config = ctx.loadConfig();
  const now = Date.now();
  const published = readState(config.runtimeDir);
  let read: ReadState;
  let from: string;
  if (published.ok && !stateAge(published.state, now).stale) {
    read = published;
    from = `published by the daemon in ${statePath(config.runtimeDir)}`;
  } else {
    const deps = { now: () => now, readDrift: PIECES.readDrift, powerSummary: PIECES.powerSummary };
    let agent;
    try {
      agent = ctx.openAgent({ mutating: false });
    } catch (e) {
      ctx.log.warn({ err: (e as Error).message }, 'cannot open the Btrfs filesystem');
      agent = null;
      read = { ok: true, state: await unavailableState(config, (e as Error).message, deps) };
    }
    if (agent) {
      try {
        read = { ok: true, state: await collectState(agent, deps) };
      } finally {
        agent.close();
      }
    }
    from = 'gathered now: no fresh state from the daemon';
  }
  const doc = healthDocument(read!, now, VERSION);
  return { exitCode: doc.status === 'fail' ? ExitCode.found : ExitCode.ok, json: doc, human: healthHuman(doc, from) };
}
