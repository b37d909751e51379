// `restore` on real Btrfs: a directory into place (extra files removed, after a safety
// snapshot that still has them), a file with an xattr and an ACL, --persist with the
// declaration to add, a snapshot of @persist, --to DIR; and every escape from the
// snapshot refused (.., absolute links, links that climb out).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeBtrfs, type BtrfsFixture } from './helpers/btrfs.js';
import { cli, writeConfig } from './helpers/cli.js';
import { BTRFS_REQ, skipUnless } from './helpers/env.js';
import { setupHost } from './helpers/wipe.js';

const skip = skipUnless({ ...BTRFS_REQ, commands: [...BTRFS_REQ.commands, 'setfattr', 'getfattr', 'setfacl', 'getfacl', 'cp'] });

export const ARCHIVED = '@root.20261125T220000+0000';
const NM = 'etc/NetworkManager/system-connections';

/** A host whose previous boot (an archived root) had Wi-Fi connections, a file with an xattr and an ACL, and links of every kind. */
export function previousBootHost(fx: BtrfsFixture): string {
  setupHost(fx);
  const p = fx.subvol(`@old_roots/${ARCHIVED}`);
  chmodSync(p, 0o755);
  mkdirSync(join(p, NM), { recursive: true });
  writeFileSync(join(p, NM, 'home.nmconnection'), 'psk=home-secret\n', { mode: 0o600 });
  writeFileSync(join(p, NM, 'work.nmconnection'), 'psk=work-secret\n', { mode: 0o600 });
  chmodSync(join(p, 'etc/NetworkManager'), 0o700);
  writeFileSync(join(p, 'etc/app.conf'), 'setting=1\n', { mode: 0o640 });
  utimesSync(join(p, 'etc/app.conf'), new Date('2026-11-01T10:00:00Z'), new Date('2026-11-01T10:00:00Z'));
  assert.equal(spawnSync('setfattr', ['-n', 'user.origin', '-v', 'previous-boot', join(p, 'etc/app.conf')]).status, 0);
  assert.equal(spawnSync('setfacl', ['-m', 'u:1234:r--', join(p, 'etc/app.conf')]).status, 0);
  symlinkSync('/etc', join(p, 'etc/absolute'));
  symlinkSync('../../..', join(p, 'etc/climb'));
  symlinkSync('NetworkManager', join(p, 'etc/nm'));
  symlinkSync('/run/resolvconf/resolv.conf', join(p, 'etc/resolv.conf'));
  fx.btrfs('property', 'set', '-ts', p, 'ro', 'true');
  return writeConfig(fx, { systemRoot: join(fx.top, '@root'), persistence: { storage: join(fx.top, '@persist') } });
}

const read = (fx: BtrfsFixture, rel: string) => readFileSync(join(fx.top, rel), 'utf8');

function restore(cfg: string, args: string[]) {
  const r = cli(['--json', 'restore', ...args, '--yes'], { config: cfg });
  assert.equal(r.code, 0, `restore ${args.join(' ')}: ${r.stderr}`);
  const doc = r.json();
  assert.equal(doc.result.outcome, 'ok');
  return doc;
}

