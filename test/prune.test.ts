// prune on real Btrfs: deletes exactly what retention condemns, nothing else, and a
// prune killed at any failpoint is finished by the next run with nothing else lost.
import { test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { formatName } from '../src/btrfs/names.js';
import { makeBtrfs, layoutHost, type BtrfsFixture } from './helpers/btrfs.js';
import { cli, writeConfig } from './helpers/cli.js';
import { skipUnless, BTRFS_REQ } from './helpers/env.js';

const skip = skipUnless(BTRFS_REQ);
const HOUR = 3600_000;
let fx: BtrfsFixture;
let cfg: string;

const ls = (dir: string) => readdirSync(join(fx.top, dir)).sort();
const snapAt = (base: string, instant: number, seq = 0) => {
  const name = formatName(base, instant, seq);
  fx.btrfs('subvolume', 'snapshot', '-r', join(fx.top, '@persist'), join(fx.top, '@snapshots', name));
  return name;
};
/** Hourly snapshots of @persist over the last `hours` hours (the newest one hour ago). */
/** Snapshots made in time order (oldest first, as a timer makes them); names newest first. */
const hourly = (hours: number) => {
  const now = Math.floor(Date.now() / HOUR) * HOUR;
  return Array.from({ length: hours }, (_, i) => snapAt('@persist', now - (hours - i) * HOUR)).reverse();
};

beforeEach(() => {
  if (skip) return;
  fx = makeBtrfs({ sizeMiB: 1024 });
  layoutHost(fx);
  cfg = writeConfig(fx, {
    snapshots: {
      sources: {
        '@persist': { retention: { preserveMin: 'no', preserve: '6h 2d' } },
        '@log': { retention: { preserveMin: '1d', preserve: '7d' } },
      },
    },
    root: { retention: { preserveMin: '3d', preserve: '14d 4w' } },
  });
});
afterEach(() => fx?.cleanup());

test('dry run explains every decision and deletes nothing; prune deletes exactly the condemned', { skip }, () => {
  const names = hourly(100);
  snapAt('@other', Date.now() - 400 * HOUR); // well named, no configured source
  fx.btrfs('subvolume', 'snapshot', '-r', join(fx.top, '@persist'), join(fx.top, '@snapshots/by-hand')); // foreign
  const before = ls('@snapshots');

  const dry = cli(['--json', 'prune', '--dry-run'], { config: cfg });
  assert.equal(dry.code, 0, dry.stderr);
  const plan = dry.json();
  assert.equal(plan.dryRun, true);
  assert.deepEqual(ls('@snapshots'), before, 'dry run changed nothing');
  const persist = plan.groups.find((g: any) => g.source === '@persist');
  assert.equal(persist.decisions.length, 100, 'one decision per snapshot');
  for (const d of persist.decisions) assert.ok(d.reason.length > 0, `a reason for ${d.name}`);
  assert.ok(persist.delete > 0 && persist.keep > 0);
  const newest = names[0];
  assert.equal(persist.decisions.find((d: any) => d.name === newest).action, 'keep');
  const other = plan.groups.find((g: any) => g.source === null && g.kind === 'snapshots');
  assert.equal(other.decisions[0].action, 'keep');
  assert.ok(!plan.condemned.some((p: string) => p.includes('by-hand') || p.includes('@other')));

  const run = cli(['--json', 'prune', '--yes'], { config: cfg });
  assert.equal(run.code, 0, run.stderr);
  const done = run.json();
  const gone = before.filter((n) => !ls('@snapshots').includes(n)).map((n) => `@snapshots/${n}`);
  assert.deepEqual(gone.sort(), [...done.condemned].sort(), 'exactly the condemned are gone');
  assert.deepEqual([...done.deleted].sort(), [...done.condemned].sort());
  assert.ok(ls('@snapshots').includes('by-hand'));
  // A second prune right after the first condemns nothing.
  const again = cli(['--json', 'prune', '--dry-run'], { config: cfg }).json();
  assert.deepEqual(again.condemned, []);
});

test('pinned snapshots are kept; unpinned, retention applies again', { skip }, () => {
  const names = hourly(72);
  const oldest = names[names.length - 1]!;
  assert.equal(cli(['pin', oldest], { config: cfg }).code, 0);
  let plan = cli(['--json', 'prune', '--dry-run'], { config: cfg }).json();
  const d = () => plan.groups.flatMap((g: any) => g.decisions).find((x: any) => x.name === oldest);
  assert.equal(d().action, 'keep');
  assert.match(d().reason, /pinned/);
  const listed = cli(['--json', 'list', '@persist'], { config: cfg }).json().entries.find((e: any) => e.name === oldest);
  assert.equal(listed.pinned, true);
  assert.equal(listed.retention.action, 'keep');
  assert.equal(cli(['unpin', oldest], { config: cfg }).code, 0);
  plan = cli(['--json', 'prune', '--dry-run'], { config: cfg }).json();
  assert.equal(d().action, 'delete');
  assert.equal(cli(['pin', 'no-such-snapshot'], { config: cfg }).code, 64);
});

for (const point of ['prune.after-journal', 'prune.after-batch']) {
  test(`killed at ${point}: the next mutating run finishes the prune, nothing else lost`, { skip }, () => {
    hourly(120); // ~70 condemned: three batches of deletes
    fx.btrfs('subvolume', 'snapshot', '-r', join(fx.top, '@persist'), join(fx.top, '@snapshots/by-hand'));
    const plan = cli(['--json', 'prune', '--dry-run'], { config: cfg }).json();
    const condemned = new Set<string>(plan.condemned.map((p: string) => p.replace('@snapshots/', '')));
    const kept = ls('@snapshots').filter((n) => !condemned.has(n));
    assert.ok(condemned.size > 64, `enough to need several batches (${condemned.size})`);

    const killed = cli(['prune', '--yes'], { config: cfg, env: { PANTHERAGENT_FAILPOINT: point } });
    assert.equal(killed.code, 137, 'killed by its failpoint');
    const left = ls('@snapshots');
    for (const k of kept) assert.ok(left.includes(k), `${k} survived the kill`);
    if (point === 'prune.after-batch') assert.ok(left.length < kept.length + condemned.size, 'the first batch was deleted');

    // Another mutating command recovers the journal before doing its own work.
    const next = cli(['--json', 'snapshot', '@log'], { config: cfg });
    assert.equal(next.code, 0, next.stderr);
    const after = ls('@snapshots');
    for (const k of kept) assert.ok(after.includes(k), `${k} still kept`);
    for (const c of condemned) assert.ok(!after.includes(c), `${c} deleted by the recovery`);
    assert.ok(after.includes('by-hand'));
    // The index equals the filesystem.
    const listed = cli(['--json', 'list'], { config: cfg }).json();
    assert.deepEqual(listed.entries.map((e: any) => e.name).sort(), after.filter((n) => n !== 'by-hand'));
  });
}

test('one failed delete does not stop the others; the exit code says so', { skip }, () => {
  hourly(60);
  const condemned: string[] = cli(['--json', 'prune', '--dry-run'], { config: cfg }).json().condemned;
  const victim = condemned[0]!.replace('@snapshots/', '');
  fx.btrfs('property', 'set', '-ts', join(fx.top, '@snapshots', victim), 'ro', 'false');
  fx.subvol(`@snapshots/${victim}/nested`);
  fx.btrfs('property', 'set', '-ts', join(fx.top, '@snapshots', victim), 'ro', 'true');
  const r = cli(['--json', 'prune', '--yes'], { config: cfg });
  assert.equal(r.code, 1);
  const doc = r.json();
  assert.deepEqual(doc.failed.map((f: any) => f.path), [`@snapshots/${victim}`]);
  assert.match(doc.failed[0].error, /nested subvolumes/);
  assert.equal(doc.deleted.length, doc.condemned.length - 1);
  assert.ok(ls('@snapshots').includes(victim));
});

test('snapshot --prune: snapshot, then retention, in one run', { skip }, () => {
  hourly(60);
  const r = cli(['--json', 'snapshot', '--prune'], { config: cfg });
  assert.equal(r.code, 0, r.stderr);
  const doc = r.json();
  assert.equal(doc.created.length, 2);
  assert.ok(doc.prune.deleted.length > 0);
  assert.ok(ls('@snapshots').includes(doc.created[0].name), 'the new snapshot is kept');
});

test('archived roots are pruned under root.retention', { skip }, () => {
  const day = 24 * HOUR;
  const now = Date.now();
  // One per boot, oldest first; names newest first.
  const roots = Array.from({ length: 40 }, (_, i) => {
    const name = formatName('@root', now - (40 - i) * day);
    fx.btrfs('subvolume', 'snapshot', '-r', join(fx.top, '@root-blank'), join(fx.top, '@old_roots', name));
    return name;
  }).reverse();
  const pinned = cli(['--json', 'pin', 'previous-boot'], { config: cfg });
  assert.equal(pinned.code, 0, pinned.stderr);
  assert.equal(pinned.json().path, `@old_roots/${roots[0]}`, 'previous-boot is the newest archived root');
  const r = cli(['--json', 'prune', '--yes'], { config: cfg });
  assert.equal(r.code, 0, r.stderr);
  const doc = r.json();
  const group = doc.groups.find((g: any) => g.kind === 'roots');
  assert.equal(group.policy, 'min 3d, preserve 14d 4w');
  assert.ok(doc.deleted.length > 0 && doc.deleted.every((p: string) => p.startsWith('@old_roots/')));
  const left = ls('@old_roots');
  assert.ok(left.includes(roots[0]!) && left.includes(roots[12]!), 'the last 13 days are kept');
  assert.ok(!left.includes(roots[39]!), 'a 40-day-old root goes');
  const listed = cli(['--json', 'list', '--roots'], { config: cfg }).json();
  assert.deepEqual(listed.entries.map((e: any) => e.name).sort(), left);
});

test('the archived root a pending root rollback names is never pruned', { skip }, () => {
  const old = formatName('@root', Date.now() - 90 * 24 * HOUR);
  fx.btrfs('subvolume', 'snapshot', '-r', join(fx.top, '@root-blank'), join(fx.top, '@old_roots', old));
  fx.btrfs('subvolume', 'snapshot', '-r', join(fx.top, '@root-blank'), join(fx.top, '@old_roots', formatName('@root', Date.now() - HOUR)));
  mkdirSync(join(fx.top, '.pantheragent'), { recursive: true });
  writeFileSync(join(fx.top, '.pantheragent/rollback-root'), `${old}\n`);
  const doc = cli(['--json', 'prune', '--yes'], { config: cfg }).json();
  const d = doc.groups.find((g: any) => g.kind === 'roots').decisions.find((x: any) => x.name === old);
  assert.equal(d.action, 'keep');
  assert.match(d.reason, /pending root rollback/);
  assert.ok(ls('@old_roots').includes(old));
});

test('history: one event per snapshot made or deleted by the agent; what others did shows as appeared/vanished', { skip }, () => {
  const names = hourly(30);
  const first = cli(['--json', 'snapshot', '@persist', '--prune'], { config: cfg });
  assert.equal(first.code, 0, first.stderr);
  const events = () => {
    const db = new Database(join(fx.dir, 'state', 'state.db'), { readonly: true, fileMustExist: true });
    try {
      return db.prepare('SELECT kind, subject FROM events ORDER BY id').all() as { kind: string; subject: string }[];
    } finally {
      db.close();
    }
  };
  // The first run indexes what it found (30 appeared), then makes one and deletes some.
  const doc = first.json();
  const made = doc.created.map((c: any) => c.path);
  const deleted: string[] = doc.prune.deleted;
  assert.ok(made.length === 1 && deleted.length > 0, JSON.stringify(doc).slice(0, 300));
  const one = events();
  const of = (kind: string) => one.filter((e) => e.kind === kind).map((e) => e.subject).sort();
  assert.deepEqual(of('appeared'), names.map((n) => `@snapshots/${n}`).sort(), 'the first scan records what it found');
  assert.deepEqual(of('snapshot'), made);
  assert.deepEqual(of('deleted'), [...deleted].sort());
  assert.deepEqual(of('vanished'), [], 'the agent\'s own deletes are "deleted", not also "vanished"');
  assert.equal(one.length, names.length + made.length + deleted.length, 'nothing recorded twice');

  // Someone else adds one and deletes one: the next run records exactly those.
  const byHand = snapAt('@persist', Date.now() - 5 * 60_000);
  const kept = ls('@snapshots').find((n) => n !== byHand && !made.includes(`@snapshots/${n}`))!;
  fx.btrfs('subvolume', 'delete', join(fx.top, '@snapshots', kept));
  const list = cli(['list'], { config: cfg });
  assert.equal(list.code, 0, list.stderr);
  assert.equal(events().length, one.length, 'a read command records nothing');
  const second = cli(['prune', '--dry-run'], { config: cfg });
  assert.equal(second.code, 0, second.stderr);
  const pin = cli(['pin', `@snapshots/${byHand}`], { config: cfg });
  assert.equal(pin.code, 0, pin.stderr);
  const after = events().slice(one.length);
  assert.deepEqual(
    after.filter((e) => e.kind === 'appeared' || e.kind === 'vanished'),
    [
      { kind: 'appeared', subject: `@snapshots/${byHand}` },
      { kind: 'vanished', subject: `@snapshots/${kept}` },
    ],
  );
});
