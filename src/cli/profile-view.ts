// `profile` output: the --json documents and the text for people.
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import { powerSummary, type PowerSummary } from '../power/drift.js';
import type { KnobReport, StepResult } from '../power/apply.js';
import type { PowerSource } from '../power/facts.js';
import type { Application, Inspection } from '../power/index.js';
import { bold, dim, green, red, table, yellow } from './output.js';

const abs = (root: string, p: string) => join(root, p);

function knobJson(root: string, k: KnobReport) {
  return {
    id: k.id,
    label: k.label,
    declared: k.declared,
    why: k.why,
    origin: k.origin,
    status: k.status,
    skipped: k.skipped,
    files: k.targets.map((t) => ({ path: abs(root, t.path), want: t.want, actual: t.actual, ok: t.ok, error: t.error, attempts: t.attempts })),
  };
}

function sourceJson(s: PowerSource) {
  return { onBattery: s.onBattery, batteryPercent: s.batteryPercent, batteryState: s.batteryState, adapters: s.adapters, batteries: s.batteries };
}

export function inspectionJson(root: string, v: Inspection) {
  return {
    enabled: true,
    model: v.model,
    source: sourceJson(v.source),
    expected: v.expected,
    active: v.active,
    last: v.last,
    knobs: v.knobs.map((k) => knobJson(root, k)),
    knobsOk: v.knobsOk,
    knobsTotal: v.knobsTotal,
    conflicts: v.conflicts,
    unreadable: v.unreadable.map((u) => ({ path: abs(root, u.path), code: u.code })),
    drift: v.drift,
  };
}

export function applicationJson(root: string, a: Application) {
  return {
    enabled: true,
    how: a.how,
    profile: a.profile,
    why: a.why,
    held: a.held,
    model: a.model,
    source: sourceJson(a.source),
    knobs: a.knobs.map((k) => knobJson(root, k)),
    changed: a.steps.filter((s: StepResult) => s.wrote).map((s) => ({ knob: s.knob, path: abs(root, s.path), before: s.before, after: s.after })),
    knobsOk: a.knobsOk,
    knobsTotal: a.knobsTotal,
    failed: a.failed,
  };
}

function sourceLine(s: PowerSource): string {
  const where = s.onBattery === true ? 'on battery' : s.onBattery === false ? 'on AC' : 'no battery or adapter found';
  const bat = s.batteries.length ? `, battery ${s.batteryPercent ?? '?'}%${s.batteryState ? ` ${s.batteryState.toLowerCase()}` : ''} (${s.batteries.join(', ')})` : '';
  const ac = s.adapters.length ? `, adapters ${s.adapters.join(', ')}` : '';
  return where + bat + ac;
}

function actualCell(k: KnobReport): string {
  if (k.status === 'skipped') return dim('-');
  // In the declared terms when it matches ("on", not no_turbo's "0"); raw file values when not.
  if (k.status === 'ok') return k.declared;
  const values = [...new Set(k.targets.map((t) => t.actual ?? '(unreadable)'))];
  return values.join(', ');
}

function statusCell(k: KnobReport): string {
  if (k.status === 'ok') return green('ok');
  if (k.status === 'skipped') return dim(`n/a: ${k.skipped}`);
  const errs = [...new Set(k.targets.filter((t) => !t.ok).map((t) => t.error?.message ?? `${t.want} wanted`))];
  const bad = k.targets.filter((t) => !t.ok).length;
  const where = k.targets.length > 1 ? ` (${bad} of ${k.targets.length} files)` : '';
  return (k.status === 'failed' ? red('FAILED') : yellow('DRIFT')) + where + (errs.length ? `: ${errs.join('; ')}` : '');
}

function knobTable(knobs: KnobReport[]): string {
  return table(
    ['knob', 'declared', 'actual', 'status'],
    knobs.map((k) => [k.label, k.declared, actualCell(k), statusCell(k)]),
  );
}

export function inspectionHuman(v: Inspection): string {
  const lines = [
    `${bold('power')}     ${sourceLine(v.source)}`,
    `${bold('model')}     ${v.model.name} (${v.model.why})`,
    `${bold('profile')}   ${v.expected.profile} expected (${v.expected.why}); active: ${v.active ?? 'none of the three'}` +
      (v.last ? `; last applied ${v.last.profile} by '${v.last.how}' at ${v.last.appliedAt}` : ''),
    `${bold('knobs')}     ${v.knobsOk}/${v.knobsTotal} as declared`,
  ];
  if (v.conflicts) {
    lines.push(
      `${bold('conflicts')} ` +
        (v.conflicts.found.length ? red(`${v.conflicts.found.join(', ')} running: it will fight over the same knobs; disable it`) : `none (${v.conflicts.method})`) +
        (v.conflicts.note ? dim(` (${v.conflicts.note})`) : ''),
    );
  }
  if (v.unreadable.length) lines.push(`${bold('unreadable')} ${yellow(v.unreadable.map((u) => `${u.path} (${u.code})`).join(', '))}`);
  lines.push('', knobTable(v.knobs));
  return lines.join('\n');
}

export function applicationHuman(a: Application): string {
  const changed = a.steps.filter((s) => s.wrote).length;
  const head = a.failed.length
    ? red(`profile ${a.profile}: ${a.failed.length} knob${a.failed.length === 1 ? '' : 's'} could not be set (${a.failed.join(', ')})`)
    : green(`profile ${a.profile} applied`);
  return [
    `${head}: ${a.knobsOk}/${a.knobsTotal} knobs as declared, ${changed} file${changed === 1 ? '' : 's'} written (${a.why}; ${sourceLine(a.source)})`,
    `model ${a.model.name} (${a.model.why})`,
    '',
    knobTable(a.knobs),
  ].join('\n');
}

export type PowerStatus = (PowerSummary & { chargeLimit: number | null }) | { error: string } | null;

/** For `status`: the power summary, null on a host without power management, or why it could not be read. */
export async function powerStatusJson(config: Config): Promise<PowerStatus> {
  try {
    const s = await powerSummary(config);
    return s && { ...s, chargeLimit: config.power.chargeLimit };
  } catch (e) {
    return { error: (e as Error).message.split('\n')[0]! };
  }
}

/** `on battery 64%` | `profile power-saver (8/8 knobs as declared), charge limit 80%` */
export function powerStatusHuman(p: PowerStatus): [string, string] | null {
  if (p === null) return null;
  if ('error' in p) return [yellow('unknown'), p.error];
  const pct = p.batteryPercent === null ? '' : `${p.batteryPercent}%`;
  const where = p.onBattery === true ? `on battery ${pct}`.trim() : p.onBattery === false ? `on AC${pct ? `, battery ${pct}` : ''}` : 'no battery';
  const knobs = `${p.knobsOk}/${p.knobsTotal} knobs as declared`;
  const parts = [`profile ${p.profile} (${p.knobsOk < p.knobsTotal ? yellow(knobs) : knobs})`];
  if (p.chargeLimit !== null) parts.push(`charge limit ${p.chargeLimit}%`);
  if (p.conflicts.length) parts.push(red(`${p.conflicts.join(', ')} also running: disable it`));
  return [where, parts.join(', ')];
}