test('a directory into place: exactly the snapshot\'s content, extras removed after a safety snapshot that keeps them', { skip }, () => {
  const fx = makeBtrfs({ sizeMiB: 256 });
  try {
    const cfg = previousBootHost(fx);
    mkdirSync(join(fx.top, '@root', NM), { recursive: true });
    writeFileSync(join(fx.top, '@root', NM, 'home.nmconnection'), 'psk=typed-again-wrong\n');
    writeFileSync(join(fx.top, '@root', NM, 'stale.nmconnection'), 'stale\n');

    const dry = cli(['--json', 'restore', `/${NM}`, '--from', 'previous-boot', '--dry-run'], { config: cfg });
    assert.equal(dry.code, 0, dry.stderr);
    const item = dry.json().plan.items[0];
    assert.deepEqual([item.source, item.replaces, item.holder, item.removes.count, item.removes.sample], [`@old_roots/${ARCHIVED}/${NM}`, 'dir', '@root', 1, ['stale.nmconnection']]);
    assert.equal(read(fx, `@root/${NM}/stale.nmconnection`), 'stale\n', 'dry run: nothing changed');
    const human = cli(['restore', `/${NM}`, '--from', 'previous-boot', '--dry-run'], { config: cfg }).stdout;
    assert.match(human, /remove what was at .*including 1 entry the snapshot does not have \(stale\.nmconnection\)/);
    const noYes = cli(['restore', `/${NM}`, '--from', 'previous-boot'], { config: cfg });
    assert.equal(noYes.code, 64);
    assert.match(noYes.stderr, /pass --yes/);

    const doc = restore(cfg, [`/${NM}`, '--from', 'previous-boot']);
    assert.deepEqual(readdirSync(join(fx.top, '@root', NM)).sort(), ['home.nmconnection', 'work.nmconnection']);
    assert.equal(read(fx, `@root/${NM}/home.nmconnection`), 'psk=home-secret\n');
    assert.equal(lstatSync(join(fx.top, '@root', NM, 'work.nmconnection')).mode & 0o777, 0o600, 'mode kept');
    assert.deepEqual(readdirSync(join(fx.top, '@root', 'etc/NetworkManager')), ['system-connections'], 'no temporary left');
    const [safety] = doc.plan.safety;
    assert.equal(safety.subvolume, '@root');
    assert.equal(read(fx, `${safety.rel}/${NM}/stale.nmconnection`), 'stale\n', 'the safety snapshot still has the removed file');
    const listed = cli(['--json', 'list'], { config: cfg }).json();
    const e = listed.entries.find((x: { path: string }) => x.path === safety.rel);
    assert.deepEqual([e.tag, e.readonly], ['pre-restore', true]);
  } finally {
    fx.cleanup();
  }
});

test('a file with an xattr and an ACL, a link restored as a link, parents made like the snapshot\'s, --to DIR', { skip }, () => {
  const fx = makeBtrfs({ sizeMiB: 256 });
  try {
    const cfg = previousBootHost(fx);
    const doc = restore(cfg, ['/etc/app.conf', '/etc/resolv.conf', `/${NM}/home.nmconnection`, '--from', 'previous-boot']);
    assert.deepEqual(doc.plan.safety, [], 'nothing existed: no safety snapshot needed');
    const f = join(fx.top, '@root/etc/app.conf');
    assert.equal(readFileSync(f, 'utf8'), 'setting=1\n');
    assert.equal(lstatSync(f).mode & 0o777, 0o640);
    assert.equal(lstatSync(f).mtime.toISOString(), '2026-11-01T10:00:00.000Z', 'timestamps kept');
    assert.match(spawnSync('getfattr', ['-n', 'user.origin', '--only-values', f], { encoding: 'utf8' }).stdout, /^previous-boot$/);
    assert.match(spawnSync('getfacl', ['-p', f], { encoding: 'utf8' }).stdout, /^user:1234:r--$/m);
    assert.equal(readlinkSync(join(fx.top, '@root/etc/resolv.conf')), '/run/resolvconf/resolv.conf');
    assert.equal(lstatSync(join(fx.top, '@root/etc/NetworkManager')).mode & 0o777, 0o700, 'a missing parent gets the snapshot directory\'s mode');

    const out = join(fx.dir, 'recovered');
    restore(cfg, ['/etc/app.conf', '--from', 'previous-boot', '--to', out]);
    assert.equal(readFileSync(join(out, 'etc/app.conf'), 'utf8'), 'setting=1\n');
    // Over an existing file outside any managed subvolume: no safety snapshot possible, refused.
    const again = cli(['restore', '/etc/app.conf', '--from', 'previous-boot', '--to', out, '--yes'], { config: cfg });
    assert.equal(again.code, 1);
    assert.match(again.stderr, /no subvolume of this Btrfs filesystem holds it|which pantheragent does not manage/);
  } finally {
    fx.cleanup();
  }
});

