// Grouping and text of the diff report. Pure: the walk's entries in, numbers and text out.
import { dim, formatAge, formatBytes, table } from '../cli/output.js';
import type { EntryKind } from './classify.js';
import type { FoundEntry, Skipped } from './walk.js';
import { plural } from '../util/text.js';

export interface Group {
  /** A directory on the root. */
  path: string;
  /** True when it holds nothing but undeclared state: persist it as a directory. */
  whole: boolean;
  entries: number;
  /** Bytes (nested subvolumes are not measured and count 0). */
  size: number;
  newestMs: number;
}

export interface Totals {
  entries: number;
  size: number;
  byKind: Partial<Record<EntryKind, number>>;
}

export function totalsOf(entries: readonly FoundEntry[]): Totals {
  const byKind: Partial<Record<EntryKind, number>> = {};
  let size = 0;
  for (const e of entries) {
    size += e.size ?? 0;
    byKind[e.kind] = (byKind[e.kind] ?? 0) + 1;
  }
  return { entries: entries.length, size, byKind };
}

/** One group per reporting directory (FoundEntry.group), sorted by path. */
export function groupEntries(entries: readonly FoundEntry[]): Group[] {
  const groups = new Map<string, Group>();
  for (const e of entries) {
    let g = groups.get(e.group);
    if (!g) groups.set(e.group, (g = { path: e.group, whole: e.wholeGroup, entries: 0, size: 0, newestMs: -Infinity }));
    g.entries++;
    g.size += e.size ?? 0;
    g.newestMs = Math.max(g.newestMs, e.mtimeMs);
  }
  return [...groups.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

export interface ReportTarget {
  /** "live" (the next wipe) or "archived" (what an earlier wipe erased). */
  kind: 'live' | 'archived';
  /** Path from the top level: "@root" or "@old_roots/@root.20261125T220000+0000". */
  subvolume: string;
  /** The selector the user gave (blank, previous-boot, 2d-ago, a name). */
  selector: string;
  /** The wipe's instant, for an archived root. */
  instant: number | null;
  blank: string;
}


export function humanReport(opts: {
  target: ReportTarget;
  entries: readonly FoundEntry[];
  skipped: readonly Skipped[];
  warnings: readonly string[];
  all: boolean;
  now: number;
}): string {
  const { target, entries, now } = opts;
  const live = target.kind === 'live';
  const where = live ? `live root ${target.subvolume} (compared with the empty ${target.blank})` : `archived root ${target.subvolume}`;
  const out: string[] = [];
  const tail = [
    ...opts.warnings.map((w) => `warning: ${w}`),
    ...(opts.skipped.length ? ['', 'not looked at:', ...opts.skipped.map((s) => `  ${s.path}  ${dim(s.why)}`)] : []),
  ];
  if (entries.length === 0) {
    out.push(
      live
        ? `Nothing undeclared on the ${where}: the next wipe erases nothing that is not declared, ignored or NixOS's own.`
        : `Nothing undeclared on the ${where}: that wipe erased nothing that was not declared, ignored or NixOS's own.`,
    );
    return [...out, ...tail].join('\n');
  }
  const t = totalsOf(entries);
  const groups = groupEntries(entries);
  out.push(
    `${live ? 'The next wipe will erase' : `The wipe ${target.instant !== null ? `${formatAge(now - target.instant)} ago ` : ''}erased`} ` +
      `${plural(t.entries, 'undeclared entry', 'undeclared entries')} (${formatBytes(t.size)}) in ${plural(groups.length, 'directory', 'directories')}, on the ${where}.`,
    '',
  );
  if (opts.all) {
    out.push(table(['PATH', 'KIND', 'SIZE', 'MODIFIED'], entries.map((e) => [e.path, e.kind, e.size === null ? '-' : formatBytes(e.size), `${formatAge(now - e.mtimeMs)} ago`])));
  } else {
    out.push(
      table(
        ['DIRECTORY', 'ENTRIES', 'SIZE', 'NEWEST', 'PERSIST AS'],
        groups.map((g) => [g.path, String(g.entries), formatBytes(g.size), `${formatAge(now - g.newestMs)} ago`, g.whole ? 'directory' : 'files']),
      ),
    );
  }
  out.push('', ...footer(target, opts.all), ...tail);
  return out.join('\n');
}

function footer(target: ReportTarget, all: boolean): string[] {
  const persist = [
    'To keep them, add them to persistence in the flake: a "directory" row to persistence.directories,',
    `the files of a "files" row to persistence.files${all ? '' : ' (--all lists them)'}; or to diff.ignore if they do not matter.`,
  ];
  if (target.kind === 'live') {
    return [
      ...persist,
      'Lost something at a reboot already? pantheragent diff --against previous-boot shows what the last wipe erased,',
      'and pantheragent restore PATH --from previous-boot brings it back (--persist: into persistence, with the declaration to add).',
    ];
  }
  return [
    `Next step to bring one back: pantheragent restore PATH --from ${target.selector} (add --persist to keep it in persistence, --dry-run to see the plan).`,
    ...persist,
  ];
}
