// Placeholder so that the command table type-checks; the implementation follows.
import { AgentError } from '../../errors.js';
import type { CommandContext, CommandResult } from '../command.js';

export async function run(_ctx: CommandContext): Promise<CommandResult> {
  throw new AgentError('diff is not implemented yet');
}
