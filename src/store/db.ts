// The SQLite index and history at <stateDir>/state.db (WAL). The filesystem is the
// truth: this database can be deleted or rolled back and is rebuilt by reconciliation.
// Migrations are forward only; each runs in a transaction with its version bump.
import type Database from 'better-sqlite3';
import { existsSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { prepareDir } from './dir.js';
import { join } from 'node:path';

export type Db = Database.Database;

/** better-sqlite3, loaded at the first open: ~25 ms of start-up that a command without the index never pays. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const sqlite = (file: string, opts?: Database.Options): Db => new (require('better-sqlite3') as typeof Database)(file, opts);

const MIGRATIONS: string[] = [
  // 1: index of subvolumes in snapshot and archive directories, history, journal
  `CREATE TABLE subvolumes (
     uuid TEXT PRIMARY KEY,
     kind TEXT NOT NULL CHECK (kind IN ('snapshot', 'root')),
     dir TEXT NOT NULL,
     name TEXT NOT NULL,
     source TEXT,
     btrfs_id INTEGER NOT NULL,
     readonly INTEGER NOT NULL,
     instant INTEGER,
     seq INTEGER NOT NULL DEFAULT 0,
     pinned INTEGER NOT NULL DEFAULT 0,
     tag TEXT,
     first_seen INTEGER NOT NULL,
     last_seen INTEGER NOT NULL
   );
   CREATE INDEX subvolumes_source ON subvolumes (kind, source, instant);
   CREATE TABLE events (
     id INTEGER PRIMARY KEY,
     at INTEGER NOT NULL,
     kind TEXT NOT NULL,
     subject TEXT NOT NULL,
     details TEXT NOT NULL DEFAULT '{}'
   );
   CREATE INDEX events_kind ON events (kind, at);
   CREATE TABLE journal (
     id INTEGER PRIMARY KEY,
     op TEXT NOT NULL,
     plan TEXT NOT NULL,
     state TEXT NOT NULL CHECK (state IN ('open', 'done', 'undone', 'failed')),
     progress TEXT NOT NULL DEFAULT '{}',
     started_at INTEGER NOT NULL,
     finished_at INTEGER
   );
   CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);`,
  // drift (src/drift/store.ts): the latest result per kind, each change of a kind's status,
  // and the closure check's evaluated toplevels keyed by the flake revision they came from
  `CREATE TABLE drift_latest (
     kind TEXT PRIMARY KEY,
     status TEXT NOT NULL CHECK (status IN ('ok', 'drift', 'unknown')),
     summary TEXT NOT NULL,
     details TEXT NOT NULL DEFAULT '{}',
     measured_at INTEGER NOT NULL,
     since INTEGER NOT NULL
   );
   CREATE TABLE drift_changes (
     id INTEGER PRIMARY KEY,
     kind TEXT NOT NULL,
     at INTEGER NOT NULL,
     previous TEXT CHECK (previous IN ('ok', 'drift', 'unknown')),
     status TEXT NOT NULL CHECK (status IN ('ok', 'drift', 'unknown')),
     summary TEXT NOT NULL
   );
   CREATE INDEX drift_changes_kind ON drift_changes (kind, id);
   CREATE TABLE drift_eval_cache (
     flake TEXT NOT NULL,
     attribute TEXT NOT NULL,
     revision TEXT NOT NULL,
     toplevel TEXT NOT NULL,
     evaluated_at INTEGER NOT NULL,
     PRIMARY KEY (flake, attribute, revision)
   );`,
];

/** quick_check's verdict, or the error that stopped it: "ok" when the file is sound. */
function quickCheck(db: Db): string {
  const rows = db.pragma('quick_check(5)') as { quick_check: string }[];
  return rows.map((r) => r.quick_check).join('; ');
}

class Unreadable extends Error {
  readonly code = 'SQLITE_CORRUPT';
}

/**
 * quick_check reads every page: a few milliseconds up to this size (a year or two of
 * history), tens beyond it. Larger files are checked when a run met a "malformed"
 * error and left the suspect mark (markSuspect), so the next run rebuilds the index.
 */
const QUICK_CHECK_MAX_BYTES = 4 * 1024 * 1024;
const suspectMark = (file: string) => `${file}.suspect`;

/** Called when a query failed with a "malformed" error: the next openDb checks the whole file. */
export function markSuspect(stateDir: string): void {
  try {
    writeFileSync(suspectMark(join(stateDir, 'state.db')), `${new Date().toISOString()}\n`);
  } catch {
    // The next run meets the same error and tries again.
  }
}

function open(file: string): Db {
  const db = sqlite(file);
  try {
    db.pragma('busy_timeout = 5000');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    // Finds bad pages before a query half way through a command trips on them.
    const suspect = existsSync(suspectMark(file));
    if (suspect || statSync(file).size <= QUICK_CHECK_MAX_BYTES) {
      const verdict = quickCheck(db);
      if (verdict !== 'ok') throw new Unreadable(`database disk image is malformed (quick_check: ${verdict.slice(0, 300)})`);
      if (suspect) rmSync(suspectMark(file), { force: true });
    }
    migrate(db);
    return db;
  } catch (e) {
    db.close();
    throw e;
  }
}

const UNREADABLE = new Set(['SQLITE_NOTADB', 'SQLITE_CORRUPT']);

/** An error that says the file itself is damaged (not busy, not full): move it aside. */
export function isUnreadable(e: unknown): boolean {
  const code = (e as { code?: string }).code ?? '';
  return UNREADABLE.has(code) || code.startsWith('SQLITE_CORRUPT') || /malformed|not a database/i.test((e as Error).message ?? '');
}

/**
 * Opens (or creates) the index. A database SQLite cannot read (not a database, bad
 * pages found by quick_check, "malformed") is moved aside, never deleted, and a new
 * one is built: everything in it but the history can be rebuilt from the filesystem,
 * which is the truth. `onRebuild` is told where the old one went.
 */
export function openDb(stateDir: string, onRebuild?: (movedTo: string, error: string) => void): Db {
  prepareDir(stateDir, 'stateDir');
  const file = join(stateDir, 'state.db');
  try {
    return open(file);
  } catch (e) {
    if (!isUnreadable(e)) throw e;
    const aside = `${file}.unreadable-${Date.now()}-${process.pid}`;
    rmSync(suspectMark(file), { force: true });
    try {
      renameSync(file, aside);
    } catch (r) {
      // Another run moved it first: open what it rebuilt.
      if ((r as NodeJS.ErrnoException).code !== 'ENOENT') throw r;
      return open(file);
    }
    for (const suffix of ['-wal', '-shm']) {
      if (existsSync(file + suffix)) renameSync(file + suffix, aside + suffix);
    }
    onRebuild?.(aside, (e as Error).message);
    return open(file);
  }
}

/**
 * The index for a command that only reads: opened read-only, never migrated, never
 * written. When there is none yet, or it is damaged or of an older schema, an empty
 * in-memory index stands in (a read command never repairs; the next mutating run does).
 */
export function openDbReadOnly(stateDir: string, onFallback?: (why: string) => void): Db {
  const file = join(stateDir, 'state.db');
  const empty = (why: string): Db => {
    if (existsSync(file)) onFallback?.(why);
    const db = sqlite(':memory:');
    migrate(db);
    return db;
  };
  if (!existsSync(file)) return empty('no index yet');
  let db: Db | null = null;
  try {
    db = sqlite(file, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version === MIGRATIONS.length) return db;
    db.close();
    return empty(`the index has schema version ${version}, this pantheragent ${MIGRATIONS.length}: the next mutating command upgrades it`);
  } catch (e) {
    db?.close();
    return empty(`the index could not be opened read-only (${(e as Error).message})`);
  }
}

/**
 * Brings the schema up to date. Runs in one IMMEDIATE transaction that re-reads
 * user_version under the write lock, so concurrent first runs wait for each other
 * (busy_timeout) and the second finds the work done: never "table already exists".
 */
export function migrate(db: Db): void {
  const pending = () => {
    const current = db.pragma('user_version', { simple: true }) as number;
    if (current > MIGRATIONS.length) {
      throw new Error(`state.db has schema version ${current}, newer than this pantheragent knows (${MIGRATIONS.length}): upgrade pantheragent, or move state.db away to rebuild it from the filesystem`);
    }
    return current;
  };
  // Read without a write lock first: a read command on an up-to-date index writes nothing.
  if (pending() === MIGRATIONS.length) return;
  db.transaction(() => {
    for (let v = pending(); v < MIGRATIONS.length; v++) {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    }
  }).immediate();
}

const statements = new WeakMap<Db, Map<string, Database.Statement>>();

/** A prepared statement, prepared once per connection: preparing costs more than a small write. */
export function statement(db: Db, sql: string): Database.Statement {
  let byText = statements.get(db);
  if (!byText) statements.set(db, (byText = new Map()));
  let st = byText.get(sql);
  if (!st) byText.set(sql, (st = db.prepare(sql)));
  return st;
}

export function recordEvent(db: Db, kind: string, subject: string, details: Record<string, unknown> = {}, at = Date.now()): void {
  statement(db, 'INSERT INTO events (at, kind, subject, details) VALUES (?, ?, ?, ?)').run(at, kind, subject, JSON.stringify(details));
}
