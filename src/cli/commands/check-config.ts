import { loadConfig } from '../../config/load.js';
import type { CommandContext, CommandResult } from '../command.js';

export async function run(ctx: CommandContext): Promise<CommandResult> {
  const file = ctx.args[0] ?? ctx.configPath;
  const config = loadConfig(file);
  return {
    json: { valid: true, file, config },
    human: `${file}: valid configuration for host ${config.host} (${Object.keys(config.snapshots.sources).length} snapshot sources)`,
  };
}
