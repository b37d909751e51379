import { UsageError } from '../../errors.js';
import { completions, isShell } from '../completions.js';
import type { CommandContext, CommandResult } from '../command.js';

/** The dynamic half of completion: names that only this host's config and disk know. */
function values(ctx: CommandContext, kind: string): string[] {
  if (kind === 'sources') return Object.keys(ctx.loadConfig().snapshots.sources);
  if (kind === 'snapshots') {
    const inv = ctx.openAgent({ mutating: false }).inventory;
    return ['previous-boot', ...[...inv.snapshots, ...inv.roots].map((e) => e.name)];
  }
  throw new UsageError('--values takes sources or snapshots');
}

export async function run(ctx: CommandContext): Promise<CommandResult> {
  if (typeof ctx.opts.values === 'string') {
    const list = values(ctx, ctx.opts.values);
    return { json: { values: list }, human: list.join('\n') };
  }
  const shell = ctx.args[0] ?? '';
  if (!isShell(shell)) throw new UsageError('completions takes one of: fish, bash, zsh');
  const script = completions(shell);
  return { json: { shell, script }, human: script };
}
