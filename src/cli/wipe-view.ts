// What `wipe` and `render-initrd` print: the plan, the decisions on this disk, the
// result. One place, so --json keeps one shape (documented in docs/wipe.md).
import { formatStamp } from '../btrfs/names.js';
import type { WipeDecisions, WipeResult } from '../wipe/execute.js';
import { describeFailure, describeStep, type WipePlan } from '../wipe/plan.js';
import type { LastWipe } from '../wipe/files.js';
import { formatMarker } from '../wipe/record.js';
import { bold, dim, formatAge, green, isoTime, red, table, yellow } from './output.js';

export function planJson(plan: WipePlan, top: string | null) {
  return {
    device: plan.layout.device,
    top,
    root: plan.layout.root,
    blank: plan.layout.blank,
    archiveDir: plan.layout.archiveDir,
    stamp: plan.instant === null ? null : formatStamp(plan.instant),
    time: plan.instant === null ? null : isoTime(plan.instant),
    files: plan.files,
    steps: plan.steps.map((s) => ({ kind: s.kind, description: describeStep(s, plan) })),
    onFailure: describeFailure(plan),
  };
}

export function decisionsJson(d: WipeDecisions) {
  return { source: d.source, from: d.from, marker: formatMarker(d.marker), blank: d.blank, root: d.root, archived: d.archived, problem: d.problem };
}

export function resultJson(r: WipeResult) {
  return {
    outcome: r.outcome,
    root: r.root,
    archived: r.archived,
    renamedBack: r.renamedBack,
    error: r.error,
    record: r.line,
    recordWritten: r.recordError === null,
    recordError: r.recordError,
  };
}

export function planHuman(plan: WipePlan, top: string): string {
  return [
    bold(`wipe plan for ${plan.layout.root} on ${plan.layout.device}`) + dim(` (top level at ${top}; the agent uses its own mount)`),
    ...plan.steps.map((s, i) => `  ${i + 1}. ${describeStep(s, plan)}`),
    `  ${describeFailure(plan)}`,
  ].join('\n');
}

export function decisionsHuman(plan: WipePlan, d: WipeDecisions, refusal: string | null): string {
  const l = plan.layout;
  const marker =
    d.marker.state === 'none' ? 'none' : d.marker.state === 'used' ? `rollback to ${d.from} (consumed on success)` : `ignored (${d.marker.reason}), consumed`;
  const blank = { unused: 'not needed', exists: 'present, read-only', create: 'missing: will be created empty and read-only', 'make-read-only': 'writable: will be made read-only', 'not-a-subvolume': red('not a subvolume') }[d.blank];
  const root = d.root === 'missing' ? 'missing: nothing to archive (first boot)' : d.root === 'not-a-subvolume' ? red('not a subvolume: will not be touched') : `-> ${d.archived}`;
  const rows = [
    ['source', `${d.from} (${d.source})`],
    ['marker', marker],
    [l.blank, blank],
    [l.root, root],
  ];
  const notes = [...(d.problem ? [red(`will fail: ${d.problem}`)] : []), ...(refusal ? [red(`refused: ${refusal}`)] : [])];
  return [bold('on this disk:'), table(null, rows.map((r) => ['  ' + r[0]!, r[1]!])), ...notes].join('\n');
}

/** What is true on disk after the run, whatever failed: the root, the old root, the record. */
export function resultHuman(plan: WipePlan, d: WipeDecisions, r: WipeResult): string {
  const root = plan.layout.root;
  const record = r.recordError
    ? '\n' + red(`the wipe record was NOT written: ${r.recordError}`) + `\nstatus will not show this wipe; free space, then the next wipe records again.`
    : '';
  if (r.outcome === 'ok') {
    return green(`root wiped: `) + (r.archived ? `${root} archived as ${r.archived}; ` : 'no old root to archive; ') + `new ${root} from ${d.from}` + record;
  }
  const now = {
    fresh: `a new ${root} was made from ${d.from}${r.archived ? `; the old root is at ${r.archived}` : ''}.`,
    'as-before': r.renamedBack ? `${root} was renamed back: the root is as it was before.` : `${root} is unchanged.`,
    missing: `${root} is missing; the old root is at ${r.archived}.`,
  }[r.root];
  return red(`wipe FAILED: ${r.error}`) + '\n' + now + record;
}

/** The last wipe as `status` shows it; `ok` is false when it failed or its record is unreadable. */
export function lastWipeJson(last: LastWipe) {
  if (last.state === 'none') return { status: 'never' as const, ok: true, time: null, archived: null, source: null, from: null, executor: null, error: null, record: null };
  if (last.state === 'unreadable') return { status: 'unreadable' as const, ok: false, time: null, archived: null, source: null, from: null, executor: null, error: last.error, record: last.line };
  const r = last.record;
  return { status: r.outcome, ok: r.outcome !== 'failed', time: r.time, archived: r.archived, source: r.source, from: r.from, executor: r.executor, error: r.error, record: last.line };
}

export function lastWipeHuman(w: ReturnType<typeof lastWipeJson>, now: number): string {
  const when = w.time ? `${formatAge(now - Date.parse(w.time))} ago (${w.time})` : '';
  switch (w.status) {
    case 'never':
      return dim('no wipe recorded');
    case 'unreadable':
      return red(`last wipe record unreadable: ${w.error}`);
    case 'skipped':
      return yellow(`wipe skipped ${when} (pantheragent.wipe=0 on the kernel command line)`);
    case 'failed':
      return red(`LAST WIPE FAILED ${when}: ${w.error}; the root was not wiped (see docs/wipe.md)`);
    case 'ok':
      return `wiped ${when}` + (w.archived ? `, archived ${w.archived}` : ', nothing to archive') + (w.source === 'rollback' ? `, rolled back to ${w.from}` : '');
  }
}
