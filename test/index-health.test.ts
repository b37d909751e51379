// The index (state.db) when it is sick: bad pages are found (quick_check), the file
// is moved aside and rebuilt from the filesystem, and the run says so; a journal row
// that does not parse stays open for a person and is reported, and nothing crashes;
// concurrent first runs never fail with "table already exists" or "database is locked".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { migrate, openDb } from '../src/store/db.js';
import { Journal } from '../src/store/journal.js';
import { makeBtrfs, layoutHost, type BtrfsFixture } from './helpers/btrfs.js';
import { cli, cliAsync, writeConfig } from './helpers/cli.js';
import { skipUnless, BTRFS_REQ } from './helpers/env.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';

const skip = skipUnless(BTRFS_REQ);

function fixture(t: { after(fn: () => void): void }): { fx: BtrfsFixture; cfg: string; state: string } {
  const fx = makeBtrfs();
  t.after(() => fx.cleanup());
  layoutHost(fx);
  return { fx, cfg: writeConfig(fx), state: join(fx.dir, 'state') };
}

/** Garbage over a page in the middle of the file (SQLite pages are 4 KiB here). */
function corruptMiddle(file: string): void {
  const size = statSync(file).size;
  assert.ok(size >= 4 * 4096, `the index has pages to damage (${size} bytes)`);
  const fd = openSync(file, 'r+');
  try {
    const page = Math.floor(size / 4096 / 2) * 4096;
    writeSync(fd, Buffer.alloc(4096, 0xa5), 0, 4096, page);
  } finally {
    closeSync(fd);
  }
}

test('bad pages in state.db: moved aside, rebuilt from the filesystem, and said', { skip }, (t) => {
  const { cfg, state } = fixture(t);
  for (let i = 0; i < 3; i++) assert.equal(cli(['snapshot'], { config: cfg }).code, 0);
  const before = cli(['--json', 'list'], { config: cfg }).json().entries.map((e: { name: string }) => e.name);
  assert.equal(before.length, 9);
  // Make it a few pages bigger so the middle is a data page, then damage it.
  const db = new Database(join(state, 'state.db'));
  for (let i = 0; i < 200; i++) db.prepare("INSERT INTO events (at, kind, subject, details) VALUES (?, 'test', ?, ?)").run(i, `s${i}`, 'x'.repeat(200));
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  corruptMiddle(join(state, 'state.db'));

  // Read commands work from the filesystem and leave the damaged file alone...
  for (const args of [['status'], ['--json', 'list']]) {
    const r = cli(args, { config: cfg });
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  }
  assert.deepEqual(readdirSync(state).filter((f) => f.startsWith('state.db.unreadable-')), [], 'a read command repairs nothing');
  // ...and the next mutating one moves it aside and rebuilds it.
  const m = cli(['prune', '--yes'], { config: cfg });
  assert.equal(m.code, 0, m.stderr);
  const aside = readdirSync(state).filter((f) => f.startsWith('state.db.unreadable-'));
  assert.ok(aside.some((f) => !f.endsWith('-wal') && !f.endsWith('-shm')), `moved aside, not deleted: ${aside.join(', ')}`);
  assert.equal(aside.filter((f) => /^state\.db\.unreadable-\d+-\d+$/.test(f)).length, 1, 'moved once: the rebuilt file is sound');
  const after = cli(['--json', 'list'], { config: cfg }).json().entries.map((e: { name: string }) => e.name);
  assert.deepEqual(after, before, 'the rebuilt index lists the same snapshots');
});

test('the run that finds a damaged index says where it moved it', { skip }, (t) => {
  const { cfg, state } = fixture(t);
  assert.equal(cli(['snapshot'], { config: cfg }).code, 0);
  const db = new Database(join(state, 'state.db'));
  for (let i = 0; i < 200; i++) db.prepare("INSERT INTO events (at, kind, subject, details) VALUES (?, 'test', ?, ?)").run(i, `s${i}`, 'y'.repeat(200));
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  corruptMiddle(join(state, 'state.db'));
  const r = cli(['snapshot'], { config: cfg });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /the index could not be read \(.*malformed.*\): moved it to .*state\.db\.unreadable-/);
});

