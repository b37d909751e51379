// `diff`: gathers what the rules and the walk need (mount tables, the root's
// /etc/.clean, nested subvolumes), picks the root to walk, and runs the walk.
// Reads only: nothing here writes to the filesystem.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Agent } from '../agent.js';
import { readMounts } from '../btrfs/mounts.js';
import type { MountInfo } from '../btrfs/parse.js';
import { UnavailableError, UsageError } from '../errors.js';
import { selectEntry } from '../snapshots/select.js';
import { isSubvolumeRoot, unlessMissing } from '../util/fsutil.js';
import { compileRules, isUnder, lexicalTarget, normalizeAbs, ruleSpecFor, type Rules } from './classify.js';
import type { ReportTarget } from './report.js';
import { walk, type WalkResult } from './walk.js';

export interface DiffTarget extends ReportTarget {
  /** Filesystem path of the root to walk. */
  fsPath: string;
}

/** `--against`: "blank" (the live root) or a selector over the archived roots of root.subvolume. */
export function resolveTarget(agent: Agent, selector: string, now: number): DiffTarget {
  const { root } = agent.config;
  if (selector === 'blank') {
    const fsPath = join(agent.top, root.subvolume);
    if (!isSubvolumeRoot(fsPath)) {
      throw new UnavailableError(`the live root ${root.subvolume} (root.subvolume) is not a subvolume at ${fsPath}: check root.subvolume in the config, or the wipe record`);
    }
    return { kind: 'live', subvolume: root.subvolume, selector, instant: null, blank: root.blank, fsPath };
  }
  const roots = agent.inventory.roots.filter((e) => e.source === root.subvolume);
  const sel = selectEntry(roots, selector, now, `archived root of ${root.subvolume} in ${root.archiveDir}`);
  if (!sel.ok) throw new UsageError(`--against ${selector}: ${sel.error}`);
  return { kind: 'archived', subvolume: sel.entry.rel, selector, instant: sel.entry.instant, blank: root.blank, fsPath: sel.entry.path };
}

const readLines = (path: string): string[] => unlessMissing(() => readFileSync(path, 'utf8').split('\n'), []);
// A fixture systemRoot without a mount table: only the standard mount points apply.
const readMountsOrNone = (systemRoot: string): MountInfo[] => unlessMissing(() => readMounts(systemRoot), []);

export function rulesFor(agent: Agent, rootFs: string): Rules {
  const { config } = agent;
  const live = readMountsOrNone(config.systemRoot).map((m) => m.mountPoint);
  return compileRules(
    ruleSpecFor({
      persistence: config.persistence,
      ignore: config.diff.ignore,
      liveMountPoints: live,
      etcClean: readLines(join(rootFs, 'etc/.clean')),
    }),
  );
}

/**
 * The etc tree that the root's activation installs into /etc, as this system sees it:
 * the store path the root's /etc/static points to, below `systemRoot` (where the store
 * is mounted). Null when /etc/static is missing or points outside the store.
 */
export function activationEtc(rootFs: string, systemRoot: string): string | null {
  let target: string;
  try {
    target = readlinkSync(join(rootFs, 'etc/static'));
  } catch {
    return null;
  }
  const abs = lexicalTarget('/etc/static', target);
  return isUnder(abs, '/nix/store') && abs !== '/nix/store' ? join(systemRoot, abs) : null;
}

/** Nested subvolumes of `target` (paths on the root), from the inventory's `btrfs subvolume list`. */
function nestedSubvolumes(agent: Agent, target: DiffTarget): Set<string> {
  const prefix = target.subvolume + '/';
  return new Set(agent.inventory.subvolumes.filter((s) => s.path.startsWith(prefix)).map((s) => normalizeAbs(s.path.slice(prefix.length))));
}

/** Mounts in our own namespace below the walked path (rare: the top-level mount is private). */
function mountsBelow(fsPath: string): Set<string> {
  const res = new Set<string>();
  for (const m of readMounts('/')) {
    if (m.mountPoint !== fsPath && isUnder(m.mountPoint, fsPath)) res.add(normalizeAbs(m.mountPoint.slice(fsPath.length)));
  }
  return res;
}

export interface DiffResult extends WalkResult {
  target: DiffTarget;
  warnings: string[];
}

export function runDiff(agent: Agent, target: DiffTarget): DiffResult {
  const warnings: string[] = [];
  if (target.kind === 'live') {
    // Everything on the live root counts as newer than the blank only if the blank is empty.
    const blankFs = join(agent.top, target.blank);
    let blankEntries: string[] = [];
    try {
      blankEntries = readdirSync(blankFs);
    } catch {
      warnings.push(`the blank ${target.blank} (root.blank) is missing: the next wipe will create it empty`);
    }
    if (blankEntries.length) {
      warnings.push(`${target.blank} is not empty (${blankEntries.slice(0, 3).join(', ')}${blankEntries.length > 3 ? ', …' : ''}): what the new root gets from it is reported here too`);
    }
  }
  const res = walk({
    root: target.fsPath,
    rules: rulesFor(agent, target.fsPath),
    subvolumes: nestedSubvolumes(agent, target),
    mounts: mountsBelow(target.fsPath),
    activationEtc: activationEtc(target.fsPath, agent.config.systemRoot),
  });
  return { ...res, target, warnings };
}
