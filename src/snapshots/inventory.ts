// What is in the snapshot and archive directories, read from the filesystem, and
// the reconciliation that makes the SQLite index equal to it.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import { listSubvolumes, type ListedSubvolume } from '../btrfs/btrfs.js';
import { basenameOf, parseName } from '../btrfs/names.js';
import { recordEvent, statement, type Db } from '../store/db.js';
import { unlessMissing } from '../util/fsutil.js';
import { archivedByWipes } from '../wipe/archived.js';
import { readMeta } from './meta.js';
import { compareStrings } from '../util/text.js';

export interface Entry {
  kind: 'snapshot' | 'root';
  dir: string;
  name: string;
  /** Path from the top level, e.g. "@snapshots/@persist.20261125T220000+0000". */
  rel: string;
  path: string;
  /** The configured source it belongs to ("@persist", or root.subvolume); null if none is configured for its base name. */
  source: string | null;
  instant: number;
  seq: number;
  uuid: string;
  btrfsId: number;
  /** Generation at creation: orders snapshots by when they were made, whatever their names say. */
  cgen: number;
  readonly: boolean;
  pinned: boolean;
  tag: string | null;
}

export interface ForeignEntry {
  dir: string;
  name: string;
  rel: string;
  subvolume: boolean;
  why: string;
  /**
   * A well-named subvolume that is writable: pantheragent only ever makes read-only ones
   * there (archived roots once adopted), so it is not the agent's: never deleted, not
   * counted by retention.
   */
  writable?: Entry;
}

export interface Inventory {
  top: string;
  subvolumes: ListedSubvolume[];
  snapshots: Entry[];
  roots: Entry[];
  foreign: ForeignEntry[];
}

const readDirNames = (path: string): string[] => unlessMissing(() => readdirSync(path), []);

export function scan(config: Config, top: string): Inventory {
  return inventoryOf(config, top, listSubvolumes(top));
}

/** The inventory that a listing of the filesystem gives (no I/O on Btrfs but readdir of the two directories). */
export function inventoryOf(config: Config, top: string, subvolumes: ListedSubvolume[]): Inventory {
  const inv: Inventory = { top, subvolumes, snapshots: [], roots: [], foreign: [] };
  const classify = classifier(config, top, subvolumes);
  for (const { dir, kind } of directories(config)) {
    for (const name of readDirNames(join(top, dir)).sort()) place(inv, classify(dir, kind, name));
  }
  inv.snapshots.sort(order);
  inv.roots.sort(order);
  return inv;
}

/**
 * The inventory after the agent made `made` (paths from the top level): the new
 * listing, the made ones classified and added; nothing else is read again.
 */
export function inventoryWithMade(config: Config, inv: Inventory, listing: ListedSubvolume[], made: ReadonlySet<string>): Inventory {
  const next: Inventory = { top: inv.top, subvolumes: listing, snapshots: inv.snapshots.filter((e) => !made.has(e.rel)), roots: inv.roots.filter((e) => !made.has(e.rel)), foreign: inv.foreign.filter((f) => !made.has(f.rel)) };
  const classify = classifier(config, inv.top, listing);
  for (const rel of made) {
    const d = directories(config).find((x) => rel.startsWith(`${x.dir}/`) && !rel.slice(x.dir.length + 1).includes('/'));
    if (d) place(next, classify(d.dir, d.kind, rel.slice(d.dir.length + 1)));
  }
  next.snapshots.sort(order);
  next.roots.sort(order);
  return next;
}

/** The inventory after the agent deleted `gone` (paths from the top level). */
export function inventoryWithout(inv: Inventory, gone: ReadonlySet<string>): Inventory {
  return {
    top: inv.top,
    subvolumes: inv.subvolumes.filter((s) => !gone.has(s.path)),
    snapshots: inv.snapshots.filter((e) => !gone.has(e.rel)),
    roots: inv.roots.filter((e) => !gone.has(e.rel)),
    foreign: inv.foreign.filter((f) => !gone.has(f.rel)),
  };
}