test('a large index damaged where quick_check does not look at open: that run fails and says so, the next rebuilds', { skip }, (t) => {
  const { cfg, state } = fixture(t);
  assert.equal(cli(['snapshot'], { config: cfg }).code, 0);
  const file = join(state, 'state.db');
  const db = new Database(file);
  const ev = db.prepare("INSERT INTO events (at, kind, subject, details) VALUES (?, 'test', ?, ?)");
  db.transaction(() => {
    for (let i = 0; i < 20000; i++) ev.run(i, `s${i}`, 'z'.repeat(250));
  })();
  db.pragma('wal_checkpoint(TRUNCATE)');
  const root = (db.prepare("SELECT rootpage FROM sqlite_master WHERE name = 'subvolumes'").get() as { rootpage: number }).rootpage;
  db.close();
  assert.ok(statSync(file).size > 4 * 1024 * 1024, 'past the size quick_check runs at every open');
  const fd = openSync(file, 'r+');
  writeSync(fd, Buffer.alloc(4096, 0x5a), 0, 4096, (root - 1) * 4096);
  closeSync(fd);

  // The first mutating run reads the damaged table while reconciling.
  const first = cli(['prune', '--yes'], { config: cfg });
  assert.equal(first.code, 1, first.stderr);
  assert.match(first.stderr, /malformed/);
  assert.match(first.stderr, /the next run moves it aside and rebuilds it/);
  const next = cli(['prune', '--yes'], { config: cfg });
  assert.equal(next.code, 0, next.stderr);
  assert.equal(cli(['--json', 'list'], { config: cfg }).json().entries.length, 3, 'rebuilt from the filesystem');
  assert.ok(readdirSync(state).some((f) => /^state\.db\.unreadable-\d+-\d+$/.test(f)));
  assert.ok(!existsSync(`${file}.suspect`));
});

test('a journal row that does not parse stays open, is reported by status, and stops nothing', { skip }, (t) => {
  const { cfg, state } = fixture(t);
  assert.equal(cli(['snapshot'], { config: cfg }).code, 0);
  const db = new Database(join(state, 'state.db'));
  const ins = db.prepare("INSERT INTO journal (op, plan, state, started_at) VALUES (?, ?, 'open', ?)");
  const bad = [Number(ins.run('prune', '{"condemned": [', Date.now()).lastInsertRowid), Number(ins.run('wipe', '42', Date.now()).lastInsertRowid)];
  db.close();

  for (const args of [['snapshot'], ['prune', '--yes'], ['snapshot', '--prune']]) {
    const r = cli(args, { config: cfg });
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  }
  const status = cli(['--json', 'status'], { config: cfg });
  assert.equal(status.code, 0, status.stderr);
  assert.deepEqual(status.json().unreadableJournal.map((e: { id: number }) => e.id), bad);
  assert.match(cli(['status'], { config: cfg }).stdout, /2 unreadable entries/);
  const check = new Database(join(state, 'state.db'), { readonly: true });
  const rows = check.prepare('SELECT id, state, plan FROM journal WHERE id IN (?, ?) ORDER BY id').all(...bad) as { state: string; plan: string }[];
  check.close();
  assert.deepEqual(rows.map((r) => [r.state, r.plan]), [['open', '{"condemned": ['], ['open', '42']], 'kept as they were');
});

test('Journal: open() skips rows that do not parse; unreadable() lists them; last() gives null for one', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pantheragent-journal-'));
  try {
    const db = openDb(dir);
    const j = new Journal(db);
    const good = j.begin('prune', { condemned: [] });
    db.prepare("INSERT INTO journal (op, plan, state, progress, started_at) VALUES ('prune', '{}', 'open', 'not json', 1)").run();
    assert.deepEqual(j.open().map((e) => e.id), [good]);
    assert.deepEqual(j.unreadable().map((e) => [e.op, e.startedAt]), [['prune', 1]]);
    assert.match(j.unreadable()[0]!.error, /JSON/);
    assert.equal(j.last('prune'), null);
    db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('migrate is idempotent and takes the write lock: a second connection finds the work done', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pantheragent-migrate-'));
  try {
    const a = new Database(join(dir, 'x.db'));
    const b = new Database(join(dir, 'x.db'));
    b.pragma('busy_timeout = 5000');
    migrate(a);
    migrate(b);
    assert.equal(b.pragma('user_version', { simple: true }), a.pragma('user_version', { simple: true }));
    a.close();
    b.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('8 concurrent first runs: all succeed, none says "already exists" or "locked"', { skip }, async (t) => {
  const { cfg, state } = fixture(t);
  assert.ok(!existsSync(join(state, 'state.db')));
  mkdirSync(state, { recursive: true });
  const runs = await Promise.all([
    ...Array.from({ length: 6 }, () => cliAsync(['--json', 'status'], { config: cfg })),
    cliAsync(['--json', 'list'], { config: cfg }),
    cliAsync(['snapshot', '--wait', '60'], { config: cfg }),
  ]);
  for (const r of runs) {
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /already exists|database is locked|SQLITE_BUSY/);
  }
});
