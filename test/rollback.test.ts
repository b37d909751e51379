// `rollback` on real Btrfs: @persist back, forward, undo and undo of the undo with the
// file contents checked at each step; what it leaves (safety snapshot, aside) is the
// agent's own, read-only, tagged, kept for the grace period; a mounted subvolume
// shows the new content after a remount; a root rollback is consumed by the rendered
// initrd script under dash and the next "boot" has the archived root's content.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeBtrfs, layoutHost, type BtrfsFixture } from './helpers/btrfs.js';
import { cli, cliAsync, writeConfig } from './helpers/cli.js';
import { BTRFS_REQ, skipUnless } from './helpers/env.js';
import { makeArchivedRoot, runScriptWipe, setupHost } from './helpers/wipe.js';

const skip = skipUnless({ ...BTRFS_REQ, commands: [...BTRFS_REQ.commands, 'dash'] });

const read = (fx: BtrfsFixture, rel: string) => readFileSync(join(fx.top, rel), 'utf8');
const ro = (fx: BtrfsFixture, rel: string) => fx.btrfs('property', 'get', '-ts', join(fx.top, rel), 'ro').trim() === 'ro=true';

function snapshot(fx: BtrfsFixture, cfg: string): string {
  const r = cli(['--json', 'snapshot', '@persist'], { config: cfg });
  assert.equal(r.code, 0, r.stderr);
  return r.json().created[0].name as string;
}

function rollback(cfg: string, args: string[]) {
  const r = cli(['--json', 'rollback', ...args, '--yes'], { config: cfg });
  assert.equal(r.code, 0, `rollback ${args.join(' ')}: ${r.stderr}`);
  const doc = r.json();
  assert.equal(doc.result.outcome, 'ok');
  return doc;
}

