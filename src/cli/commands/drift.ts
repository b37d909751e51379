// `pantheragent drift [--check KIND,...] [--history]`: how this host differs from its
// declared flake (DESIGN.md section 7). Exit 2 when any kind drifts, 0 when every kind
// is ok or unknown. Results go to the index, which status and health read.
import { ExitCode, UsageError } from '../../errors.js';
import { runDrift } from '../../drift/run.js';
import { readDriftChanges, readDriftStandings, storeDrift } from '../../drift/store.js';
import { DRIFT_KINDS, type DriftKind } from '../../drift/types.js';
import { openDb } from '../../store/db.js';
import type { CommandContext, CommandResult } from '../command.js';
import { driftHuman, historyHuman } from '../drift-view.js';

const HISTORY_SHOWN = 20;

export function parseKinds(value: unknown): DriftKind[] | undefined {
  if (value === undefined) return undefined;
  const items = (Array.isArray(value) ? value : [value]).flatMap((v) => String(v).split(',')).map((s) => s.trim());
  const bad = items.filter((k) => !(DRIFT_KINDS as readonly string[]).includes(k));
  if (bad.length || !items.length) {
    throw new UsageError(`--check takes kinds separated by commas, from: ${DRIFT_KINDS.join(', ')}${bad.length ? ` (not a kind: "${bad.join('", "')}")` : ''}`);
  }
  return DRIFT_KINDS.filter((k) => items.includes(k));
}

export async function run(ctx: CommandContext): Promise<CommandResult> {
  if (ctx.args.length) throw new UsageError(`drift takes no arguments (got "${ctx.args.join(' ')}"); choose kinds with --check`);
  const kinds = parseKinds(ctx.opts.check);
  const config = ctx.loadConfig();
  const db = openDb(config.stateDir, (movedTo, error) => ctx.log.warn({ movedTo, error }, `the index could not be read (${error}): moved it to ${movedTo}`));
  try {
    if (ctx.opts.history === true) {
      const standings = readDriftStandings(db).filter((s) => !kinds || kinds.includes(s.kind));
      const changes = readDriftChanges(db, { kinds, limit: HISTORY_SHOWN });
      return {
        json: { host: config.host, kinds: standings.map(({ details: _d, ...s }) => s), changes },
        human: historyHuman(standings, changes, Date.now()),
      };
    }
    const checks = await runDrift(config, { kinds, log: ctx.log, db, openAgent: () => ctx.openAgent({ mutating: false }) });
    storeDrift(db, checks);
    const drifting = checks.filter((c) => c.status === 'drift').map((c) => c.kind);
    return {
      exitCode: drifting.length ? ExitCode.found : ExitCode.ok,
      json: { host: config.host, drifting, checks },
      human: driftHuman(checks, config.host),
    };
  } finally {
    db.close();
  }
}
