// Runs the drift kinds concurrently, each under its own timeout: a kind that fails or
// hangs becomes `unknown` with why, and never holds up the others.
//
// `state` walks the live root with the diff engine, which is synchronous: it starts after
// every other kind has started its processes, so they proceed meanwhile, but its own
// timeout can only be noticed once the walk returns (the walk reads a freshly wiped
// root, which is small; docs/diff.md and bench/diff.ts have its speed).
import type { Agent } from '../agent.js';
import { isoTime } from '../cli/output.js';
import type { Config } from '../config/schema.js';
import { openDb, type Db } from '../store/db.js';
import type { Logger } from '../util/log.js';
import { closureCheck } from './closure.js';
import { readFlakeRevision, type FlakeRevision } from './flake.js';
import { unknown, type KindCheck, type KindContext, type Readers, type Verdict } from './kind.js';
import { nextbootCheck } from './nextboot.js';
import { persistenceCheck } from './persistence.js';
import { profileCheck } from './profile.js';
import { rebootCheck } from './reboot.js';
import { revisionCheck } from './revision.js';
import { stateCheck } from './state.js';
import { DRIFT_KINDS, type DriftCheck, type DriftKind } from './types.js';
import { unitsCheck } from './units.js';

export const CHECKS: Record<DriftKind, KindCheck> = {
  reboot: rebootCheck,
  nextboot: nextbootCheck,
  revision: revisionCheck,
  closure: closureCheck,
  state: stateCheck,
  persistence: persistenceCheck,
  profile: profileCheck,
  units: unitsCheck,
};

export interface RunDriftOptions {
  kinds?: DriftKind[];
  now?: () => number;
  log?: Logger;
  /** The index (closure's evaluation cache); opened from config.stateDir when not given. */
  db?: Db;
  /** Opens the agent for `state`; by default a read-only one, as `diff` opens it. */
  openAgent?: () => Agent;
  readers?: Readers;
}

function silentLogger(): Logger {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { createLogger } = require('../util/log.js') as typeof import('../util/log.js');
  return createLogger('silent');
}

/** A read-only agent, as `diff` opens it, loaded only when `state` runs. */
function openReadOnlyAgent(config: Config, log: Logger): Agent {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { openAgent } = require('../agent.js') as typeof import('../agent.js');
  return openAgent(config, log, { mutating: false, waitSeconds: 0 });
}

/** One kind under its timeout: the verdict, or `unknown` with why. */
async function runOne(check: KindCheck, base: Omit<KindContext, 'signal'>, timeoutSeconds: number, log: Logger): Promise<Verdict> {
  const ac = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<Verdict>((resolve) => {
    timer = setTimeout(() => {
      ac.abort();
      resolve(unknown(`timed out after ${timeoutSeconds}s${check.timeoutHint ? `: ${check.timeoutHint}` : ''}`, { timeoutSeconds }));
    }, timeoutSeconds * 1000);
  });
  const started = Date.now();
  const work = (async () => {
    // Every kind starts in the next turn of the event loop, a blocking one a turn later,
    // so the others have started their processes before it takes the thread.
    await new Promise((r) => setImmediate(r));
    if (check.blocking) await new Promise((r) => setImmediate(r));
    return check.check({ ...base, signal: ac.signal });
  })().catch((e: unknown) => {
    log.debug({ kind: check.kind, err: e }, 'drift check failed');
    return unknown((e as Error).message ?? String(e), { error: (e as Error).name ?? 'Error' });
  });
  try {
    const v = await Promise.race([work, timedOut]);
    log.debug({ kind: check.kind, status: v.status, ms: Date.now() - started }, 'drift check done');
    return v;
  } finally {
    clearTimeout(timer);
    ac.abort(); // ends whatever a finished or timed-out kind left running
  }
}

export async function runDrift(config: Config, opts: RunDriftOptions = {}): Promise<DriftCheck[]> {
  const log = opts.log ?? silentLogger();
  const now = opts.now ?? Date.now;
  const kinds = DRIFT_KINDS.filter((k) => !opts.kinds || opts.kinds.includes(k));
  let db: Db | null = opts.db ?? null;
  let ownDb = false;
  if (!db) {
    try {
      db = openDb(config.stateDir);
      ownDb = true;
    } catch (e) {
      log.warn({ err: e }, 'the index cannot be opened: closure evaluates without its cache');
    }
  }
  // The flake's revision is read once, under the revision kind's timeout, for both kinds that need it.
  let flakeRevision: Promise<FlakeRevision> | null = null;
  // An agent opened here is closed here (the daemon runs drift every half hour).
  const own: { agent?: Agent } = {};
  const base: Omit<KindContext, 'signal'> = {
    config,
    log,
    now,
    db,
    agent: opts.openAgent ?? (() => (own.agent ??= openReadOnlyAgent(config, log))),
    flakeRevision: () => (flakeRevision ??= readFlakeRevision(config.drift.flake, AbortSignal.timeout(config.drift.timeouts.revision * 1000))),
    readers: opts.readers ?? {},
  };
  try {
    return await Promise.all(
      kinds.map(async (kind): Promise<DriftCheck> => {
        const v = await runOne(CHECKS[kind], base, config.drift.timeouts[kind], log);
        return { kind, ...v, measuredAt: isoTime(now()) };
      }),
    );
  } finally {
    if (ownDb) db?.close();
    own.agent?.db.close();
  }
}
