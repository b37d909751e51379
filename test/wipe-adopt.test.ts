// After boot: the first mutating run adopts what the initrd wipe did (archived root
// read-only and indexed, record in the history once, identity file in the live
// root), idempotently; `status` shows the last wipe and fails loudly when it failed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { makeBtrfs, type BtrfsFixture } from './helpers/btrfs.js';
import { cli, writeConfig } from './helpers/cli.js';
import { BTRFS_REQ, skipUnless } from './helpers/env.js';
import { EPOCH, STAMP, runScriptWipe, setupHost, tree, type Scenario } from './helpers/wipe.js';

const skip = skipUnless({ ...BTRFS_REQ, commands: [...BTRFS_REQ.commands, 'dash'] });
const ARCHIVED = `@old_roots/@root.${STAMP}`;
const plain: Scenario = { name: 'plain', setup: () => {} };

function events(fx: BtrfsFixture, kind: string): { subject: string; details: string }[] {
  const db = new Database(join(fx.dir, 'state/state.db'), { readonly: true });
  try {
    return db.prepare('SELECT subject, details FROM events WHERE kind = ? ORDER BY id').all(kind) as { subject: string; details: string }[];
  } finally {
    db.close();
  }
}

const roFlag = (fx: BtrfsFixture, rel: string) => fx.btrfs('property', 'get', '-ts', join(fx.top, rel), 'ro').trim();

test('after an initrd wipe: status shows it; the first mutating run makes the archive read-only and indexes it, once', { skip }, () => {
  const fx = makeBtrfs({ sizeMiB: 256 });
  try {
    setupHost(fx);
    assert.equal(runScriptWipe(fx, plain, 'dash').code, 0);
    const cfg = writeConfig(fx);
    assert.equal(roFlag(fx, ARCHIVED), 'ro=false', 'the initrd only renames');

    const st = cli(['--json', 'status'], { config: cfg });
    assert.equal(st.code, 0, st.stderr);
    const w = st.json().wipe;
    assert.deepEqual(
      { status: w.status, ok: w.ok, time: w.time, archived: w.archived, source: w.source, from: w.from, executor: w.executor, error: w.error },
      { status: 'ok', ok: true, time: '2026-11-25T22:00:00Z', archived: ARCHIVED, source: 'blank', from: '@root-blank', executor: 'initrd', error: null },
    );
    assert.match(w.record, /^v=1 /);
    assert.match(cli(['status'], { config: cfg }).stdout, new RegExp(`^root .*wiped .+ ago \\(2026-11-25T22:00:00Z\\), archived ${ARCHIVED.replace(/[.+]/g, '\\$&')}`, 'm'));

    for (let i = 0; i < 2; i++) assert.equal(cli(['snapshot', '@persist'], { config: cfg }).code, 0);
    assert.equal(roFlag(fx, ARCHIVED), 'ro=true', 'adopted: read-only');
    const roots = cli(['--json', 'list', '--roots'], { config: cfg }).json();
    assert.deepEqual(
      roots.entries.map((e: { path: string; readonly: boolean; source: string }) => [e.path, e.readonly, e.source]),
      [[ARCHIVED, true, '@root']],
    );
    assert.equal(events(fx, 'adopted').length, 1, 'made read-only once');
    const wipes = events(fx, 'wipe');
    assert.equal(wipes.length, 1, 'the record goes into the history once');
    assert.equal(JSON.parse(wipes[0]!.details).archived, ARCHIVED);
  } finally {
    fx.cleanup();
  }
});

