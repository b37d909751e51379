// What `rollback` prints: the plan, the result, the history. One place, so --json
// keeps one shape (documented in the README).
import type { RollbackResult, PendingRootRollback, RootRollbackResult } from '../rollback/execute.js';
import type { HistoryRow } from '../rollback/history.js';
import { describeRollbackStep, describeRootStep, effectOf, type MountUse, type RollbackPlan, type RootRollbackPlan } from '../rollback/plan.js';
import { bold, dim, green, isoTime, red, table, yellow } from './output.js';

export function rollbackPlanJson(plan: RollbackPlan) {
  return {
    source: plan.source,
    live: { path: plan.live.rel, subvolumeId: plan.live.id, uuid: plan.live.uuid },
    target: { name: plan.target.name, path: plan.target.rel, time: isoTime(plan.target.instant), uuid: plan.target.uuid },
    safety: plan.safety,
    aside: plan.aside,
    undoes: plan.undoes,
    mounted: plan.mounted,
    effect: effectOf(plan),
    steps: plan.steps.map((s) => ({ kind: s.kind, description: describeRollbackStep(s, plan) })),
  };
}

export function rollbackResultJson(r: RollbackResult) {
  return { outcome: r.outcome, sealed: r.sealed, renamedBack: r.renamedBack, error: r.error, journalId: r.journalId };
}

const unitsText = (m: MountUse) => (m.units === null ? 'systemd units unknown (systemctl not available)' : m.units.length ? `unit ${m.units.join(', ')}` : 'no systemd mount unit');

function mountedLines(plan: RollbackPlan): string[] {
  if (!plan.mounted.length) return [`${plan.source} is not mounted: the rollback takes effect at once.`];
  return [
    yellow(`${plan.source} is mounted: the change takes effect at the next mount or boot.`),
    ...plan.mounted.map((m) => `  ${m.mountPoint} (${unitsText(m)}) keeps showing the current content until it is mounted again`),
    dim(`  until then, what is written there goes to ${plan.aside} (kept); a mount by subvolid= rather than subvol=${plan.source} would keep mounting it`),
  ];
}

export function rollbackPlanHuman(plan: RollbackPlan): string {
  const what = plan.undoes !== null ? `undo of rollback #${plan.undoes}: ${plan.source} back to ${plan.target.rel}` : `rollback of ${plan.source} to ${plan.target.rel}`;
  return [
    bold(what) + dim(` (${isoTime(plan.target.instant)})`),
    ...plan.steps.map((s, i) => `  ${i + 1}. ${describeRollbackStep(s, plan)}`),
    ...mountedLines(plan),
  ].join('\n');
}

export function rollbackResultHuman(plan: RollbackPlan, r: RollbackResult): string {
  if (r.outcome === 'failed') {
    return red(`rollback FAILED: ${r.error}`) + (r.renamedBack ? `\n${plan.source} was renamed back: it is as it was.` : '');
  }
  const lines = [
    green(`${plan.source} rolled back to ${plan.target.rel}`) + `; the previous ${plan.source} is ${plan.aside}, a safety snapshot ${plan.safety}.`,
    plan.mounted.length
      ? `Mounted at ${plan.mounted.map((m) => m.mountPoint).join(', ')}: remount or reboot for it to take effect${r.sealed ? '' : `; ${plan.aside} becomes read-only at the first pantheragent run after it is unmounted`}.`
      : 'In effect now.',
    `Undo with: pantheragent rollback --undo`,
  ];
  return lines.join('\n');
}

export function rootPlanJson(plan: RootRollbackPlan) {
  return {
    action: plan.action,
    target: plan.target ? { name: plan.target.name, path: plan.target.rel, time: isoTime(plan.target.instant) } : null,
    previous: plan.previous,
    marker: plan.marker,
    steps: plan.steps.map((s) => ({ kind: s.kind, description: describeRootStep(s, plan) })),
  };
}

export function rootPlanHuman(plan: RootRollbackPlan): string {
  const head = plan.action === 'cancel' ? `cancel the pending root rollback (${plan.previous})` : `root rollback: the next boot starts once from ${plan.target!.rel}`;
  return [
    bold(head),
    ...plan.steps.map((s, i) => `  ${i + 1}. ${describeRootStep(s, plan)}`),
    dim(`  no safety snapshot is needed: the boot archives the current ${plan.root} into ${plan.archiveDir} as every boot does`),
  ].join('\n');
}

export function rootResultHuman(plan: RootRollbackPlan, r: RootRollbackResult): string {
  if (plan.action === 'cancel') return green('pending root rollback cancelled') + `: the next boot starts from the blank root (journal #${r.journalId}).`;
  return (
    green(`root rollback pending: the next boot starts from ${plan.target!.rel}`) +
    ` (once; the marker is consumed). Reboot when ready; 'pantheragent rollback root --cancel' takes it back.`
  );
}

export function pendingJson(p: PendingRootRollback | null) {
  return p ? { marker: p.line, path: p.path, valid: p.valid, why: p.why } : null;
}

export function pendingHuman(p: PendingRootRollback | null): string | null {
  if (!p) return null;
  return p.valid ? `next boot starts from ${p.path} (pending root rollback; cancel: pantheragent rollback root --cancel)` : red(`rollback marker "${p.line}" will be ignored: ${p.why}`);
}

export function historyJson(rows: HistoryRow[], pending: PendingRootRollback | null) {
  return {
    kind: 'history',
    pendingRoot: pendingJson(pending),
    entries: rows.map((r) => ({
      id: r.id,
      op: r.op,
      state: r.state,
      time: isoTime(r.startedAt),
      finished: r.finishedAt === null ? null : isoTime(r.finishedAt),
      subject: r.subject,
      target: r.target,
      kept: r.kept,
      undoes: r.undoes,
    })),
  };
}

export function historyHuman(rows: HistoryRow[], pending: PendingRootRollback | null): string {
  const p = pendingHuman(pending);
  const body = rows.length
    ? table(
        ['#', 'TIME', 'OP', 'STATE', 'WHAT', 'TO / FROM', 'KEPT'],
        rows.map((r) => [String(r.id), isoTime(r.startedAt), r.op + (r.undoes !== null ? ` (#${r.undoes})` : ''), r.state, r.subject, r.target ?? '', r.kept.join(' ')]),
      )
    : 'no rollback or restore yet';
  return [...(p ? [p, ''] : []), body].join('\n');
}
