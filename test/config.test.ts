import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig, formatPath } from '../src/config/load.js';
import { ConfigError } from '../src/errors.js';
import { cli, CLI } from './helpers/cli.js';

const BAD = join(__dirname, 'fixtures/configs/bad');

// Each malformed config, and the JSON path its error must name.
const EXPECTED: Record<string, string> = {
  'wrong-type-port': 'health.port',
  'unknown-top-key': '(root): unknown key(s) "hots"',
  'unknown-nested-key': 'snapshots: unknown key(s) "dirr"',
  'bad-preserve': 'snapshots.sources["@persist"].retention.preserve',
  'bad-preserve-min': 'root.retention.preserveMin',
  'duplicate-unit': 'snapshots.sources["@persist"].retention.preserve',
  'relative-state-dir': 'stateDir',
  'relative-persistence': 'persistence.directories[0]',
  'empty-sources': 'snapshots.sources',
  'absolute-subvolume': 'root.subvolume',
  'dotdot-archive': 'root.archiveDir',
  'bad-day-of-week': 'snapshots.sources["@log"].retention.preserveDayOfWeek',
  'hour-out-of-range': 'root.retention.preserveHourOfDay',
  'bad-profile': 'power.onAC',
  'bad-tag': 'health.allow.tags[0]',
  'bad-timezone': 'timezone',
  'missing-host': 'host',
  'free-percent-over': 'snapshots.minFreePercent',
  'bad-listen': 'health.listen[0]',
  'source-unknown-key': 'snapshots.sources["@persist"]: unknown key(s) "keep"',
  'not-json': 'not valid JSON',
  'top-level-array': '(root)',
  'bad-store-path': 'drift.expectedToplevel',
};

test('the malformed-config corpus is complete', () => {
  const files = readdirSync(BAD).map((f) => f.replace(/\.json$/, '')).sort();
  assert.deepEqual(files, Object.keys(EXPECTED).sort());
  assert.ok(files.length >= 15);
});

for (const [name, path] of Object.entries(EXPECTED)) {
  test(`check-config rejects ${name} with exit 78 naming ${path}`, { skip: existsSync(CLI) ? false : 'dist/ not built (npm run build)' }, () => {
    const file = join(BAD, `${name}.json`);
    const r = cli(['check-config', file]);
    assert.equal(r.code, 78, r.stderr);
    assert.ok(r.stderr.includes(path), `stderr should name ${path}:\n${r.stderr}`);
    assert.ok(r.stderr.includes(file), 'the message names the file');
  });
}

test('--json error document carries the issues with their paths', { skip: existsSync(CLI) ? false : 'dist/ not built' }, () => {
  const r = cli(['--json', 'check-config', join(BAD, 'bad-preserve.json')]);
  assert.equal(r.code, 78);
  const doc = r.json();
  assert.equal(doc.error.type, 'ConfigError');
  assert.deepEqual(doc.error.issues.map((i: { path: string }) => i.path), ['snapshots.sources["@persist"].retention.preserve']);
});

test('defaults match DESIGN.md section 4', () => {
  const c = parseConfig({ host: 'yoga' }, 'inline');
  assert.equal(c.stateDir, '/var/lib/pantheragent');
  assert.deepEqual(Object.keys(c.snapshots.sources), ['@persist', '@home', '@log']);
  assert.deepEqual(c.snapshots.sources['@log']!.retention.preserve, { d: 7 });
  assert.deepEqual(c.snapshots.sources['@persist']!.retention.preserve, { h: 24, d: 14, w: 8, m: 6 });
  assert.deepEqual(c.root.retention.preserveMin, { kind: 'duration', n: 3, unit: 'd' });
  assert.deepEqual(c.root.retention.preserve, { d: 14, w: 4 });
  assert.equal(c.root.archiveDir, '@old_roots');
  assert.equal(c.snapshots.minFreePercent, 10);
  assert.equal(c.health.port, 9473);
  assert.equal(c.power.chargeLimit, 80);
  assert.equal(c.runtimeDir, '/run/pantheragent');
  assert.equal(c.systemRoot, '/');
});

test('a source without retention gets the default policy; servers may drop @home', () => {
  const c = parseConfig({ host: 'hetzner-vps', snapshots: { sources: { '@persist': {}, '@log': { retention: { preserve: '7d' } } } }, power: { enable: false } }, 'inline');
  assert.deepEqual(Object.keys(c.snapshots.sources), ['@persist', '@log']);
  assert.deepEqual(c.snapshots.sources['@log']!.retention.preserveMin, { kind: 'duration', n: 1, unit: 'd' });
  assert.equal(c.power.enable, false);
});

test('every error in one run, not just the first', () => {
  assert.throws(
    () => parseConfig({ host: 'Bad Host', stateDir: 'rel', health: { port: 0 } }, 'inline'),
    (e: unknown) => e instanceof ConfigError && e.issues.length === 3,
  );
});

test("zod's own checks speak English: what was expected, and the bound that was crossed", () => {
  const issues = (raw: unknown) => {
    try {
      parseConfig(raw, 'inline');
    } catch (e) {
      if (e instanceof ConfigError) return e.issues;
      throw e;
    }
    assert.fail('expected a ConfigError');
  };
  // zod/mini has no messages of its own (src/util/zod.ts loads the English ones).
  assert.deepEqual(issues({ host: 7 }), [{ path: 'host', message: 'Invalid input: expected string, received number' }]);
  assert.deepEqual(issues({ host: 'h', health: { port: 80.5 } }), [{ path: 'health.port', message: 'Invalid input: expected int, received number' }]);
  assert.deepEqual(issues({ host: 'h', power: { chargeLimit: 101 } }), [{ path: 'power.chargeLimit', message: 'Too big: expected number to be <=100' }]);
  assert.deepEqual(issues({ host: 'h', drift: { timeouts: { closure: 0 } } }), [{ path: 'drift.timeouts.closure', message: 'Too small: expected number to be >0' }]);
});

test('formatPath quotes keys that are not identifiers', () => {
  assert.equal(formatPath(['snapshots', 'sources', '@persist', 'retention']), 'snapshots.sources["@persist"].retention');
  assert.equal(formatPath(['persistence', 'files', 2]), 'persistence.files[2]');
  assert.equal(formatPath([]), '');
});

test('missing config file: exit 78 telling how to point at one', { skip: existsSync(CLI) ? false : 'dist/ not built' }, () => {
  const r = cli(['status'], { config: '/nonexistent/pantheragent.json' });
  assert.equal(r.code, 78);
  assert.match(r.stderr, /file not found: pass --config FILE or set PANTHERAGENT_CONFIG/);
});
