// What `restore` prints: the plan, the result, and with --persist the declaration to
// add to the flake. One place, so --json keeps one shape (documented in the README).
import type { RestoreResult } from '../rollback/restore.js';
import { describeRestoreStep, type RestorePlan } from '../rollback/restore-plan.js';
import { bold, dim, green, isoTime, red } from './output.js';

export function restorePlanJson(plan: RestorePlan) {
  return {
    from: { name: plan.from.name, path: plan.from.rel, kind: plan.from.kind, source: plan.from.source },
    mode: plan.mode,
    time: isoTime(plan.instant),
    safety: plan.safety,
    items: plan.items.map((it) => ({
      path: it.path,
      source: `${plan.from.rel}/${it.srcRel}`,
      kind: it.kind,
      linkTarget: it.linkTarget,
      dest: it.dest,
      replaces: it.destKind === 'missing' ? null : it.destKind,
      holder: it.holder?.rel ?? null,
      removes: it.extras,
      createsParents: it.mkdirs.map((d) => d.path),
    })),
    declarations: plan.declarations,
    steps: plan.steps.map((s) => ({ kind: s.kind, description: describeRestoreStep(s, plan) })),
  };
}

export function restoreResultJson(r: RestoreResult) {
  return { outcome: r.outcome, restored: r.restored, error: r.error, journalId: r.journalId };
}

function declarationLines(plan: RestorePlan): string[] {
  if (!plan.declarations.length) return [];
  return [
    '',
    bold('To keep it across reboots, declare it in the flake:'),
    ...plan.declarations.map((d) => `  ${d.nix}`),
    dim('  (and in services.pantheragent.settings.persistence, so that drift stops reporting it)'),
    dim('  until the next boot (when impermanence mounts it in place) the copy is only in persistence.storage'),
  ];
}

export function restorePlanHuman(plan: RestorePlan): string {
  const where = plan.mode === 'persist' ? 'into persistence' : plan.mode === 'to' ? 'to another place' : 'into place';
  return [
    bold(`restore from ${plan.from.rel} ${where}`) + dim(` (${plan.from.kind === 'root' ? 'archived root' : `snapshot of ${plan.from.source}`})`),
    ...plan.items.map((it) => `  ${it.path} -> ${it.dest}${it.destKind === 'missing' ? dim(' (new)') : dim(` (replaces a ${it.destKind})`)}`),
    bold('steps:'),
    ...plan.steps.map((s, i) => `  ${i + 1}. ${describeRestoreStep(s, plan)}`),
    ...declarationLines(plan),
  ].join('\n');
}

export function restoreResultHuman(plan: RestorePlan, r: RestoreResult): string {
  const safety = plan.safety.length ? ` Safety snapshot${plan.safety.length > 1 ? 's' : ''}: ${plan.safety.map((s) => s.rel).join(', ')}.` : '';
  if (r.outcome === 'failed') {
    return red(`restore FAILED: ${r.error}`) + `\n${r.restored.length ? `restored before the failure: ${r.restored.join(', ')}.` : 'nothing was restored.'}${safety}`;
  }
  // The declaration to add was part of the plan, shown before this.
  return green(`restored ${r.restored.join(', ')} from ${plan.from.rel}.`) + safety + (plan.declarations.length ? ' Declare it in the flake (above) to keep it.' : '');
}
