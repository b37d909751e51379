import { UsageError } from '../../errors.js';
import { setPinned as setMetaPinned } from '../../snapshots/meta.js';
import type { Entry } from '../../snapshots/inventory.js';
import { selectEntry } from '../../snapshots/select.js';
import type { Agent } from '../../agent.js';
import type { CommandContext, CommandResult } from '../command.js';

/**
 * A snapshot or archived root by any selector (snapshots/select.ts): its name, its
 * path from the top level, `latest`, `previous-boot`, or an age such as `2h-ago`.
 * `latest` and ages mean the newest snapshot of any source; when snapshots of several
 * sources tie (one `snapshot` run makes one per source), the name must be given.
 */
export function findEntry(agent: Agent, ref: string, now = Date.now()): Entry {
  const all = [...agent.inventory.snapshots, ...agent.inventory.roots];
  const named = all.filter((e) => e.name === ref || e.rel === ref);
  if (named.length > 1) throw new UsageError(`"${ref}" names more than one subvolume (${named.map((e) => e.rel).join(', ')}): give the path from the top level`);
  if (named.length === 1) return named[0]!;
  const pool = ref === 'previous-boot' ? agent.inventory.roots : agent.inventory.snapshots;
  const sel = selectEntry(pool, ref, now);
  if (!sel.ok) throw new UsageError(`${sel.error} (see 'pantheragent list' and 'pantheragent list --roots')`);
  const tied = pool.filter((e) => e.instant === sel.entry.instant);
  if (tied.length > 1) {
    throw new UsageError(`"${ref}" matches ${tied.length} snapshots taken together (${tied.map((e) => e.name).join(', ')}): name the one to pin`);
  }
  return sel.entry;
}

export async function setPinned(ctx: CommandContext, pinned: boolean): Promise<CommandResult> {
  if (ctx.args.length !== 1) throw new UsageError(`${pinned ? 'pin' : 'unpin'} takes exactly one SNAPSHOT`);
  const agent = ctx.openAgent({ mutating: true });
  const entry = findEntry(agent, ctx.args[0]!);
  const changed = setMetaPinned(agent.top, agent.inventory.subvolumes, entry.uuid, pinned);
  // Only meta.json changed: the same listing, pins read again.
  agent.reread([entry.rel]);
  const verb = pinned ? 'pinned' : 'unpinned';
  return {
    json: { path: entry.rel, name: entry.name, uuid: entry.uuid, pinned, changed },
    human: !changed ? `${entry.rel} was already ${verb}` : `${entry.rel} ${verb}${pinned ? ': retention will never delete it' : ': retention applies to it again'}`,
  };
}

export async function run(ctx: CommandContext): Promise<CommandResult> {
  return setPinned(ctx, true);
}
