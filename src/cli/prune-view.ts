// How a prune plan and its outcome look: the --json document and the lines for people.
import type { DeleteOutcome } from '../btrfs/guarded-delete.js';
import type { PrunePlan } from '../retention/prune-plan.js';
import { dim, green, isoTime, red, table, yellow } from './output.js';

export function pruneJson(plan: PrunePlan, dryRun: boolean, outcome: DeleteOutcome | null) {
  return {
    dryRun,
    now: isoTime(plan.now),
    groups: plan.groups.map((g) => ({
      kind: g.kind,
      source: g.source,
      policy: g.policy,
      keep: g.decisions.filter((d) => d.action === 'keep').length,
      delete: g.decisions.filter((d) => d.action === 'delete').length,
      decisions: g.decisions.map((d) => ({ name: d.entry.name, path: d.entry.rel, time: isoTime(d.entry.instant), action: d.action, rules: d.rules, reason: d.reason })),
    })),
    condemned: plan.condemned,
    deleted: outcome?.deleted ?? [],
    failed: outcome?.failed ?? [],
  };
}

export function pruneHuman(plan: PrunePlan, dryRun: boolean, outcome: DeleteOutcome | null): string {
  const out: string[] = [];
  for (const g of plan.groups) {
    if (g.decisions.length === 0) continue;
    const del = g.decisions.filter((d) => d.action === 'delete').length;
    const what = g.kind === 'roots' ? `archived roots of ${g.source ?? '(other)'}` : (g.source ?? 'snapshots of unconfigured sources');
    out.push(`${what}${g.policy ? dim(` (${g.policy})`) : ''}: keep ${g.decisions.length - del}, delete ${del}`);
    out.push(
      table(
        null,
        g.decisions.map((d) => ['  ' + (d.action === 'keep' ? green('keep') : red(dryRun ? 'would delete' : 'delete')), d.entry.name, dim(d.reason)]),
      ),
    );
  }
  if (out.length === 0) out.push('nothing to prune: no snapshots or archived roots');
  if (dryRun) out.push('', yellow(`dry run: ${plan.condemned.length} would be deleted; nothing was changed`));
  else if (outcome) {
    out.push('', `deleted ${outcome.deleted.length} of ${plan.condemned.length}`);
    for (const f of outcome.failed) out.push(red(`  failed: ${f.path}: ${f.error}`));
  }
  return out.join('\n');
}
