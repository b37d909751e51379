// Gathers the facts of the health state from what the other pieces record: the
// inventory (snapshots per source), the last wipe record, retention's current plan,
// free space, the latest drift results and the power summary. Each fact is gathered
// on its own: one that fails becomes "unknown, because ..." and the rest still count.
import type { Agent } from '../agent.js';
import { freeSpace } from '../btrfs/btrfs.js';
import { VERSION } from '../cli/version.js';
import type { Config } from '../config/schema.js';
import type { DriftCheck } from '../drift/types.js';
import type { PowerSummary } from '../power/drift.js';
import { currentPlan } from '../retention/prune.js';
import type { Db } from '../store/db.js';
import type { LastWipe } from '../wipe/files.js';
import type { Fact, HealthState } from './state.js';
import { futureDated } from '../snapshots/inventory.js';
import { resolveThresholds } from './thresholds.js';

export interface CollectDeps {
  now?: () => number;
  /** The drift piece's stored results (src/drift/store.ts readLatestDrift). */
  readDrift?: ((db: Db) => DriftCheck[]) | null;
  /** The power piece's summary (src/power powerSummary). */
  powerSummary?: ((config: Config) => Promise<PowerSummary | null>) | null;
}

const iso = (ms: number) => new Date(ms).toISOString();
const why = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 500);

function gather<T>(fn: () => T): Fact<T> {
  try {
    return { ok: true, value: fn() };
  } catch (e) {
    return { ok: false, why: why(e) };
  }
}

async function gatherAsync<T>(fn: () => Promise<T>): Promise<Fact<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (e) {
    return { ok: false, why: why(e) };
  }
}

function wipeFact(last: LastWipe): HealthState['wipe'] extends Fact<infer T> ? T : never {
  if (last.state === 'none') return { status: 'never', time: null, archived: null, error: null };
  if (last.state === 'unreadable') return { status: 'unreadable', time: null, archived: null, error: last.error };
  const r = last.record;
  return { status: r.outcome, time: r.time, archived: r.archived, error: r.error };
}

async function powerFact(config: Config, deps: CollectDeps): Promise<Fact<PowerSummary | null>> {
  const summarize = deps.powerSummary;
  return summarize ? gatherAsync(() => summarize(config)) : { ok: false, why: 'the power summary is not available in this build' };
}

/** What every state document starts with. */
function header(config: Config, now: number) {
  return { version: 1 as const, agentVersion: VERSION, host: config.host, collectedAt: iso(now), thresholds: resolveThresholds(config) };
}

/** The state when the filesystem could not be opened at all: every fact from it is unknown, with that reason. */
export async function unavailableState(config: Config, reason: string, deps: CollectDeps = {}): Promise<HealthState> {
  const now = (deps.now ?? Date.now)();
  const why = `the Btrfs filesystem could not be opened: ${reason}`;
  return {
    ...header(config, now),
    snapshots: { ok: false, why },
    wipe: { ok: false, why },
    retention: { ok: false, why },
    future: { ok: false, why },
    disk: { ok: false, why },
    drift: { ok: false, why },
    power: await powerFact(config, deps),
  };
}

export async function collectState(agent: Agent, deps: CollectDeps = {}): Promise<HealthState> {
  const now = (deps.now ?? Date.now)();
  const { config } = agent;
  const inv = agent.inventory;
  const snapshots = gather(() =>
    Object.keys(config.snapshots.sources).map((source) => {
      const own = inv.snapshots.filter((s) => s.source === source);
      const newest = own[own.length - 1];
      return { source, count: own.length, newest: newest ? { name: newest.name, time: iso(newest.instant) } : null };
    }),
  );
  const retention = gather(() => {
    const condemned = new Set(currentPlan(agent, now).condemned);
    return { snapshots: inv.snapshots.filter((s) => condemned.has(s.rel)).length, roots: inv.roots.filter((r) => condemned.has(r.rel)).length };
  });
  const disk = gather(() => {
    const u = freeSpace(agent.top);
    return { size: u.size, free: u.free, freePercent: Number(u.freePercent.toFixed(2)) };
  });
  const readDrift = deps.readDrift;
  const drift: HealthState['drift'] = readDrift
    ? gather(() => readDrift(agent.db).map(({ kind, status, summary, measuredAt }) => ({ kind, status, summary, measuredAt })))
    : { ok: false, why: 'drift results are not available in this build' };
  const power = await powerFact(config, deps);
  return {
    ...header(config, now),
    snapshots,
    wipe: gather(() => wipeFact(agent.lastWipe())),
    retention,
    future: gather(() => futureDated(inv, now).map((e) => ({ path: e.rel, time: iso(e.instant) }))),
    disk,
    drift,
    power,
  };
}
