// The SQLite index and history at <stateDir>/state.db (WAL). The filesystem is the
// truth: this database can be deleted or rolled back and is rebuilt by reconciliation.
// Migrations are forward only; each runs in a transaction with its version bump.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export type Db = Database.Database;

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
];

export function openDb(stateDir: string): Db {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const db = new Database(join(stateDir, 'state.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  migrate(db);
  return db;
}

export function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(`state.db has schema version ${current}, newer than this pantheragent knows (${MIGRATIONS.length}): upgrade pantheragent, or move state.db away to rebuild it from the filesystem`);
  }
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

export function recordEvent(db: Db, kind: string, subject: string, details: Record<string, unknown> = {}, at = Date.now()): void {
  db.prepare('INSERT INTO events (at, kind, subject, details) VALUES (?, ?, ?, ?)').run(at, kind, subject, JSON.stringify(details));
}