const order = (a: Entry, b: Entry) => a.instant - b.instant || a.seq - b.seq || compareStrings(a.name, b.name);

function directories(config: Config): { dir: string; kind: Entry['kind'] }[] {
  return [
    { dir: config.snapshots.dir, kind: 'snapshot' },
    { dir: config.root.archiveDir, kind: 'root' },
  ];
}

type Classified = { entry: Entry } | { foreign: ForeignEntry };

function place(inv: Inventory, c: Classified): void {
  if ('foreign' in c) inv.foreign.push(c.foreign);
  else (c.entry.kind === 'snapshot' ? inv.snapshots : inv.roots).push(c.entry);
}

/** What one name in a snapshot or archive directory is: the agent's entry, or foreign and why. */
function classifier(config: Config, top: string, subvolumes: ListedSubvolume[]): (dir: string, kind: Entry['kind'], name: string) => Classified {
  const byPath = new Map(subvolumes.map((s) => [s.path, s]));
  const meta = readMeta(top, subvolumes);
  let made: Set<string> | undefined;
  const wipeMade = () => (made ??= archivedByWipes(top));
  const pins = new Set(meta.pins);
  const sourceOfBase = new Map(Object.keys(config.snapshots.sources).map((s) => [basenameOf(s), s]));
  const rootBase = basenameOf(config.root.subvolume);
  const sourceOf = (kind: Entry['kind'], base: string) => (kind === 'snapshot' ? (sourceOfBase.get(base) ?? null) : base === rootBase ? config.root.subvolume : null);
  // join() once per directory: a name read from a directory is one plain component.
  const dirPaths = new Map<string, string>();
  const dirPath = (dir: string) => dirPaths.get(dir) ?? dirPaths.set(dir, join(top, dir)).get(dir)!;
  return (dir, kind, name) => {
    const rel = `${dir}/${name}`;
    const sv = byPath.get(rel);
    const parsed = parseName(name);
    // A subvolume whose listed path cannot be trusted (a newline, control bytes,
    // invalid UTF-8, a forged line) is left alone: shown, never acted on.
    if (sv?.odd) return { foreign: { dir, name, rel, subvolume: true, why: `odd name: ${sv.odd}` } };
    if (!sv || !parsed) {
      return { foreign: { dir, name, rel, subvolume: !!sv, why: !sv ? 'not a subvolume' : 'name is not <base>.<YYYYMMDD>T<HHMMSS><+hhmm>[_N]' } };
    }
    const entry: Entry = {
      kind,
      dir,
      name,
      rel,
      path: `${dirPath(dir)}/${name}`,
      source: sourceOf(kind, parsed.base),
      instant: parsed.instant,
      seq: parsed.seq,
      uuid: sv.uuid,
      btrfsId: sv.id,
      cgen: sv.cgen,
      readonly: sv.readonly,
      pinned: pins.has(sv.uuid),
      tag: meta.tags[sv.uuid] ?? null,
    };
    // An archived root is writable from the initrd's rename until adoption makes it
    // read-only: it is ours when a wipe's record names it.
    if (!sv.readonly && !(kind === 'root' && wipeMade().has(rel))) {
      return { foreign: { dir, name, rel, subvolume: true, why: 'writable: pantheragent only makes read-only snapshots and archived roots', writable: entry } };
    }
    return { entry };
  };
}

/** An index row as an array in this column order (raw rows: a third of the cost of row objects). */
const COLUMNS = ['uuid', 'kind', 'dir', 'name', 'source', 'btrfs_id', 'readonly', 'instant', 'seq', 'pinned', 'tag'] as const;
type Row = [uuid: string, kind: string, dir: string, name: string, source: string | null, btrfsId: number, readonly: number, instant: number | null, seq: number, pinned: number, tag: string | null];

