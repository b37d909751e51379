import { UsageError } from '../../errors.js';
import { decisionsByPath, type PlannedDecision } from '../../retention/prune-plan.js';
import { currentPlan } from '../../retention/prune.js';
import type { Entry, ForeignEntry } from '../../snapshots/inventory.js';
import { dim, formatAge, formatBytes, green, isoTime, red, table } from '../output.js';
import { qgroupSizes } from '../../btrfs/btrfs.js';
import { escapeName, type QgroupSize } from '../../btrfs/parse.js';
import type { CommandContext, CommandResult } from '../command.js';
import { pendingRootRollback } from '../../rollback/execute.js';
import { ROLLBACK_TAGS } from '../../rollback/plan.js';
import { pendingJson } from '../rollback-view.js';

export function entryJson(e: Entry, now: number, d: PlannedDecision | undefined, size: QgroupSize | null) {
  return {
    name: e.name,
    path: e.rel,
    source: e.source,
    time: isoTime(e.instant),
    ageSeconds: Math.round((now - e.instant) / 1000),
    readonly: e.readonly,
    pinned: e.pinned,
    tag: e.tag,
    uuid: e.uuid,
    subvolumeId: e.btrfsId,
    size,
    retention: d ? { action: d.action, rules: d.rules, reason: d.reason } : null,
  };
}

export async function run(ctx: CommandContext): Promise<CommandResult> {
  const agent = ctx.openAgent({ mutating: false });
  const inv = agent.inventory;
  const roots = ctx.opts.roots === true;
  const filter = ctx.args[0];
  if (ctx.args.length > 1) throw new UsageError('list takes at most one SOURCE');
  const sources = roots ? [agent.config.root.subvolume] : Object.keys(agent.config.snapshots.sources);
  if (filter && !sources.includes(filter)) throw new UsageError(`"${filter}" is not a configured ${roots ? 'root' : 'snapshot source'} (configured: ${sources.join(', ')})`);
  const entries = (roots ? inv.roots : inv.snapshots).filter((e) => !filter || e.source === filter);
  const dir = roots ? agent.config.root.archiveDir : agent.config.snapshots.dir;
  const foreign: ForeignEntry[] = filter ? [] : inv.foreign.filter((f) => f.dir === dir);
  // A rolled-back subvolume that something still mounts stays writable until then: say so, not just "foreign".
  const whyOf = (f: ForeignEntry) => (f.writable?.tag === ROLLBACK_TAGS.aside ? `${f.why}; rolled back and still mounted: becomes read-only and the agent's once unmounted` : f.why);
  const pending = roots ? pendingRootRollback(agent) : null;
  const now = Date.now();
  const fate = decisionsByPath(currentPlan(agent, now));
  const sizes = qgroupSizes(agent.top);
  const sizeOf = (e: Entry) => sizes?.get(e.btrfsId) ?? null;
  const fateText = (d: PlannedDecision | undefined) => (!d ? '' : d.action === 'keep' ? green('keep') + ' ' + dim(d.reason) : red('delete') + ' ' + dim(d.reason));
  const rows = entries.map((e) => [
    e.source ?? dim('(unconfigured)'),
    e.name,
    isoTime(e.instant),
    formatAge(now - e.instant),
    sizes ? formatBytes(sizeOf(e)?.exclusive ?? 0) : '-',
    fateText(fate.get(e.rel)),
    [e.readonly ? '' : 'writable', e.tag ? `tag:${e.tag}` : '', pending?.valid && pending.path === e.rel ? 'pending rollback: the next boot starts from it' : ''].filter(Boolean).join(' '),
  ]);
  const human = [
    entries.length ? table(['SOURCE', 'NAME', 'TIME', 'AGE', 'EXCLUSIVE', 'RETENTION', 'NOTES'], rows) : `no ${roots ? 'archived roots' : 'snapshots'}${filter ? ` of ${filter}` : ''}`,
    ...(foreign.length ? ['', `foreign (never deleted):`, ...foreign.map((f) => `  ${escapeName(f.rel)}  ${dim(whyOf(f))}`)] : []),
  ].join('\n');
  return {
    json: {
      kind: roots ? 'roots' : 'snapshots',
      entries: entries.map((e) => entryJson(e, now, fate.get(e.rel), sizeOf(e))),
      foreign: foreign.map((f) => ({ name: f.name, path: f.rel, subvolume: f.subvolume, why: whyOf(f) })),
      ...(roots ? { pendingRootRollback: pendingJson(pending) } : {}),
    },
    human,
  };
}
