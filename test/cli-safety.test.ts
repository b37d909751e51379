// The command line refuses what it cannot mean: extra arguments, unknown log levels,
// bad tags (64, before anything is opened); destructive commands ask on a terminal
// and refuse without one, --json or not; selectors name snapshots for pin.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { formatName } from '../src/btrfs/names.js';
import { makeBtrfs, layoutHost, type BtrfsFixture } from './helpers/btrfs.js';
import { cli, CLI, writeConfig } from './helpers/cli.js';
import { skipUnless, hasCommand, BTRFS_REQ } from './helpers/env.js';

const built = existsSync(CLI) ? false : 'dist/ not built (npm run build)';
const skip = skipUnless(BTRFS_REQ) || built;
const HOUR = 3600_000;

test('extra positional arguments are usage errors (64) for every command', { skip: built }, () => {
  const cases: string[][] = [
    ['status', 'extra'],
    ['wipe', '@root'],
    ['prune', 'now'],
    ['pin', 'a', 'b'],
    ['unpin', 'a', 'b'],
    ['list', '@persist', '@home'],
    ['check-config', 'a.json', 'b.json'],
    ['completions', 'fish', 'bash'],
    ['render-initrd', 'x'],
    ['diff', 'x'],
  ];
  for (const args of cases) {
    const r = cli(args, { config: '/nonexistent/config.json' });
    assert.equal(r.code, 64, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /unexpected argument/, args.join(' '));
    assert.ok(r.stderr.includes(JSON.stringify(args[args.length - 1])), `names the extra argument: ${r.stderr}`);
  }
});

test('an unknown log level is a usage error (64), from the flag or the environment', { skip: built }, () => {
  const flag = cli(['--log-level', 'loud', 'status'], { config: '/nonexistent.json' });
  assert.equal(flag.code, 64);
  assert.match(flag.stderr, /--log-level "loud" is not a log level: use one of trace, debug/);
  const env = cli(['status'], { config: '/nonexistent.json', env: { PANTHERAGENT_LOG_LEVEL: 'chatty' } });
  assert.equal(env.code, 64);
  assert.match(env.stderr, /PANTHERAGENT_LOG_LEVEL "chatty"/);
});

test('--tag must be one printable line of at most 64 characters without "/"', { skip: built }, () => {
  for (const [tag, why] of [
    ['', /must not be empty/],
    ['x'.repeat(65), /at most 64/],
    ['a/b', /"\/"/],
    ['bell\x07', /printable/],
    ['two\nlines', /printable/],
    [' padded', /start or end with a space/],
  ] as const) {
    const r = cli(['snapshot', '--tag', tag], { config: '/nonexistent.json' });
    assert.equal(r.code, 64, `${JSON.stringify(tag)}: ${r.stderr}`);
    assert.match(r.stderr, why);
  }
});

let fx: BtrfsFixture;
let cfg: string;
const ls = (dir: string) => readdirSync(join(fx.top, dir)).sort();
const snapAt = (source: string, instant: number) => {
  const name = formatName(source, instant);
  fx.btrfs('subvolume', 'snapshot', '-r', join(fx.top, source), join(fx.top, '@snapshots', name));
  return name;
};

before(() => {
  if (skip) return;
  fx = makeBtrfs();
  layoutHost(fx);
  cfg = writeConfig(fx);
});
after(() => fx?.cleanup());

test('prune and wipe without --yes and without a terminal refuse (64), with --json too; nothing changes', { skip }, () => {
  const old = [snapAt('@log', Date.now() - 40 * 24 * HOUR), snapAt('@log', Date.now() - 30 * 24 * HOUR), snapAt('@log', Date.now() - 20 * 24 * HOUR)];
  const before = ls('@snapshots');
  assert.ok(cli(['--json', 'prune', '--dry-run'], { config: cfg }).json().condemned.length > 0, 'there is something to prune');
  for (const args of [['prune'], ['--json', 'prune'], ['wipe'], ['--json', 'wipe']]) {
    const r = cli(args, { config: cfg });
    assert.equal(r.code, 64, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /no terminal to confirm on, so pass --yes/);
    if (args[0] === '--json') assert.equal(r.json().error.exitCode, 64, 'one JSON document even when refusing');
  }
  assert.deepEqual(ls('@snapshots'), before);
  assert.ok(ls('@old_roots').length === 0, 'no wipe happened');
  for (const n of old) assert.ok(before.includes(n));
});

test('on a terminal, --json still asks: answering no deletes nothing', { skip: skip || (hasCommand('script') ? false : 'needs script(1) for a pseudo-terminal') }, () => {
  const before = ls('@snapshots');
  const cmd = [process.execPath, CLI, '--config', cfg, '--json', 'prune'].map((a) => `'${a}'`).join(' ');
  const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { input: 'n\n', encoding: 'utf8', env: { ...process.env, PANTHERAGENT_LOG_LEVEL: 'warn' } });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /delete \d+ subvolume\(s\)\? \[y\/N\]/);
  assert.match(r.stdout, /"cancelled"|"dryRun": true/);
  assert.deepEqual(ls('@snapshots'), before, 'nothing deleted');
});

test('snapshot @log @log takes one snapshot', { skip }, () => {
  const r = cli(['--json', 'snapshot', '@log', '@log'], { config: cfg });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json().created.length, 1);
});

test('pin takes selectors: 2h-ago and latest; an ambiguous latest is refused', { skip }, () => {
  // Only @home has snapshots of these ages, so "latest" and ages name one.
  const threeHours = snapAt('@home', Date.now() - 3 * HOUR);
  const oneHour = snapAt('@home', Date.now() - 1 * HOUR);
  const aged = cli(['--json', 'pin', '2h-ago'], { config: cfg });
  assert.equal(aged.code, 0, aged.stderr);
  assert.equal(aged.json().name, threeHours);
  assert.equal(aged.json().changed, true);

  const made = cli(['--json', 'snapshot'], { config: cfg }).json().created as { name: string }[];
  assert.equal(made.length, 3);
  const tie = cli(['pin', 'latest'], { config: cfg });
  assert.equal(tie.code, 64, tie.stderr);
  // At least the three just made (the previous test's @log snapshot may share their second).
  assert.match(tie.stderr, /matches \d+ snapshots taken together/);
  for (const m of made) assert.ok(tie.stderr.includes(m.name), `${m.name} is named`);

  const named = cli(['--json', 'pin', oneHour], { config: cfg });
  assert.equal(named.code, 0, named.stderr);
  const unknown = cli(['pin', '9w-ago'], { config: cfg });
  assert.equal(unknown.code, 64);
  assert.match(unknown.stderr, /at least 9w old/);
  const listed = cli(['--json', 'list', '@home'], { config: cfg }).json();
  const pinned = listed.entries.filter((e: { pinned: boolean }) => e.pinned).map((e: { name: string }) => e.name).sort();
  assert.deepEqual(pinned, [threeHours, oneHour].sort());
});
