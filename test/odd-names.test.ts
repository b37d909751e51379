// Odd names never stop the agent. Any user can create a subvolume in their home with
// a newline, a control character or bytes that are not UTF-8 in its name; a newline
// even lets the name forge a line of `btrfs subvolume list`. The parser attaches the
// spilled lines to their entry, marks odd entries, and every command still works and
// leaves those subvolumes alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { escapeName, parseSubvolumeList } from '../src/btrfs/parse.js';
import { ParseError } from '../src/errors.js';
import { makeBtrfs, layoutHost } from './helpers/btrfs.js';
import { cli, writeConfig } from './helpers/cli.js';
import { skipUnless, BTRFS_REQ } from './helpers/env.js';

const skip = skipUnless(BTRFS_REQ);
const PAD = ' '.repeat(35);
const line = (id: number, parent: number, uuid: string, path: string) =>
  `ID ${id} gen 7 cgen 7 parent ${parent} top level ${parent} parent_uuid -${PAD} received_uuid -${PAD} uuid ${uuid} path ${path}`;
const U = (n: number) => `00000000-0000-0000-0000-${String(n).padStart(12, '0')}`;

test('list output captured from btrfs-progs with odd names parses; the odd entries are marked', () => {
  const l = parseSubvolumeList(readFileSync(join(__dirname, 'fixtures/btrfs/subvolume-list-odd.txt'), 'utf8'));
  assert.deepEqual(l.map((e) => e.id), [256, 257, 258]);
  assert.equal(l[0]!.odd, undefined);
  // The forged-looking line has no well-formed UUID: it is part of the name.
  assert.equal(l[1]!.path, '@home/evil\nID 999 gen 1 cgen 1 parent 5 top level 5 parent_uuid - received_uuid - uuid x path fake');
  assert.match(l[1]!.odd!, /newline/);
  assert.match(l[2]!.odd!, /control characters/);
  assert.equal(escapeName(l[2]!.path), '@home/bad\\ufffdutf\\tx');
});

test('a name that forges a well-formed line: the claimants of one path or id are all odd', () => {
  const out = [
    line(256, 5, U(1), '@home'),
    line(257, 5, U(2), '@snapshots/@home.20261125T220000+0000'),
    line(258, 256, U(3), '@home/evil'),
    line(257, 5, U(4), '@snapshots/@home.20261125T220000+0000'), // forged by the name of 258
    line(259, 256, U(5), '@home/ok'),
  ].join('\n');
  const l = parseSubvolumeList(out + '\n');
  assert.deepEqual(l.map((e) => [e.id, !!e.odd]), [[256, false], [257, true], [258, false], [257, true], [259, false]]);
});

test('a forged line whose path is not inside its parent is odd; so is one whose parent and top level differ', () => {
  const l = parseSubvolumeList([line(256, 5, U(1), '@home'), line(300, 256, U(9), '@snapshots/x'), line(301, 5, U(8), 'y').replace('top level 5', 'top level 256')].join('\n'));
  assert.match(l[1]!.odd!, /parent subvolume/);
  assert.match(l[2]!.odd!, /parent subvolume/);
});

test('carriage returns, line separators and trailing spaces stay in the name; only a first line that is no entry is an error', () => {
  const l = parseSubvolumeList([line(256, 5, U(1), 'a\rb'), line(257, 5, U(2), 'c\u2028d '), ''].join('\n'));
  assert.deepEqual(l.map((e) => e.path), ['a\rb', 'c\u2028d ']);
  assert.match(l[0]!.odd!, /control/);
  assert.equal(l[1]!.odd, undefined);
  assert.throws(() => parseSubvolumeList('garbage\n' + line(256, 5, U(1), '@x')), ParseError);
  assert.deepEqual(parseSubvolumeList(''), []);
});

test('escapeName: plain names as they are; odd ones on one line, backslashes doubled', () => {
  assert.equal(escapeName('@persist.20261125T220000+0000'), '@persist.20261125T220000+0000');
  assert.equal(escapeName('a\\b'), 'a\\b');
  assert.equal(escapeName('a\\b\nc\x01'), 'a\\\\b\\nc\\x01');
});

/** Creates a subvolume whose name is given as printf(1) format, so it can hold any byte. */
function oddSubvol(top: string, printfPath: string): void {
  execFileSync('sh', ['-c', `btrfs subvolume create "$(printf '${printfPath}')" >/dev/null`], { cwd: top });
}

test('status, list, snapshot, prune and snapshot --prune work with odd names on disk, and leave them alone', { skip }, (t) => {
  const fx = makeBtrfs();
  t.after(() => fx.cleanup());
  layoutHost(fx);
  const cfg = writeConfig(fx, { snapshots: { sources: { '@home': { retention: { preserveMin: 'no', preserve: '1h' } } } } });
  // A name cannot hold '/', so a forged line can only claim a top-level path: here @nix's.
  const forged = line(999, 5, U(7), '@nix');
  oddSubvol(fx.top, `@home/new\\nline`);
  oddSubvol(fx.top, `@home/forger\\n${forged}`);
  oddSubvol(fx.top, `@home/bell\\007tab\\tend`);
  oddSubvol(fx.top, `@home/not-utf8-\\377\\376`);
  // Root-owned directories can hold odd names too (a person, a tool): foreign, never deleted.
  oddSubvol(fx.top, `@snapshots/@home.20200101T000000+0000\\nx`);
  oddSubvol(fx.top, `@old_roots/@root.20200101T000000+0000\\001`);
  const raw = () => fx.btrfs('subvolume', 'list', fx.top);
  const oddLines = () => raw().split('\n').filter((l) => /new$|forger$|bell|not-utf8|T000000\+0000$|^x$|\x01/.test(l)).sort();
  const before = oddLines();
  assert.ok(before.length >= 6, before.join('\n'));

  for (const args of [['status'], ['list'], ['list', '--roots'], ['--json', 'list'], ['snapshot'], ['snapshot', '--prune'], ['prune', '--yes'], ['--json', 'status']]) {
    const r = cli(args, { config: cfg });
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    if (args.join(' ') === 'list') {
      assert.ok(r.stdout.includes('@snapshots/@home.20200101T000000+0000\\nx'), `the odd name is listed escaped:\n${r.stdout}`);
      assert.ok(!/[\x00-\x08\x0b-\x1a\x1c-\x1f]/.test(r.stdout), 'no raw control characters');
    }
  }
  const listed = cli(['--json', 'list'], { config: cfg }).json();
  assert.ok(listed.foreign.some((f: { name: string }) => f.name === '@home.20200101T000000+0000\nx'), 'the odd snapshot name is listed as foreign');
  assert.deepEqual(oddLines(), before, 'every odd subvolume is still there');
});
