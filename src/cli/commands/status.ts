import { freeSpace } from '../../btrfs/btrfs.js';
import { currentPlan } from '../../retention/prune.js';
import { VERSION } from '../version.js';
import { futureDated } from '../../snapshots/inventory.js';
import { bold, formatAge, formatBytes, isoTime, red, table, yellow } from '../output.js';
import type { CommandContext, CommandResult } from '../command.js';
import { lastWipeHuman, lastWipeJson } from '../wipe-view.js';
import { pendingRootRollback } from '../../rollback/execute.js';
import { pendingHuman, pendingJson } from '../rollback-view.js';
import { readLatestDrift } from '../../drift/store.js';
import { driftSummaryHuman, driftSummaryJson } from '../drift-view.js';
import { healthStatusHuman, healthStatusJson } from '../../health/view.js';
import { powerStatusHuman, powerStatusJson } from '../profile-view.js';
import { plural } from '../../util/text.js';

export async function run(ctx: CommandContext): Promise<CommandResult> {
  const agent = ctx.openAgent({ mutating: false });
  const { config, inventory: inv } = agent;
  const now = Date.now();
  const usage = freeSpace(agent.top);
  const condemned = new Set(currentPlan(agent, now).condemned);
  const sources = Object.keys(config.snapshots.sources).map((source) => {
    const own = inv.snapshots.filter((s) => s.source === source);
    const newest = own[own.length - 1];
    return { source, count: own.length, pruneWouldDelete: own.filter((s) => condemned.has(s.rel)).length, newest: newest ? { name: newest.name, time: isoTime(newest.instant), ageSeconds: Math.round((now - newest.instant) / 1000) } : null };
  });
  const lowSpace = usage.freePercent < config.snapshots.minFreePercent;
  const json = {
    version: VERSION,
    host: config.host,
    sources,
    roots: { archived: inv.roots.length, oldest: inv.roots[0] ? isoTime(inv.roots[0].instant) : null, pruneWouldDelete: inv.roots.filter((r) => condemned.has(r.rel)).length },
    wipe: lastWipeJson(agent.lastWipe()),
    rootRollback: pendingJson(pendingRootRollback(agent)),
    foreign: inv.foreign.length,
    // Names dated ahead of the clock (a clock that was wrong for a while): kept, and shown.
    future: futureDated(inv, now).map((e) => ({ path: e.rel, time: isoTime(e.instant) })),
    disk: { size: usage.size, used: usage.used, free: usage.free, freePercent: Number(usage.freePercent.toFixed(2)), floorPercent: config.snapshots.minFreePercent, lowSpace },
    // The latest stored drift report (pantheragent drift, or the daemon): read, not recomputed.
    drift: driftSummaryJson(readLatestDrift(agent.db)),
    // Interrupted operations whose journal row does not parse: kept open for a person, never guessed at.
    unreadableJournal: agent.journal.unreadable().map((e) => ({ id: e.id, op: e.op, started: isoTime(e.startedAt), error: e.error })),
    // The daemon's published health state, judged now: read, not gathered again.
    health: healthStatusJson(config.runtimeDir, now),
    // Power source, profile and knobs read from sysfs now (a few files); null when power.enable is false.
    power: await powerStatusJson(config),
  };
  const rows = sources.map((s) => [
    s.source,
    plural(s.count, 'snapshot'),
    (s.newest ? `newest ${formatAge(s.newest.ageSeconds * 1000)} ago` : red('no snapshot yet')) +
      (s.pruneWouldDelete ? `, next prune deletes ${s.pruneWouldDelete}` : ''),
  ]);
  rows.push([
    'root',
    plural(inv.roots.length, 'archived root'),
    lastWipeHuman(json.wipe, now) + (inv.roots[0] ? `, oldest ${formatAge(now - inv.roots[0].instant)}` : '') + (json.roots.pruneWouldDelete ? `, next prune deletes ${json.roots.pruneWouldDelete}` : ''),
  ]);
  const pendingRoot = pendingHuman(pendingRootRollback(agent));
  if (pendingRoot) rows.push(['rollback', 'root', pendingRoot]);
  rows.push([
    'disk',
    `${(100 - usage.freePercent).toFixed(0)}% used`,
    `${formatBytes(usage.free)} free (floor ${config.snapshots.minFreePercent}%)${lowSpace ? red(': snapshots refused until space is freed') : ''}`,
  ]);
  rows.push(['drift', ...driftSummaryHuman(json.drift, now)]);
  rows.push(['health', ...healthStatusHuman(json.health)]);
  const power = powerStatusHuman(json.power);
  if (power) rows.push(['power', ...power]);
  if (json.future.length) {
    rows.push(['clock', yellow(`${json.future.length} dated in the future`), `e.g. ${json.future[0]!.path}: the clock was wrong when it was made; kept, and the newest by creation is kept too`]);
  }
  if (json.unreadableJournal.length) {
    const first = json.unreadableJournal[0]!;
    rows.push(['journal', red(plural(json.unreadableJournal.length, 'unreadable entry', 'unreadable entries')), `e.g. #${first.id} (${first.op}, ${first.started}): ${first.error}; left open in state.db for a person to inspect`]);
  }
  if (inv.foreign.length) rows.push(['foreign', `${inv.foreign.length} entries`, 'in snapshot/archive dirs, never deleted (pantheragent list)']);
  return { json, human: `${bold(`pantheragent ${VERSION} on ${config.host}`)}\n${table(null, rows)}` };
}
