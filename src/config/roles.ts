// Cross-field rules the per-field schema cannot see: each subvolume role (the root,
// the blank, the archive directory, the snapshot directory, every source) must be its
// own subvolume, and no role may sit inside another. An overlap makes the agent act
// on data under the wrong role: `root.subvolume: "@persist"` had `wipe` archive
// @persist; `root.blank: "@persist"` made @persist read-only. Two sources with the
// same last component would write snapshots with the same names, so retention would
// count one source's snapshots as the other's.
import { basenameOf } from '../btrfs/names.js';
import { formatPath } from './load.js';
import type { Config } from './schema.js';

export interface ConfigIssue {
  path: string;
  message: string;
}

interface Role {
  path: string;
  subvol: string;
}

function rolesOf(config: Config): Role[] {
  return [
    { path: 'root.subvolume', subvol: config.root.subvolume },
    { path: 'root.blank', subvol: config.root.blank },
    { path: 'root.archiveDir', subvol: config.root.archiveDir },
    { path: 'snapshots.dir', subvol: config.snapshots.dir },
    ...Object.keys(config.snapshots.sources).map((s) => ({ path: formatPath(['snapshots', 'sources', s]), subvol: s })),
  ];
}

/** a is b, or a directory above b, comparing whole path components. */
const contains = (a: string, b: string) => a === b || b.startsWith(a + '/');

/** Every overlap of roles and every shared snapshot name base; empty when the roles are sound. */
export function roleIssues(config: Config): ConfigIssue[] {
  const roles = rolesOf(config);
  const issues: ConfigIssue[] = [];
  for (let i = 0; i < roles.length; i++) {
    for (let j = i + 1; j < roles.length; j++) {
      const a = roles[i]!;
      const b = roles[j]!;
      let how: string | null = null;
      if (a.subvol === b.subvol) how = `is the same subvolume as ${b.path}`;
      else if (contains(a.subvol, b.subvol)) how = `contains ${b.path} ("${b.subvol}")`;
      else if (contains(b.subvol, a.subvol)) how = `is inside ${b.path} ("${b.subvol}")`;
      if (how) issues.push({ path: a.path, message: `"${a.subvol}" ${how}: each role needs its own subvolume, none inside another` });
    }
  }
  const byBase = new Map<string, string>();
  for (const source of Object.keys(config.snapshots.sources)) {
    const base = basenameOf(source);
    const first = byBase.get(base);
    if (first === undefined) byBase.set(base, source);
    else {
      issues.push({
        path: formatPath(['snapshots', 'sources', source]),
        message: `its snapshots would be named like those of "${first}" ("${base}.<time>" in ${config.snapshots.dir}): rename one subvolume, or snapshot only one of them`,
      });
    }
  }
  return issues;
}
