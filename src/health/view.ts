// The health document for people: one line per check, worst first.
import { bold, dim, green, red, table, yellow } from '../cli/output.js';
import { VERSION } from '../cli/version.js';
import { countChecks, healthDocument, type HealthDocument, type Status } from './doc.js';
import { readState } from './publish.js';

const paint: Record<Status, (s: string) => string> = { pass: green, warn: yellow, fail: red };
const RANK: Record<Status, number> = { fail: 0, warn: 1, pass: 2 };

function healthSummary(doc: HealthDocument): string {
  const n = countChecks(doc);
  const notPass = n.warn + n.fail;
  return `${paint[doc.status](doc.status)}${notPass ? ` (${[n.fail ? `${n.fail} failing` : '', n.warn ? `${n.warn} warning` : ''].filter(Boolean).join(', ')})` : ''}`;
}

export function healthHuman(doc: HealthDocument, from: string): string {
  const rows = Object.entries(doc.checks)
    .flatMap(([key, cs]) => cs.map((c) => ({ key, c })))
    .sort((a, b) => RANK[a.c.status] - RANK[b.c.status])
    .map(({ key, c }) => [
      key,
      c.componentId ?? '',
      paint[c.status](c.status),
      c.output ?? (c.observedValue === undefined || c.observedValue === null ? '' : `${c.observedValue}${c.observedUnit ? ` ${c.observedUnit}` : ''}`),
    ]);
  return `${bold(`${doc.description} ${doc.releaseId}`)}: health ${healthSummary(doc)} ${dim(`(${from})`)}\n${table(null, rows)}`;
}

/** For `status`: the published state judged now, or why there is none. */
export function healthStatusJson(runtimeDir: string, now: number) {
  const read = readState(runtimeDir);
  if (!read.ok) return { status: null, why: read.why, collectedAt: null, failing: [] as string[], warning: [] as string[] };
  const doc = healthDocument(read, now, VERSION);
  const named = (st: Status) =>
    Object.entries(doc.checks).flatMap(([key, cs]) => cs.filter((c) => c.status === st).map((c) => (c.componentId ? `${key} ${c.componentId}` : key)));
  return { status: doc.status, why: null, collectedAt: read.state.collectedAt, failing: named('fail'), warning: named('warn') };
}

export function healthStatusHuman(h: ReturnType<typeof healthStatusJson>): [string, string] {
  if (h.status === null) return [dim('unknown'), h.why];
  const worst = h.failing.length ? h.failing : h.warning;
  const listed = worst.slice(0, 3).join(', ') + (worst.length > 3 ? `, and ${worst.length - 3} more` : '');
  return [paint[h.status](h.status), `${worst.length ? `${listed}; ` : ''}published ${h.collectedAt} (pantheragent health)`];
}