test('--persist copies into persistence.storage and prints the declaration; a snapshot of @persist restores into @persist', { skip }, () => {
  const fx = makeBtrfs({ sizeMiB: 256 });
  try {
    const cfg = previousBootHost(fx);
    const r = cli(['restore', `/${NM}`, '--from', 'previous-boot', '--persist', '--yes'], { config: cfg });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.includes(`environment.persistence.${JSON.stringify(join(fx.top, '@persist'))}.directories = [ "/${NM}" ];`), r.stdout);
    assert.equal(read(fx, `@persist/${NM}/work.nmconnection`), 'psk=work-secret\n');
    assert.equal(existsSync(join(fx.top, '@root', NM)), false, 'the root is left alone');
    const file = cli(['--json', 'restore', '/etc/app.conf', '--from', 'previous-boot', '--persist', '--dry-run'], { config: cfg }).json();
    assert.deepEqual(file.plan.declarations.map((d: { kind: string }) => d.kind), ['files']);

    // From a snapshot of @persist (not mounted: the path is inside the subvolume).
    writeFileSync(join(fx.top, '@persist/db'), 'good\n');
    const snap = cli(['--json', 'snapshot', '@persist'], { config: cfg }).json().created[0].name;
    writeFileSync(join(fx.top, '@persist/db'), 'corrupt\n');
    const doc = restore(cfg, ['/db', '--from', snap]);
    assert.equal(read(fx, '@persist/db'), 'good\n');
    assert.equal(doc.plan.safety[0].subvolume, '@persist');
    assert.equal(read(fx, `${doc.plan.safety[0].rel}/db`), 'corrupt\n');
    const bad = cli(['restore', '/db', '--from', snap, '--persist', '--yes'], { config: cfg });
    assert.equal(bad.code, 64);
    assert.match(bad.stderr, /already persistent/);
  } finally {
    fx.cleanup();
  }
});

test('escapes are refused: "..", an absolute link, a link that climbs out; a relative link inside is followed', { skip }, () => {
  const fx = makeBtrfs({ sizeMiB: 256 });
  try {
    const cfg = previousBootHost(fx);
    const cases: [string, RegExp][] = [
      ['/etc/../etc/app.conf', /contains "\.\.": paths are resolved inside/],
      ['/etc/absolute/passwd', /\/etc\/absolute is a symbolic link to the absolute path \/etc: .* refused/],
      ['/etc/climb/etc/shadow', /the symbolic link \/etc\/climb -> \.\.\/\.\.\/\.\. points outside .*: refused/],
      ['/etc/missing', /\/etc\/missing does not exist in @old_roots/],
      ['etc/app.conf', /PATH must be absolute/],
    ];
    for (const [path, re] of cases) {
      const r = cli(['restore', path, '--from', 'previous-boot', '--dry-run'], { config: cfg });
      assert.notEqual(r.code, 0, path);
      assert.match(r.stderr, re, path);
    }
    const inside = cli(['--json', 'restore', '/etc/nm/system-connections/home.nmconnection', '--from', 'previous-boot', '--dry-run'], { config: cfg });
    assert.equal(inside.code, 0, inside.stderr);
    assert.equal(inside.json().plan.items[0].source, `@old_roots/${ARCHIVED}/${NM}/home.nmconnection`);
    assert.equal(existsSync(join(fx.top, '@root/etc/app.conf')), false, 'nothing was written');
  } finally {
    fx.cleanup();
  }
});

test('a destination directory swapped for a link after the plan: nothing is written through the link', { skip }, () => {
  const fx = makeBtrfs({ sizeMiB: 256 });
  try {
    const cfg = previousBootHost(fx);
    mkdirSync(join(fx.top, '@persist/app'));
    writeFileSync(join(fx.top, '@persist/app/a'), 'good\n');
    const snap = cli(['--json', 'snapshot', '@persist'], { config: cfg }).json().created[0].name;
    writeFileSync(join(fx.top, '@persist/app/a'), 'bad\n');
    const killed = cli(['restore', '/app/a', '--from', snap, '--yes'], { config: cfg, env: { PANTHERAGENT_FAILPOINT: 'restore.after-safety' } });
    assert.equal(killed.code, 137, killed.stderr);
    // Between the plan and the copy, someone who can write there swaps the directory for a link.
    const victim = join(fx.dir, 'victim');
    mkdirSync(victim);
    writeFileSync(join(victim, 'a'), 'victim\n');
    spawnSync('mv', [join(fx.top, '@persist/app'), join(fx.top, '@persist/app-moved')]);
    symlinkSync(victim, join(fx.top, '@persist/app'));
    const next = cli(['snapshot', '@log'], { config: cfg });
    assert.match(next.stderr, /@persist\/app is no longer a directory \(a link\?\) since the plan was made/);
    assert.equal(next.code, 0, next.stderr);
    assert.deepEqual(readdirSync(victim), ['a'], 'nothing was written through the link');
    assert.equal(readFileSync(join(victim, 'a'), 'utf8'), 'victim\n');
    const hist = cli(['--json', 'rollback', '--list'], { config: cfg }).json();
    assert.deepEqual([hist.entries[0].op, hist.entries[0].state], ['restore', 'failed']);
  } finally {
    fx.cleanup();
  }
});
