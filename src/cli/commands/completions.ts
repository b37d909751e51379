import { UsageError } from '../../errors.js';
import { completions, isShell } from '../completions.js';
import type { CommandContext, CommandResult } from '../command.js';

export async function run(ctx: CommandContext): Promise<CommandResult> {
  const shell = ctx.args[0] ?? '';
  if (!isShell(shell)) throw new UsageError('completions takes one of: fish, bash, zsh');
  const script = completions(shell);
  return { json: { shell, script }, human: script };
}