test('@persist back, forward, undo, undo of the undo: contents at every step; what is left is ours', { skip }, () => {
  const fx = makeBtrfs({ sizeMiB: 256 });
  try {
    layoutHost(fx);
    // preserve 1d: without the grace, retention would condemn all but one snapshot of today.
    const cfg = writeConfig(fx, { snapshots: { sources: { '@persist': { retention: { preserveMin: 'no', preserve: '1d' } } } } });
    writeFileSync(join(fx.top, '@persist/db'), 'v1\n');
    const s1 = snapshot(fx, cfg);
    writeFileSync(join(fx.top, '@persist/db'), 'v2\n');
    const s2 = snapshot(fx, cfg);
    writeFileSync(join(fx.top, '@persist/db'), 'v3 (corrupt)\n');

    // Dry run: the plan, nothing written.
    const dry = cli(['--json', 'rollback', '@persist', '--to', s1, '--dry-run'], { config: cfg });
    assert.equal(dry.code, 0, dry.stderr);
    const dp = dry.json();
    assert.equal(dp.result, null);
    assert.deepEqual(dp.plan.steps.map((s: { kind: string }) => s.kind), ['safety-snapshot', 'rename-aside', 'create-live', 'seal-aside']);
    assert.equal(dp.plan.effect, 'now');
    assert.equal(read(fx, '@persist/db'), 'v3 (corrupt)\n');
    // No terminal, no --yes: refused with the hint.
    const noYes = cli(['rollback', '@persist', '--to', s1], { config: cfg });
    assert.equal(noYes.code, 64);
    assert.match(noYes.stderr, /pass --yes/);
    assert.equal(read(fx, '@persist/db'), 'v3 (corrupt)\n');

    // Back.
    const back = rollback(cfg, ['@persist', '--to', s1]);
    assert.equal(read(fx, '@persist/db'), 'v1\n');
    const { safety, aside } = back.plan;
    assert.equal(read(fx, `${safety}/db`), 'v3 (corrupt)\n', 'the safety snapshot holds what was live');
    assert.equal(read(fx, `${aside}/db`), 'v3 (corrupt)\n', 'the live subvolume went aside');
    assert.ok(ro(fx, safety) && ro(fx, aside), 'both read-only');
    assert.equal(back.plan.live.subvolumeId, Number(fx.btrfs('inspect-internal', 'rootid', join(fx.top, aside)).trim()), 'the aside is the old live subvolume itself');
    assert.equal(ro(fx, '@persist'), false, 'the new @persist is writable');
    writeFileSync(join(fx.top, '@persist/db'), 'v1 edited\n');

    // Forward.
    rollback(cfg, ['@persist', '--to', s2]);
    assert.equal(read(fx, '@persist/db'), 'v2\n');
    // Undo: what that rollback replaced.
    const undo = rollback(cfg, ['--undo']);
    assert.equal(undo.undo, true);
    assert.equal(read(fx, '@persist/db'), 'v1 edited\n');
    // Undo of the undo.
    rollback(cfg, ['--undo']);
    assert.equal(read(fx, '@persist/db'), 'v2\n');

    // Everything it left is listed as the agent's, tagged, read-only, kept by the grace.
    const list = cli(['--json', 'list', '@persist'], { config: cfg }).json();
    const tags = list.entries.map((e: { tag: string | null }) => e.tag);
    assert.equal(tags.filter((t: string | null) => t === 'pre-rollback').length, 4);
    assert.equal(tags.filter((t: string | null) => t === 'rolled-back').length, 4);
    assert.ok(list.entries.every((e: { readonly: boolean }) => e.readonly));
    assert.deepEqual(cli(['--json', 'list'], { config: cfg }).json().foreign, [], 'never foreign');
    const prune = cli(['--json', 'prune', '--dry-run'], { config: cfg }).json();
    const decisions = prune.groups.find((g: { source: string }) => g.source === '@persist').decisions;
    for (const d of decisions.filter((x: { name: string }) => x.name !== s1 && x.name !== s2)) {
      assert.equal(d.action, 'keep', `${d.name} kept`);
    }
    assert.ok(decisions.some((d: { reason: string }) => /pre-rollback: kept until .* \(rollback\.graceDays 7\)/.test(d.reason)));
    // graceDays 0: handed to retention at once.
    const cfg0 = writeConfig(fx, { rollback: { graceDays: 0 }, snapshots: { sources: { '@persist': { retention: { preserveMin: 'no', preserve: '1d' } } } } });
    assert.ok(cli(['--json', 'prune', '--dry-run'], { config: cfg0 }).json().condemned.length > 0);
    writeConfig(fx, { snapshots: { sources: { '@persist': { retention: { preserveMin: 'no', preserve: '1d' } } } } });

    // History, newest first.
    const hist = cli(['--json', 'rollback', '--list'], { config: cfg });
    assert.equal(hist.code, 0, hist.stderr);
    const h = hist.json();
    assert.deepEqual(h.entries.map((e: { op: string; state: string }) => `${e.op}:${e.state}`), ['rollback-undo:done', 'rollback-undo:done', 'rollback:done', 'rollback:done']);
    assert.equal(h.entries[1].undoes, h.entries[2].id, 'the first undo undoes the forward rollback');
    assert.equal(h.entries[0].undoes, h.entries[1].id, 'the second undoes the first');
    assert.equal(h.pendingRoot, null);
  } finally {
    fx.cleanup();
  }
});

