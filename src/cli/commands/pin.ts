import { UsageError } from '../../errors.js';
import { readMeta, writeMeta } from '../../snapshots/meta.js';
import type { Entry } from '../../snapshots/inventory.js';
import { selectEntry } from '../../snapshots/select.js';
import type { Agent } from '../../agent.js';
import type { CommandContext, CommandResult } from '../command.js';

/** A snapshot or archived root by its name, its path from the top level, or `previous-boot`. */
export function findEntry(agent: Agent, ref: string): Entry {
  const all = [...agent.inventory.snapshots, ...agent.inventory.roots];
  if (ref === 'previous-boot' && !all.some((e) => e.name === ref)) {
    const sel = selectEntry(agent.inventory.roots, ref, Date.now());
    if (!sel.ok) throw new UsageError(sel.error);
    return sel.entry;
  }
  const hit = all.filter((e) => e.name === ref || e.rel === ref);
  if (hit.length === 1) return hit[0]!;
  if (hit.length > 1) throw new UsageError(`"${ref}" names more than one subvolume (${hit.map((e) => e.rel).join(', ')}): give the path from the top level`);
  throw new UsageError(`no snapshot or archived root named "${ref}" (see 'pantheragent list' and 'pantheragent list --roots')`);
}

export async function setPinned(ctx: CommandContext, pinned: boolean): Promise<CommandResult> {
  if (ctx.args.length !== 1) throw new UsageError(`${pinned ? 'pin' : 'unpin'} takes exactly one SNAPSHOT`);
  const agent = ctx.openAgent({ mutating: true });
  const entry = findEntry(agent, ctx.args[0]!);
  const meta = readMeta(agent.top);
  const was = meta.pins.includes(entry.rel);
  meta.pins = pinned ? [...meta.pins, entry.rel] : meta.pins.filter((p) => p !== entry.rel);
  if (was !== pinned) writeMeta(agent.top, meta);
  agent.refresh();
  const verb = pinned ? 'pinned' : 'unpinned';
  return {
    json: { path: entry.rel, name: entry.name, pinned, changed: was !== pinned },
    human: was === pinned ? `${entry.rel} was already ${verb}` : `${entry.rel} ${verb}${pinned ? ': retention will never delete it' : ': retention applies to it again'}`,
  };
}

export async function run(ctx: CommandContext): Promise<CommandResult> {
  return setPinned(ctx, true);
}
