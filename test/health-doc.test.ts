// Pure parts of health: thresholds from config, verdicts of the document, the Prometheus
// text, address ranges, the authorisation rule and the parsing of the published state.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../src/config/load.js';
import { ConfigError } from '../src/errors.js';
import { isLoopback, isTailnet } from '../src/health/addresses.js';
import { healthDocument, metricsText, type HealthDocument } from '../src/health/doc.js';
import { allowedBy } from '../src/health/localapi.js';
import { parseState, type ReadState } from '../src/health/publish.js';
import { parseDuration } from '../src/health/settings.js';
import type { HealthState } from '../src/health/state.js';
import { derivedAges, resolveThresholds } from '../src/health/thresholds.js';
import { sampleState } from './helpers/health.js';

const NOW = Date.parse('2026-11-30T12:00:00Z');
const ok = (s: HealthState): ReadState => ({ ok: true, state: s });
const doc = (over: Partial<HealthState> = {}, now = NOW) => healthDocument(ok(sampleState(NOW, over)), now, '1.2.3');
const check = (d: HealthDocument, key: string, component?: string) => d.checks[key]!.find((c) => component === undefined || c.componentId === component)!;
const cfg = (extra: Record<string, unknown> = {}) => parseConfig({ host: 'h', ...extra }, 'test.json');

test('durations and derived snapshot ages', () => {
  assert.equal(parseDuration('90m'), 5400);
  assert.equal(parseDuration('2d'), 172800);
  assert.equal(parseDuration('0h'), null);
  assert.equal(parseDuration('3 h'), null);
  assert.deepEqual(derivedAges(3600), { warnSeconds: 3 * 3600, failSeconds: 24 * 3600 });
  assert.deepEqual(derivedAges(86400), { warnSeconds: 3 * 86400, failSeconds: 7 * 86400 });
  assert.deepEqual(derivedAges(900), { warnSeconds: 2700, failSeconds: 6 * 3600 });
});

test('thresholds from config: derived, overridden, checked', () => {
  const t = resolveThresholds(cfg({ health: { snapshotInterval: 'daily', snapshots: { '@log': { warnAfter: '2d' } } } }));
  assert.deepEqual(t.snapshots['@persist'], { warnSeconds: 3 * 86400, failSeconds: 7 * 86400 });
  assert.deepEqual(t.snapshots['@log'], { warnSeconds: 2 * 86400, failSeconds: 7 * 86400 });
  assert.equal(t.staleAfterSeconds, 300);
  // A warn floor under the fail floor is raised to it.
  assert.deepEqual(resolveThresholds(cfg({ snapshots: { minFreePercent: 30 } })).freeSpace, { warnPercent: 30, failPercent: 30 });
  assert.throws(() => resolveThresholds(cfg({ health: { snapshots: { '@nope': { warnAfter: '1h' } } } })), (e: ConfigError) => e instanceof ConfigError && /health\.snapshots\["@nope"\]/.test(e.message));
  assert.throws(() => resolveThresholds(cfg({ health: { snapshots: { '@home': { warnAfter: '2d', failAfter: '1d' } } } })), /warnAfter must be shorter than failAfter/);
  assert.throws(() => cfg({ health: { snapshotInterval: 'sometimes' } }), /health\.snapshotInterval/);
  assert.throws(() => cfg({ health: { staleAfter: '5 minutes' } }), /health\.staleAfter/);
  assert.throws(() => cfg({ health: { limits: { maxHeaderBytes: 10 ** 6 } } }), /health\.limits\.maxHeaderBytes/);
});

test('the document: everything as it should be passes', () => {
  const d = doc();
  assert.equal(d.status, 'pass');
  assert.equal(d.releaseId, '1.2.3');
  assert.equal(d.output, undefined);
  assert.deepEqual(Object.keys(d.checks).sort(), [
    'disk:free', 'drift:closure', 'drift:nextboot', 'drift:persistence', 'drift:profile', 'drift:reboot', 'drift:revision', 'drift:state', 'drift:units',
    'power:profile', 'retention:pending', 'snapshots:age', 'snapshots:future', 'state:age', 'wipe:last',
  ]);
  assert.deepEqual(d.checks['snapshots:age']!.map((c) => [c.componentId, c.status, c.observedValue]), [['@persist', 'pass', 600], ['@home', 'pass', 600]]);
});

test('the document: snapshot ages against their thresholds', () => {
  assert.equal(check(doc({}, NOW + 3 * 3600 * 1000), 'snapshots:age', '@persist').status, 'warn');
  const late = doc({}, NOW + 25 * 3600 * 1000);
  assert.equal(check(late, 'snapshots:age', '@persist').status, 'fail');
  assert.equal(late.status, 'fail');
  assert.match(late.output!, /snapshots:age @persist: newest snapshot @persist\.\S+ is 25h 10m old \(fail after 24h\)/);
  const none = doc({ snapshots: { ok: true, value: [{ source: '@persist', count: 0, newest: null }] } });
  assert.equal(check(none, 'snapshots:age', '@persist').status, 'warn');
  assert.equal(check(none, 'snapshots:age', '@home').status, 'warn', 'a configured source missing from the facts');
  const unknown = doc({ snapshots: { ok: false, why: 'btrfs missing' } });
  assert.equal(check(unknown, 'snapshots:age', '@persist').status, 'fail');
  assert.equal(check(unknown, 'snapshots:age', '@persist').output, 'unknown: btrfs missing');
});