test('a mounted subvolume: the plan names the mount; the new content shows after a remount; the aside is sealed once unmounted', { skip }, () => {
  const fx = makeBtrfs({ sizeMiB: 256 });
  const mnt = join(fx.dir, 'persist');
  try {
    layoutHost(fx);
    const cfg = writeConfig(fx);
    writeFileSync(join(fx.top, '@persist/db'), 'good\n');
    const s1 = snapshot(fx, cfg);
    writeFileSync(join(fx.top, '@persist/db'), 'bad\n');
    mkdirSync(mnt);
    assert.equal(spawnSync('mount', ['-t', 'btrfs', '-o', 'subvol=@persist', fx.device, mnt]).status, 0);

    const human = cli(['rollback', '@persist', '--to', s1, '--dry-run'], { config: cfg });
    assert.match(human.stdout, /@persist is mounted: the change takes effect at the next mount or boot/);
    assert.ok(human.stdout.includes(`${mnt} (`), 'names the mount point');
    const doc = rollback(cfg, ['@persist', '--to', s1]);
    assert.equal(doc.plan.effect, 'next-mount');
    assert.deepEqual(doc.plan.mounted.map((m: { mountPoint: string }) => m.mountPoint), [mnt]);
    assert.equal(doc.result.sealed, false, 'still mounted read-write: not made read-only under the running system');
    assert.equal(readFileSync(join(mnt, 'db'), 'utf8'), 'bad\n', 'the mount shows the old subvolume until remounted');
    writeFileSync(join(mnt, 'late-write'), 'written after the rollback\n');
    assert.equal(read(fx, '@persist/db'), 'good\n');
    const list = cli(['--json', 'list'], { config: cfg }).json();
    const f = list.foreign.find((x: { path: string }) => x.path === doc.plan.aside);
    assert.match(f.why, /still mounted: becomes read-only and the agent's once unmounted/);

    assert.equal(spawnSync('umount', [mnt]).status, 0);
    assert.equal(spawnSync('mount', ['-t', 'btrfs', '-o', 'subvol=@persist', fx.device, mnt]).status, 0);
    assert.equal(readFileSync(join(mnt, 'db'), 'utf8'), 'good\n', 'after the remount: the rolled-back content');
    assert.equal(read(fx, `${doc.plan.aside}/late-write`), 'written after the rollback\n', 'what was written meanwhile is kept in the aside');
    assert.equal(spawnSync('umount', [mnt]).status, 0);

    // The next rollback run seals the aside first (nothing mounts it now), then undoes.
    rollback(cfg, ['--undo']);
    assert.ok(ro(fx, doc.plan.aside), 'sealed');
    assert.equal(read(fx, '@persist/db'), 'bad\n');
    assert.deepEqual(cli(['--json', 'list'], { config: cfg }).json().foreign, []);
  } finally {
    spawnSync('umount', [mnt]);
    fx.cleanup();
  }
});

test('root rollback: status and list --roots show it, --cancel takes it back, prune keeps it, the initrd script (dash) boots from it once', { skip }, () => {
  const fx = makeBtrfs({ sizeMiB: 256 });
  try {
    setupHost(fx);
    const old = '@root.20261101T000000+0000';
    makeArchivedRoot(fx, old, 'archived-1\n');
    makeArchivedRoot(fx, '@root.20261120T000000+0000', 'archived-2\n');
    const cfg = writeConfig(fx, { root: { retention: { preserveMin: 'no', preserve: '1d' } } });

    const dry = cli(['rollback', 'root', '--to', old, '--dry-run'], { config: cfg });
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /the next boot starts once from @old_roots\/@root\.20261101T000000\+0000/);
    assert.equal(existsSync(join(fx.top, '.pantheragent/rollback-root')), false);

    rollback(cfg, ['root', '--to', old]);
    assert.equal(read(fx, '.pantheragent/rollback-root'), `${old}\n`);
    const st = cli(['--json', 'status'], { config: cfg }).json();
    assert.deepEqual(st.rootRollback, { marker: old, path: `@old_roots/${old}`, valid: true, why: null });
    assert.match(cli(['status'], { config: cfg }).stdout, /next boot starts from @old_roots\/@root\.20261101T000000\+0000/);
    const roots = cli(['--json', 'list', '--roots'], { config: cfg }).json();
    assert.equal(roots.pendingRootRollback.path, `@old_roots/${old}`);
    assert.match(cli(['list', '--roots'], { config: cfg }).stdout, /20261101T000000\+0000 .*pending rollback: the next boot starts from it/);
    const prune = cli(['--json', 'prune', '--dry-run'], { config: cfg }).json();
    const d = prune.groups.find((g: { kind: string; source: string }) => g.kind === 'roots' && g.source === '@root').decisions.find((x: { name: string }) => x.name === old);
    assert.deepEqual([d.action, d.reason], ['keep', 'pending root rollback: the next boot starts from it']);

    // Cancel, then --undo of a new one (a pending root rollback is what --undo takes back).
    rollback(cfg, ['root', '--cancel']);
    assert.equal(existsSync(join(fx.top, '.pantheragent/rollback-root')), false);
    assert.equal(cli(['--json', 'status'], { config: cfg }).json().rootRollback, null);
    rollback(cfg, ['root', '--to', 'previous-boot']);
    assert.equal(read(fx, '.pantheragent/rollback-root'), '@root.20261120T000000+0000\n');
    const undo = rollback(cfg, ['--undo']);
    assert.equal(undo.plan.action, 'cancel');
    assert.equal(existsSync(join(fx.top, '.pantheragent/rollback-root')), false);
    assert.equal(cli(['--json', 'rollback', 'root', '--cancel', '--yes'], { config: cfg }).code, 1, 'nothing pending to cancel');

    // The boot: the rendered initrd script under dash consumes the marker.
    rollback(cfg, ['root', '--to', old]);
    const boot = runScriptWipe(fx, { name: 'boot', setup: () => {} }, 'dash');
    assert.equal(boot.code, 0, boot.stderr);
    assert.equal(read(fx, '@root/which-root'), 'archived-1\n', 'the next boot has the archived root\'s content');
    assert.equal(ro(fx, '@root'), false);
    assert.equal(existsSync(join(fx.top, '.pantheragent/rollback-root')), false, 'consumed');
    assert.equal(read(fx, '.pantheragent/rollback-root.used'), `${old}\n`);
    assert.equal(cli(['--json', 'status'], { config: cfg }).json().rootRollback, null);
    const hist = cli(['--json', 'rollback', '--list'], { config: cfg }).json();
    assert.deepEqual(hist.entries.map((e: { op: string; target: string }) => e.target), [
      `@old_roots/${old}`,
      'cancel (was @root.20261120T000000+0000)',
      '@old_roots/@root.20261120T000000+0000',
      `cancel (was ${old})`,
      `@old_roots/${old}`,
    ]);
  } finally {
    fx.cleanup();
  }
});

