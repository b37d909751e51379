// Every directory and subvolume the config names must be what it says on the top
// level: a real directory (or subvolume), reached without following a link. A link
// at @snapshots would make `snapshot` write somewhere else and `prune` look there.
import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import { RefusedError } from '../errors.js';

/** The config field naming each path from the top level, for error messages. */
function configuredPaths(config: Config): { field: string; rel: string }[] {
  return [
    { field: 'root.subvolume', rel: config.root.subvolume },
    { field: 'root.blank', rel: config.root.blank },
    { field: 'root.archiveDir', rel: config.root.archiveDir },
    { field: 'snapshots.dir', rel: config.snapshots.dir },
    ...Object.keys(config.snapshots.sources).map((s) => ({ field: `snapshots.sources["${s}"]`, rel: s })),
  ];
}

/** Why `rel` is not a real directory chain below `top` (missing parts are fine: they are created later), or null. */
export function layoutProblem(top: string, rel: string): string | null {
  const parts = rel.split('/');
  for (let i = 1; i <= parts.length; i++) {
    const path = join(top, ...parts.slice(0, i));
    let st;
    try {
      st = lstatSync(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
    if (st.isSymbolicLink()) return `${path} is a symbolic link`;
    if (!st.isDirectory()) return `${path} is not a directory`;
  }
  return null;
}

export function checkLayout(config: Config, top: string): void {
  const bad = configuredPaths(config).flatMap(({ field, rel }) => {
    const why = layoutProblem(top, rel);
    return why ? [`${field} (${rel}): ${why}`] : [];
  });
  if (bad.length) {
    throw new RefusedError(`refusing to work on this layout, nothing was changed:\n  ${bad.join('\n  ')}\nEvery configured path must be a real directory or subvolume on the Btrfs top level: replace the link, or fix the config.`, { problems: bad });
  }
}