test('the document: wipe, retention, disk, drift, power, staleness', () => {
  const wipe = (status: 'ok' | 'failed' | 'skipped' | 'never' | 'unreadable') => check(doc({ wipe: { ok: true, value: { status, time: null, archived: null, error: 'boom' } } }), 'wipe:last').status;
  assert.deepEqual(['ok', 'never', 'skipped', 'failed', 'unreadable'].map((s) => wipe(s as 'ok')), ['pass', 'pass', 'warn', 'fail', 'fail']);
  assert.equal(doc({ wipe: { ok: true, value: { status: 'failed', time: null, archived: null, error: 'x' } } }).status, 'fail');

  assert.equal(check(doc({ retention: { ok: true, value: { snapshots: 40, roots: 11 } } }), 'retention:pending').status, 'warn');
  assert.equal(check(doc({ retention: { ok: true, value: { snapshots: 40, roots: 10 } } }), 'retention:pending').status, 'pass');

  const future = doc({ future: { ok: true, value: [{ path: '@snapshots/@persist.20261202T000000+0000', time: '2026-12-02T00:00:00Z' }] } });
  assert.equal(check(future, 'snapshots:future').status, 'warn');
  assert.match(check(future, 'snapshots:future').output!, /1 dated in the future \(e\.g\. @snapshots\/@persist\.20261202T000000\+0000/);
  assert.equal(check(doc(), 'snapshots:future').status, 'pass');

  const disk = (freePercent: number) => check(doc({ disk: { ok: true, value: { size: 100, free: freePercent, freePercent } } }), 'disk:free').status;
  assert.deepEqual([60, 20, 19.9, 10, 9.9].map(disk), ['pass', 'pass', 'warn', 'warn', 'fail']);

  const drifted = doc({ drift: { ok: true, value: [{ kind: 'reboot', status: 'drift', summary: 'kernel changed', measuredAt: new Date(NOW).toISOString() }] } });
  assert.equal(check(drifted, 'drift:reboot').status, 'warn');
  assert.equal(check(drifted, 'drift:reboot').output, 'kernel changed');
  assert.match(check(drifted, 'drift:units').output!, /^unknown: not measured yet/);
  assert.equal(check(doc({ drift: { ok: false, why: 'no drift here' } }), 'drift:state').output, 'unknown: no drift here');

  assert.equal(check(doc({ power: { ok: true, value: null } }), 'power:profile').status, 'pass');
  const fighting = check(doc({ power: { ok: true, value: { profile: 'balanced', onBattery: true, batteryPercent: 50, knobsOk: 4, knobsTotal: 6, conflicts: ['tlp'] } } }), 'power:profile');
  assert.equal(fighting.status, 'warn');
  assert.match(fighting.output!, /tlp.*2 of 6 knobs/);

  const stale = doc({}, NOW + 301_000);
  assert.equal(check(stale, 'state:age').status, 'warn');
  assert.equal(check(doc({}, NOW + 299_000), 'state:age').status, 'pass');
});

test('the document when the state cannot be read: fail, with why', () => {
  const d = healthDocument({ ok: false, why: 'no health state at /run/pantheragent/health.json' }, NOW, '1');
  assert.equal(d.status, 'fail');
  assert.equal(d.checks['state:age']![0]!.output, 'no health state at /run/pantheragent/health.json');
});

test('metrics: the exposition format, names and values', () => {
  const text = metricsText(ok(sampleState(NOW, { host: 'yoga' })), NOW, '1.2.3');
  for (const line of text.trimEnd().split('\n')) {
    if (line.startsWith('#')) assert.match(line, /^# (HELP|TYPE) pantheragent_[a-z_]+ \S/);
    else assert.match(line, /^pantheragent_[a-z_]+(\{[a-z_]+="(?:[^"\\\n]|\\["\\n])*"(,[a-z_]+="(?:[^"\\\n]|\\["\\n])*")*\})? (NaN|-?\d+(\.\d+)?(e[+-]?\d+)?)$/, line);
  }
  assert.match(text, /^pantheragent_build_info\{version="1\.2\.3",host="yoga"\} 1$/m);
  assert.match(text, new RegExp(`^pantheragent_last_snapshot_timestamp_seconds\\{source="@persist"\\} ${(NOW - 600_000) / 1000}$`, 'm'));
  assert.match(text, /^pantheragent_snapshots\{source="@home"\} 2$/m);
  assert.match(text, /^pantheragent_last_wipe_success 1$/m);
  assert.match(text, /^pantheragent_drift\{kind="units"\} 0$/m);
  assert.match(text, /^pantheragent_free_bytes 64424509440$/m);
  assert.match(text, /^pantheragent_power_profile_info\{profile="balanced"\} 1$/m);
  assert.match(text, /^pantheragent_health_status\{status="pass"\} 1$/m);
  // Unknown drift is left out, not reported as 0; a never-wiped host has no wipe metrics.
  const partial = metricsText(ok(sampleState(NOW, { drift: { ok: true, value: [{ kind: 'closure', status: 'unknown', summary: '?', measuredAt: new Date(NOW).toISOString() }] }, wipe: { ok: true, value: { status: 'never', time: null, archived: null, error: null } } })), NOW, '1');
  assert.doesNotMatch(partial, /pantheragent_drift/);
  assert.doesNotMatch(partial, /pantheragent_last_wipe/);
  // Label values escape backslash, quote and newline.
  const odd = metricsText(ok(sampleState(NOW, { power: { ok: true, value: { profile: 'a"b\\c\nd', onBattery: null, batteryPercent: null, knobsOk: 0, knobsTotal: 0, conflicts: [] } } })), NOW, '1');
  assert.match(odd, /^pantheragent_power_profile_info\{profile="a\\"b\\\\c\\nd"\} 1$/m);
  assert.equal(metricsText({ ok: false, why: 'x' }, NOW, '1'), '# HELP pantheragent_build_info pantheragent version and host; always 1.\n# TYPE pantheragent_build_info gauge\npantheragent_build_info{version="1"} 1\n# HELP pantheragent_state_available 1 when the health state published by the daemon could be read.\n# TYPE pantheragent_state_available gauge\npantheragent_state_available 0\n');
});

test('addresses: loopback and the tailnet ranges, nothing else', () => {
  for (const a of ['127.0.0.1', '127.255.0.9', '::1', '::ffff:127.0.0.1']) assert.ok(isLoopback(a), a);
  for (const a of ['128.0.0.1', '::2', '100.64.0.1', '::ffff:10.0.0.1', 'localhost']) assert.ok(!isLoopback(a), a);
  for (const a of ['100.64.0.0', '100.100.7.1', '100.127.255.255', '::ffff:100.101.102.103', 'fd7a:115c:a1e0::1', 'fd7a:115c:a1e0:ab12:4843:cd96:6258:b240']) assert.ok(isTailnet(a), a);
  for (const a of ['100.63.255.255', '100.128.0.0', '10.0.0.1', '192.0.2.10', 'fd7a:115c:a1e1::1', 'fe80::1', '::1', 'fd7a:115c:a1e0::1%eth0', 'not an ip']) assert.ok(!isTailnet(a), a);
  // Other spellings of the same addresses (node reports peers canonically; these agree anyway).
  for (const a of ['0:0:0:0:0:0:0:1', '::ffff:7f00:1']) assert.ok(isLoopback(a) && !isTailnet(a), a);
  for (const a of ['::ffff:6440:1', 'FD7A:115C:A1E0::1']) assert.ok(isTailnet(a) && !isLoopback(a), a);
});

test('authorisation: an allowed tag, or the login name of an untagged node', () => {
  const allow = { tags: ['tag:monitor'], users: ['alice@example.com', 'tagged-devices'] };
  assert.equal(allowedBy({ node: 'm', tags: ['tag:web', 'tag:monitor'], loginName: 'tagged-devices' }, allow), 'tag:monitor');
  assert.equal(allowedBy({ node: 'w', tags: ['tag:web'], loginName: 'tagged-devices' }, allow), null, 'the tagged-devices pseudo-user grants nothing');
  assert.equal(allowedBy({ node: 'l', tags: [], loginName: 'alice@example.com' }, allow), 'alice@example.com');
  assert.equal(allowedBy({ node: 'l', tags: [], loginName: 'ALICE@example.com' }, allow), null);
  assert.equal(allowedBy({ node: 'l', tags: [], loginName: 'bob@example.com' }, allow), null);
});

test('the published state is parsed, not trusted', () => {
  const good = JSON.stringify(sampleState(NOW));
  assert.equal(parseState(good, 'f').ok, true);
  const bad = (text: string) => {
    const r = parseState(text, '/run/x/health.json');
    assert.equal(r.ok, false);
    return r.ok ? '' : r.why;
  };
  assert.match(bad('{"version": 1'), /not JSON/);
  assert.match(bad(JSON.stringify({ ...sampleState(NOW), version: 2 })), /not a health state: version/);
  assert.match(bad(JSON.stringify({ ...sampleState(NOW), wipe: { ok: true, value: { status: 'maybe' } } })), /wipe/);
  assert.match(bad(JSON.stringify({ ...sampleState(NOW), extra: 1 })), /not a health state/);
});
