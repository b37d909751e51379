// `state`: undeclared state on the live root, i.e. what the next wipe erases, from the
// `diff` engine (runDiff over the live root against the blank).
import { resolveTarget, runDiff } from '../diff/diff.js';
import { groupEntries, type Group } from '../diff/report.js';
import type { KindCheck, Verdict } from './kind.js';
import { drift, ok, unknown } from './kind.js';
import { plural } from '../util/text.js';

const GROUPS_KEPT = 10;

export interface StateFacts {
  /** The root walked, from the top level (root.subvolume). */
  subvolume: string;
  entries: number;
  size: number;
  groups: Group[];
  warnings: string[];
  /** Paths the walk could not read. */
  skipped: number;
}


export function compareState(f: StateFacts): Verdict {
  const base = { subvolume: f.subvolume, entries: f.entries, size: f.size, skipped: f.skipped, warnings: f.warnings };
  if (f.entries === 0) {
    return ok(`no undeclared state on ${f.subvolume}${f.skipped ? ` (${plural(f.skipped, 'path')} could not be read)` : ''}`, base);
  }
  // Biggest groups first: they are what to persist or clean up.
  const groups = [...f.groups].sort((a, b) => b.entries - a.entries || (a.path < b.path ? -1 : 1)).slice(0, GROUPS_KEPT);
  return drift(`${plural(f.entries, 'undeclared path')} in ${plural(f.groups.length, 'directory', 'directories')} will be erased at next boot`, {
    ...base,
    groups: groups.map((g) => ({ path: g.path, whole: g.whole, entries: g.entries, size: g.size })),
    groupsTotal: f.groups.length,
    run: 'pantheragent diff (then persist what must survive, or delete it)',
  });
}

export const stateCheck: KindCheck = {
  kind: 'state',
  timeoutHint: 'the walk of the live root is slow: add large scratch directories to diff.ignore',
  blocking: true, // opening the agent and the diff walk are synchronous
  check: async (ctx): Promise<Verdict> => {
    let agent;
    try {
      agent = ctx.agent();
    } catch (e) {
      return unknown(`cannot open the Btrfs top level to walk the live root: ${(e as Error).message}`);
    }
    const target = resolveTarget(agent, 'blank', ctx.now());
    const res = runDiff(agent, target);
    return compareState({ subvolume: target.subvolume, entries: res.entries.length, size: res.entries.reduce((s, e) => s + (e.size ?? 0), 0), groups: groupEntries(res.entries), warnings: res.warnings, skipped: res.skipped.length });
  },
};