const rowOf = (e: Entry): Row => [e.uuid, e.kind, e.dir, e.name, e.source, e.btrfsId, e.readonly ? 1 : 0, e.instant, e.seq, e.pinned ? 1 : 0, e.tag];
const sameRow = (a: Row, b: Row) => a.every((v, i) => v === b[i]);
const relOf = (r: Row) => `${r[2]}/${r[3]}`;

/**
 * Make the index equal to the inventory; record what appeared and vanished. Only rows
 * that differ are written (an hourly run over 1,000 unchanged snapshots writes none),
 * in one IMMEDIATE transaction so that concurrent writers queue on busy_timeout.
 * `scope`: only these paths changed (what the agent itself just made or deleted), so
 * only their rows are read and compared. `recorded`: the caller has already recorded
 * an event for each of them ("snapshot", "deleted"); another would only repeat it, and
 * the history would grow by two rows more per hourly snapshot.
 */
export function reconcileIndex(
  db: Db,
  inv: Inventory,
  now = Date.now(),
  scope?: ReadonlySet<string>,
  recorded = false,
): { added: number; removed: number; changed: number } {
  let added = 0;
  let removed = 0;
  let changed = 0;
  const select = `SELECT ${COLUMNS.join(', ')} FROM subvolumes`;
  const rows = scope
    ? [...scope].flatMap((rel) => statement(db, `${select} WHERE dir || '/' || name = ?`).raw().all(rel) as Row[])
    : (statement(db, select).raw().all() as Row[]);
  const known = new Map(rows.map((r) => [r[0], r]));
  const wanted = [...inv.snapshots, ...inv.roots].filter((e) => !scope || scope.has(e.rel)).map(rowOf);
  const writes = wanted.filter((r) => !known.has(r[0]) || !sameRow(known.get(r[0])!, r));
  const seen = new Set(wanted.map((r) => r[0]));
  const gone = [...known.values()].filter((r) => !seen.has(r[0]));
  if (writes.length === 0 && gone.length === 0) return { added, removed, changed };
  db.transaction(() => {
    const upsert = statement(
      db,
      `INSERT INTO subvolumes (uuid, kind, dir, name, source, btrfs_id, readonly, instant, seq, pinned, tag, first_seen, last_seen)
      VALUES (@uuid, @kind, @dir, @name, @source, @btrfs_id, @readonly, @instant, @seq, @pinned, @tag, @now, @now)
      ON CONFLICT (uuid) DO UPDATE SET kind = excluded.kind, dir = excluded.dir, name = excluded.name, source = excluded.source,
        btrfs_id = excluded.btrfs_id, readonly = excluded.readonly, instant = excluded.instant, seq = excluded.seq,
        pinned = excluded.pinned, tag = excluded.tag, last_seen = excluded.last_seen`,
    );
    for (const r of writes) {
      if (known.has(r[0])) changed++;
      else {
        added++;
        if (!recorded) recordEvent(db, 'appeared', relOf(r), { kind: r[1], source: r[4] }, now);
      }
      upsert.run({ ...Object.fromEntries(COLUMNS.map((c, i) => [c, r[i]])), now });
    }
    const del = statement(db, 'DELETE FROM subvolumes WHERE uuid = ?');
    for (const row of gone) {
      del.run(row[0]);
      removed++;
      if (!recorded) recordEvent(db, 'vanished', relOf(row), {}, now);
    }
  }).immediate();
  return { added, removed, changed };
}

/** A name more than this ahead of the clock is "in the future" (a clock that was wrong); less is ordinary skew. */
const FUTURE_SLACK_MS = 5 * 60_000;

/** Snapshots and archived roots whose names are dated after `now`: shown as a warning by status and health. */
export function futureDated(inv: Inventory, now: number): Entry[] {
  return [...inv.snapshots, ...inv.roots].filter((e) => e.instant > now + FUTURE_SLACK_MS);
}
