// `snapshot`: read-only snapshots of the configured persistent subvolumes.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Agent } from '../agent.js';
import { createSubvolume, freeSpace, snapshotSubvolume } from '../btrfs/btrfs.js';
import { basenameOf, freeName } from '../btrfs/names.js';
import { AgentError, RefusedError, UsageError } from '../errors.js';
import { recordEvent } from '../store/db.js';
import { exists, isSubvolumeRoot } from '../util/fsutil.js';
import { failpoint } from '../util/failpoint.js';
import { layoutProblem } from './layout.js';
import { readMeta, writeMeta } from './meta.js';

export interface Created {
  source: string;
  name: string;
  rel: string;
  path: string;
  instant: number;
}

export class LowSpaceError extends RefusedError {}

/** Sources to snapshot: the named ones (validated), or all configured. */
export function selectSources(agent: Agent, names: string[]): string[] {
  const configured = Object.keys(agent.config.snapshots.sources);
  if (names.length === 0) return configured;
  const unknown = names.filter((n) => !configured.includes(n));
  if (unknown.length) throw new UsageError(`not a configured snapshot source: ${unknown.join(', ')} (configured: ${configured.join(', ')})`);
  return names;
}

export function checkFreeSpace(agent: Agent): { freePercent: number; floor: number } {
  const usage = freeSpace(agent.top);
  const floor = agent.config.snapshots.minFreePercent;
  if (usage.freePercent < floor) {
    throw new LowSpaceError(
      `refusing to snapshot: only ${usage.freePercent.toFixed(1)}% of the filesystem is free, under snapshots.minFreePercent (${floor}%). Free space, or let 'pantheragent prune' apply retention; nothing was deleted to make room.`,
      { freePercent: usage.freePercent, floor },
    );
  }
  return { freePercent: usage.freePercent, floor };
}

export function createSnapshots(agent: Agent, sources: string[], opts: { tag?: string; pin?: boolean; now?: number }): Created[] {
  checkFreeSpace(agent);
  const dir = agent.config.snapshots.dir;
  const dirPath = join(agent.top, dir);
  if (!exists(dirPath)) {
    mkdirSync(join(dirPath, '..'), { recursive: true });
    createSubvolume(dirPath);
  }
  const problem = layoutProblem(agent.top, dir);
  if (problem) throw new RefusedError(`snapshots.dir (${dir}): ${problem}; nothing was snapshotted.`);
  const instant = Math.floor((opts.now ?? Date.now()) / 1000) * 1000;
  // Under the lock no other pantheragent creates names; exists() also sees btrbk's.
  const planned = sources.map((source) => {
    const sv = agent.inventory.subvolumes.find((s) => s.path === source);
    if (!sv || !isSubvolumeRoot(join(agent.top, source))) {
      throw new AgentError(`the snapshot source ${source} is not a subvolume on ${agent.top}: create it, or remove it from snapshots.sources`);
    }
    const name = freeName(basenameOf(source), instant, (n) => exists(join(dirPath, n)));
    return { source, sourceId: sv.id, sourceUuid: sv.uuid, name, rel: `${dir}/${name}`, path: join(dirPath, name), instant };
  });
  // Pins and tags are written before the snapshots exist, so that a crash in between
  // can leave a pin without its snapshot (harmless, it expires) but never a snapshot
  // without its pin. They bind to the new snapshot's UUID once it exists.
  if (opts.tag || opts.pin) {
    const meta = readMeta(agent.top, agent.inventory.subvolumes);
    for (const c of planned) meta.pending.push({ rel: c.rel, parentUuid: c.sourceUuid, pin: !!opts.pin, tag: opts.tag ?? null, at: Date.now() });
    writeMeta(agent.top, meta);
  }
  const created: Created[] = [];
  for (const c of planned) {
    // By identity: the source must still be the subvolume the inventory listed.
    snapshotSubvolume(join(agent.top, c.source), c.path, { readonly: true, expectId: c.sourceId });
    failpoint('snapshot.after-create');
    recordEvent(agent.db, 'snapshot', c.rel, { source: c.source, tag: opts.tag ?? null, pinned: !!opts.pin });
    agent.log.info({ source: c.source, snapshot: c.rel }, 'snapshot created');
    created.push({ source: c.source, name: c.name, rel: c.rel, path: c.path, instant: c.instant });
  }
  const inv = agent.learnMade(planned.map((c) => c.rel));
  for (const c of planned) {
    const sv = inv.subvolumes.find((s) => s.path === c.rel);
    if (sv?.parentUuid !== c.sourceUuid) throw new AgentError(`${c.rel} is not a snapshot of ${c.source} (${c.sourceUuid}) as it should be: left as it is for a person to look at.`);
  }
  if (opts.tag || opts.pin) writeMeta(agent.top, readMeta(agent.top, inv.subvolumes));
  return created;
}
