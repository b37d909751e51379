// What `prune` would do: the retention planner applied to every configured source
// and to the archived roots, plus everything that retention never touches (foreign
// names, snapshots of unconfigured sources). Pure over an inventory.
import type { Config } from '../config/schema.js';
import type { Entry, Inventory } from '../snapshots/inventory.js';
import { formatPolicy, planRetention, type Rule } from './planner.js';
import type { RetentionPolicy } from './policy.js';

export interface PlannedDecision {
  entry: Entry;
  action: 'keep' | 'delete';
  rules: Rule[] | ['unconfigured'];
  reason: string;
}

export interface PruneGroup {
  kind: 'snapshots' | 'roots';
  /** The configured source, or root.subvolume for archived roots; null for snapshots of no configured source. */
  source: string | null;
  policy: string | null;
  decisions: PlannedDecision[];
}

export interface PrunePlan {
  now: number;
  groups: PruneGroup[];
  /** Paths from the top level, in deletion order (oldest first). */
  condemned: string[];
}

function group(kind: PruneGroup['kind'], source: string, entries: Entry[], policy: RetentionPolicy, now: number, tz: string): PruneGroup {
  const decisions = planRetention(
    entries.map((e) => ({ id: e.rel, instant: e.instant, seq: e.seq, pinned: e.pinned })),
    policy,
    now,
    tz,
  );
  return {
    kind,
    source,
    policy: formatPolicy(policy),
    decisions: decisions.map((d, i) => ({ entry: entries[i]!, action: d.action, rules: d.rules, reason: d.reason })),
  };
}

/** Extra entries to protect beyond pins, e.g. the archived root a pending rollback names. */
export type Protect = (e: Entry) => string | null;

export function planPrune(config: Config, inv: Inventory, now: number, protect: Protect = () => null): PrunePlan {
  const tz = config.timezone;
  const groups: PruneGroup[] = [];
  for (const [source, { retention }] of Object.entries(config.snapshots.sources)) {
    groups.push(group('snapshots', source, inv.snapshots.filter((e) => e.source === source), retention, now, tz));
  }
  const unconfigured = inv.snapshots.filter((e) => e.source === null);
  if (unconfigured.length) {
    groups.push({
      kind: 'snapshots',
      source: null,
      policy: null,
      decisions: unconfigured.map((entry) => ({ entry, action: 'keep', rules: ['unconfigured'], reason: 'no source configured for this name: never deleted' })),
    });
  }
  groups.push(group('roots', config.root.subvolume, inv.roots.filter((e) => e.source === config.root.subvolume), config.root.retention, now, tz));
  const strays = inv.roots.filter((e) => e.source !== config.root.subvolume);
  if (strays.length) {
    groups.push({
      kind: 'roots',
      source: null,
      policy: null,
      decisions: strays.map((entry) => ({ entry, action: 'keep', rules: ['unconfigured'], reason: `not an archive of ${config.root.subvolume}: never deleted` })),
    });
  }
  for (const g of groups) {
    // The planner keeps the newest by name; a clock that was wrong for a while can
    // date names in the future, so the newest by creation is kept as well.
    const newest = g.decisions.reduce<PlannedDecision | null>((a, d) => (!a || d.entry.cgen > a.entry.cgen || (d.entry.cgen === a.entry.cgen && d.entry.btrfsId > a.entry.btrfsId) ? d : a), null);
    for (const d of g.decisions) {
      if (d.action !== 'delete') continue;
      const why =
        protect(d.entry) ??
        (!d.entry.readonly ? 'writable (an archived root not yet adopted): made read-only by the next mutating run before retention may apply' : null) ??
        (d === newest ? `newest by creation (generation ${d.entry.cgen}): kept whatever its name says` : null);
      if (why) Object.assign(d, { action: 'keep', reason: why });
    }
  }
  const condemned = groups
    .flatMap((g) => g.decisions)
    .filter((d) => d.action === 'delete')
    .sort((a, b) => a.entry.instant - b.entry.instant || a.entry.seq - b.entry.seq)
    .map((d) => d.entry.rel);
  return { now, groups, condemned };
}

/** Decision per path from the top level, for `list` and `status`. */
export function decisionsByPath(plan: PrunePlan): Map<string, PlannedDecision> {
  return new Map(plan.groups.flatMap((g) => g.decisions.map((d) => [d.entry.rel, d] as const)));
}