test('the live root gets an identity file: boot id, time, configuration revision; one entry per boot; archived with the root', { skip }, () => {
  const fx = makeBtrfs({ sizeMiB: 256 });
  try {
    setupHost(fx);
    assert.equal(runScriptWipe(fx, plain, 'dash').code, 0);
    const sys = join(fx.dir, 'system');
    mkdirSync(join(sys, 'proc/sys/kernel/random'), { recursive: true });
    mkdirSync(join(sys, 'run/current-system'), { recursive: true });
    writeFileSync(join(sys, 'proc/sys/kernel/random/boot_id'), 'aaaaaaaa-1111-2222-3333-444444444444\n');
    writeFileSync(join(sys, 'run/current-system/configuration-revision'), '0123abcd\n');
    const cfg = writeConfig(fx, { systemRoot: sys });

    // Not mounted: not this boot's root, so no identity is written.
    assert.equal(cli(['snapshot', '@persist'], { config: cfg }).code, 0);
    assert.equal(tree(fx).some((e) => e.path === '@root/.pantheragent-boot.json'), false);

    // Mounted, as / is after boot.
    const sysroot = join(fx.dir, 'sysroot');
    mkdirSync(sysroot);
    assert.equal(spawnSync('mount', ['-t', 'btrfs', '-o', 'subvol=@root', fx.device, sysroot]).status, 0);
    for (let i = 0; i < 2; i++) assert.equal(cli(['snapshot', '@persist'], { config: cfg }).code, 0);
    const identity = () => JSON.parse(readFileSync(join(fx.top, '@root/.pantheragent-boot.json'), 'utf8'));
    let id = identity();
    assert.equal(id.version, 1);
    assert.equal(id.boots.length, 1, 'idempotent within a boot');
    assert.deepEqual(
      { bootId: id.boots[0].bootId, rev: id.boots[0].configurationRevision, wipe: id.boots[0].wipe },
      { bootId: 'aaaaaaaa-1111-2222-3333-444444444444', rev: '0123abcd', wipe: { time: '2026-11-25T22:00:00Z', outcome: 'ok', archived: ARCHIVED, from: '@root-blank' } },
    );
    assert.match(id.boots[0].time, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);

    // Another boot on the same root (say the wipe failed): a second entry.
    writeFileSync(join(sys, 'proc/sys/kernel/random/boot_id'), 'bbbbbbbb-1111-2222-3333-444444444444\n');
    assert.equal(cli(['snapshot', '@persist'], { config: cfg }).code, 0);
    id = identity();
    assert.deepEqual(id.boots.map((b: { bootId: string }) => b.bootId.slice(0, 8)), ['aaaaaaaa', 'bbbbbbbb']);

    // The next wipe archives the root with its identity.
    assert.equal(spawnSync('umount', [sysroot]).status, 0);
    const env = { PANTHERAGENT_WIPE_EPOCH: String(EPOCH + 3600) };
    assert.equal(cli(['wipe', '--yes'], { config: cfg, env }).code, 0);
    const archived = JSON.parse(readFileSync(join(fx.top, '@old_roots/@root.20261125T230000+0000/.pantheragent-boot.json'), 'utf8'));
    assert.equal(archived.boots.length, 2);
  } finally {
    fx.cleanup();
  }
});

test('a failed wipe: status fails loudly (text and a non-ok field), the failure goes into the history', { skip }, () => {
  const fx = makeBtrfs({ sizeMiB: 256 });
  try {
    setupHost(fx);
    assert.equal(runScriptWipe(fx, { ...plain, failBtrfs: 'subvolume snapshot' }, 'dash').code, 0);
    const cfg = writeConfig(fx);
    const doc = cli(['--json', 'status'], { config: cfg }).json();
    assert.deepEqual(
      { status: doc.wipe.status, ok: doc.wipe.ok, error: doc.wipe.error, archived: doc.wipe.archived },
      { status: 'failed', ok: false, error: 'could not snapshot the source as the new @root', archived: null },
    );
    assert.match(cli(['status'], { config: cfg }).stdout, /LAST WIPE FAILED .*could not snapshot the source as the new @root; the root was not wiped/);
    const r = cli(['snapshot', '@persist'], { config: cfg, env: { PANTHERAGENT_LOG_LEVEL: 'error' } });
    assert.equal(r.code, 0);
    assert.match(r.stderr, /the last root wipe failed/);
    assert.equal(JSON.parse(events(fx, 'wipe')[0]!.details).outcome, 'failed');
  } finally {
    fx.cleanup();
  }
});

test('an unreadable record and no record at all', { skip }, () => {
  const fx = makeBtrfs({ sizeMiB: 256 });
  try {
    setupHost(fx);
    const cfg = writeConfig(fx);
    assert.deepEqual(
      (({ status, ok }) => ({ status, ok }))(cli(['--json', 'status'], { config: cfg }).json().wipe),
      { status: 'never', ok: true },
    );
    mkdirSync(join(fx.top, '.pantheragent'), { recursive: true });
    writeFileSync(join(fx.top, '.pantheragent/wipe-result'), 'garbage\n');
    const w = cli(['--json', 'status'], { config: cfg }).json().wipe;
    assert.deepEqual({ status: w.status, ok: w.ok }, { status: 'unreadable', ok: false });
    assert.match(w.error, /is not key=value/);
    assert.equal(cli(['snapshot', '@persist'], { config: cfg }).code, 0, 'adoption never breaks the command');
  } finally {
    fx.cleanup();
  }
});
