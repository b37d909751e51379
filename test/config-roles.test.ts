// Configs that would make the agent act on the wrong data: overlapping roles, two
// sources with one snapshot name, control characters in paths, a stateDir in a
// kernel filesystem. Each is a ConfigError (78) naming the JSON path of the field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../src/config/load.js';
import { roleIssues } from '../src/config/roles.js';
import { ConfigError } from '../src/errors.js';

const base = { host: 'h' };

function issues(raw: Record<string, unknown>): { path: string; message: string }[] {
  try {
    parseConfig({ ...base, ...raw }, 'test.json');
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    assert.equal(e.exitCode, 78);
    return e.issues;
  }
  return [];
}

const paths = (raw: Record<string, unknown>) => issues(raw).map((i) => i.path);

test('the defaults have sound roles', () => {
  assert.deepEqual(issues({}), []);
});

test('root.subvolume, root.blank, root.archiveDir or snapshots.dir on a source is refused', () => {
  assert.deepEqual(paths({ root: { subvolume: '@persist' } }), ['root.subvolume']);
  assert.deepEqual(paths({ root: { blank: '@persist' } }), ['root.blank']);
  assert.deepEqual(paths({ root: { archiveDir: '@home' } }), ['root.archiveDir']);
  assert.deepEqual(paths({ snapshots: { dir: '@log' } }), ['snapshots.dir']);
  const [one] = issues({ root: { subvolume: '@persist' } });
  assert.match(one!.message, /"@persist" is the same subvolume as snapshots\.sources\["@persist"\]/);
});

test('roles inside one another are refused, in either direction', () => {
  assert.deepEqual(paths({ root: { archiveDir: '@root/old' } }), ['root.subvolume']);
  assert.deepEqual(paths({ snapshots: { dir: '@persist/.snapshots' } }), ['snapshots.dir']);
  assert.deepEqual(paths({ snapshots: { sources: { '@data': {}, '@data/vm': {} } } }), ['snapshots.sources["@data"]']);
  assert.match(issues({ snapshots: { dir: '@persist/.snapshots' } })[0]!.message, /is inside snapshots\.sources\["@persist"\]/);
  // A shared prefix that is not a path component is no overlap.
  assert.deepEqual(paths({ root: { blank: '@root-blank', archiveDir: '@rootold' } }), []);
});

test('two sources whose snapshots would share a name are refused', () => {
  const got = issues({ snapshots: { sources: { '@persist': {}, 'data/@persist': {} } } });
  assert.deepEqual(got.map((i) => i.path), ['snapshots.sources["data/@persist"]']);
  assert.match(got[0]!.message, /named like those of "@persist"/);
});

test('every overlap is reported, each at its own field', () => {
  const got = paths({ root: { subvolume: '@persist', blank: '@persist' }, snapshots: { dir: '@home' } });
  assert.deepEqual(got, ['root.subvolume', 'root.subvolume', 'root.blank', 'snapshots.dir']);
});

test('roleIssues is pure over a parsed config', () => {
  const c = parseConfig(base, 'x.json');
  assert.deepEqual(roleIssues({ ...c, snapshots: { ...c.snapshots, dir: c.root.archiveDir } }).map((i) => i.path), ['root.archiveDir']);
});

test('a NUL or control character in any configured path is refused', () => {
  assert.deepEqual(paths({ stateDir: '/var/lib/x\0y' }), ['stateDir']);
  assert.deepEqual(paths({ runtimeDir: '/run/a\x07' }), ['runtimeDir']);
  assert.deepEqual(paths({ persistence: { directories: ['/etc/ok', '/etc/a\u0085b'] } }), ['persistence.directories[1]']);
  assert.deepEqual(paths({ root: { archiveDir: '@old\0roots' } }), ['root.archiveDir']);
  const src = issues({ snapshots: { sources: { '@a\u0001b': {} } } });
  assert.equal(src.length, 1);
  assert.match(src[0]!.path, /^snapshots\.sources/);
  assert.match(src[0]!.message, /control characters/);
});

test('a stateDir under /proc, /sys or /dev is refused', () => {
  for (const d of ['/proc/pantheragent', '/sys', '//dev/shm/x']) assert.deepEqual(paths({ stateDir: d }), ['stateDir'], d);
  assert.deepEqual(paths({ stateDir: '/var/lib/proc' }), []);
});