test('refusals: unknown source, unknown snapshot, a snapshot of another source, conflicting options', { skip }, async () => {
  const fx = makeBtrfs({ sizeMiB: 256 });
  try {
    layoutHost(fx);
    const cfg = writeConfig(fx);
    const r = cli(['--json', 'snapshot'], { config: cfg });
    assert.equal(r.code, 0, r.stderr);
    const home = r.json().created.find((c: { source: string }) => c.source === '@home').name;
    const cases: [string[], RegExp][] = [
      [['rollback', '@nix', '--to', 'latest'], /"@nix" is not a configured snapshot source/],
      [['rollback', '@persist', '--to', 'nope'], /no snapshot of @persist is named "nope"/],
      [['rollback', '@persist', '--to', home], /no snapshot of @persist is named/],
      [['rollback', '@persist'], /needs --to SNAPSHOT/],
      [['rollback', '--undo'], /there is no rollback to undo/],
      [['rollback', '--undo', '--list'], /rollback takes one of/],
      [['rollback', '@persist', '--cancel'], /--cancel takes back a pending root rollback/],
      [['rollback', 'root'], /needs --to ARCHIVED_ROOT/],
      [['rollback', 'root', '--to', 'previous-boot'], /there are none yet/],
    ];
    const results = await Promise.all(cases.map(([args]) => cliAsync([...args, '--yes'], { config: cfg })));
    cases.forEach(([args, re], i) => {
      assert.equal(results[i]!.code, 64, `${args.join(' ')}: ${results[i]!.stderr}`);
      assert.match(results[i]!.stderr, re, args.join(' '));
    });
  } finally {
    fx.cleanup();
  }
});
