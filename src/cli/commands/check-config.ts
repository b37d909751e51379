import { loadConfig } from '../../config/load.js';
import { resolveThresholds } from '../../health/thresholds.js';
import type { CommandContext, CommandResult } from '../command.js';

export async function run(ctx: CommandContext): Promise<CommandResult> {
  const file = ctx.args[0] ?? ctx.configPath;
  const config = loadConfig(file);
  // Checks across sections (health thresholds against the sources), as the daemon makes them at start.
  resolveThresholds(config, file);
  return {
    json: { valid: true, file, config },
    human: `${file}: valid configuration for host ${config.host} (${Object.keys(config.snapshots.sources).length} snapshot sources)`,
  };
}
