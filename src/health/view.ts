// The health document for people: one line per check, worst first.
import { bold, dim, green, red, table, yellow } from '../cli/output.js';
import { countChecks, type HealthDocument, type Status } from './doc.js';

const paint: Record<Status, (s: string) => string> = { pass: green, warn: yellow, fail: red };
const RANK: Record<Status, number> = { fail: 0, warn: 1, pass: 2 };

export function healthSummary(doc: HealthDocument): string {
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
