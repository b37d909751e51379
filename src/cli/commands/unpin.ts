import { setPinned } from './pin.js';
import type { CommandContext, CommandResult } from '../command.js';

export async function run(ctx: CommandContext): Promise<CommandResult> {
  return setPinned(ctx, false);
}
