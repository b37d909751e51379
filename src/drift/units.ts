// `units`: failed systemd units, from `systemctl list-units --failed --output=json`.
import * as z from 'zod/mini';
import '../util/zod.js';
import { ParseError } from '../errors.js';
import type { KindCheck, Verdict } from './kind.js';
import { drift, ok, unknown } from './kind.js';
import { runTool } from './proc.js';
import { plural } from '../util/text.js';

const unitRow = z.object({ unit: z.string().check(z.minLength(1)), load: z.string(), active: z.string(), sub: z.string(), description: z.string() });
export type FailedUnit = z.output<typeof unitRow>;

/** systemctl's JSON: an array of { unit, load, active, sub, description }. */
export function parseFailedUnits(json: string): FailedUnit[] {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch (e) {
    throw new ParseError('systemctl list-units --output=json', json, (e as Error).message);
  }
  const r = z.array(unitRow).safeParse(data);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new ParseError('systemctl list-units --output=json', json, `[${i.path.join('.')}] ${i.message}`);
  }
  return r.data;
}

const SHOWN = 5;

export function compareUnits(units: FailedUnit[]): Verdict {
  if (!units.length) return ok('no failed units');
  const names = units.map((u) => u.unit);
  return drift(`${plural(units.length, 'failed unit')}: ${names.slice(0, SHOWN).join(', ')}${units.length > SHOWN ? ', …' : ''}`, {
    units: units.map((u) => ({ unit: u.unit, load: u.load, active: u.active, sub: u.sub, description: u.description })),
    run: `systemctl status ${names[0]}; journalctl -b -u ${names[0]}`,
  });
}

export async function systemctlFailed(signal: AbortSignal): Promise<string> {
  const r = await runTool('systemctl', ['list-units', '--failed', '--output=json', '--no-pager'], { signal });
  if (r.code !== 0) {
    const why = r.stderr.trim().split('\n').filter(Boolean).join('; ') || `exit ${r.code}`;
    throw new Error(`systemctl list-units --failed failed: ${why.slice(0, 300)}`);
  }
  return r.stdout;
}

export const unitsCheck: KindCheck = {
  kind: 'units',
  check: async (ctx) => {
    let out: string;
    try {
      out = await (ctx.readers.failedUnits ?? systemctlFailed)(ctx.signal);
    } catch (e) {
      if (ctx.signal.aborted) throw e;
      return unknown((e as Error).message);
    }
    return compareUnits(parseFailedUnits(out));
  },
};
