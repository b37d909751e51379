// What `drift` prints: one line per kind, a few indented lines of what to act on, so the
// whole report fits one screen; --json carries every detail. Also the one-line summary
// that `status` shows.
import type { DriftChange, DriftStanding } from '../drift/store.js';
import type { DriftCheck } from '../drift/types.js';
import { bold, dim, formatAge, formatBytes, green, red, table, yellow } from './output.js';

const LINES_PER_KIND = 3;
const KIND_WIDTH = 'persistence'.length;

const colour = (s: DriftCheck['status']) => (s === 'ok' ? green : s === 'drift' ? red : yellow);
const arr = (v: unknown): Record<string, unknown>[] => (Array.isArray(v) ? (v as Record<string, unknown>[]) : []);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** The facts worth a line for a kind that drifts, most important first. */
function detailLines(c: DriftCheck): string[] {
  const d = c.details;
  switch (c.kind) {
    case 'revision':
      return arr(d.dirtyFiles).map((f) => `changed: ${String(f)}`);
    case 'closure': {
      const pk = Array.isArray(d.packages) ? (d.packages as string[]) : [];
      return pk.length ? pk : [str(d.packagesWhy)].filter((x): x is string => !!x);
    }
    case 'state':
      return arr(d.groups).map((g) => `${String(g.path)}  ${String(g.entries)} path${g.entries === 1 ? '' : 's'}, ${formatBytes(Number(g.size) || 0)}${g.whole ? ' (nothing declared inside: persist it whole, or delete it)' : ''}`);
    case 'persistence':
      return arr(d.problems).map((p) => `${String(p.path)}: ${(p.problems as string[]).join('; ')}`);
    case 'units':
      return arr(d.units).map((u) => `${String(u.unit)}: ${String(u.description)}`);
    default:
      return [];
  }
}

function countOf(c: DriftCheck, lines: string[]): number {
  const total = c.details.groupsTotal ?? c.details.packagesTotal;
  return typeof total === 'number' ? total : lines.length;
}

export function driftHuman(checks: DriftCheck[], host: string): string {
  const n = (s: DriftCheck['status']) => checks.filter((c) => c.status === s).length;
  const counts = [`${n('drift')} drift`, `${n('ok')} ok`, ...(n('unknown') ? [`${n('unknown')} unknown`] : [])].join(', ');
  const head = bold(`drift on ${host}: ${counts}`);
  const out = [head];
  for (const c of checks) {
    out.push(`${c.kind.padEnd(KIND_WIDTH)}  ${colour(c.status)(c.status.padEnd(7))}  ${c.summary}`);
    if (c.status !== 'drift') continue;
    const pad = ' '.repeat(KIND_WIDTH + 4);
    const lines = detailLines(c);
    for (const l of lines.slice(0, LINES_PER_KIND)) out.push(`${pad}${l}`);
    const more = countOf(c, lines) - Math.min(lines.length, LINES_PER_KIND);
    if (more > 0) out.push(dim(`${pad}… and ${more} more (pantheragent drift --check ${c.kind} --json)`));
    const run = str(c.details.run);
    if (run) out.push(`${pad}${dim('run:')} ${run}`);
  }
  return out.join('\n');
}

export function historyHuman(standings: DriftStanding[], changes: DriftChange[], now: number): string {
  if (!standings.length) return "drift has not run on this host yet: run 'pantheragent drift'";
  const ago = (iso: string) => `${formatAge(now - Date.parse(iso))} ago`;
  const kinds = table(
    ['kind', 'status', 'since', 'measured'],
    standings.map((s) => [s.kind, colour(s.status)(s.status), `${s.since} (${ago(s.since)})`, ago(s.measuredAt)]),
  );
  if (!changes.length) return kinds;
  const rows = changes.map((c) => [c.at, c.kind, `${c.previous ?? 'first'} -> ${colour(c.status)(c.status)}`, dim(c.summary)]);
  return `${kinds}\n\n${bold('changes, newest first')}\n${table(null, rows)}`;
}

/** For `status`: one line, or null when drift never ran. */
export function driftSummaryJson(latest: DriftCheck[]) {
  if (!latest.length) return null;
  const measuredAt = latest.map((c) => c.measuredAt).sort()[0]!;
  return {
    measuredAt,
    drifting: latest.filter((c) => c.status === 'drift').map((c) => c.kind),
    unknown: latest.filter((c) => c.status === 'unknown').map((c) => c.kind),
    checks: latest.map((c) => ({ kind: c.kind, status: c.status, summary: c.summary, measuredAt: c.measuredAt })),
  };
}

/** For `status`'s table: the count, then the first drifting kind or why there is none. */
export function driftSummaryHuman(s: ReturnType<typeof driftSummaryJson>, now: number): [string, string] {
  if (!s) return ['not measured', "run 'pantheragent drift'"];
  const age = `measured ${formatAge(now - Date.parse(s.measuredAt))} ago`;
  const unknown = s.unknown.length ? `, ${s.unknown.length} unknown (${s.unknown.join(', ')})` : '';
  if (!s.drifting.length) return [green('none'), `${s.checks.length} kinds checked${unknown}, ${age}`];
  const first = s.checks.find((c) => c.status === 'drift')!;
  const more = s.drifting.length > 1 ? `; also ${s.drifting.slice(1).join(', ')}` : '';
  return [red(`${s.drifting.length} of ${s.checks.length} drift`), `${first.kind}: ${first.summary}${more} (pantheragent drift), ${age}`];
}
