// /health and /metrics follow a real sequence on real Btrfs: a snapshot (by the CLI),
// then the clock moved past the thresholds, then a failed wipe record. The state is
// gathered and published as the daemon does; the endpoint runs here, on loopback.
import assert from 'node:assert/strict';
import { get } from 'node:http';
import { test } from 'node:test';
import { openAgent } from '../src/agent.js';
import { loadConfig } from '../src/config/load.js';
import { collectState } from '../src/health/collect.js';
import type { HealthDocument } from '../src/health/doc.js';
import { publishState } from '../src/health/publish.js';
import { HealthServer } from '../src/health/server.js';
import { createLogger } from '../src/util/log.js';
import { writeRecordFiles } from '../src/wipe/files.js';
import { layoutHost, makeBtrfs } from './helpers/btrfs.js';
import { cli, writeConfig } from './helpers/cli.js';
import { BTRFS_REQ, skipUnless } from './helpers/env.js';

const HOUR = 3600_000;

function fetch(port: number, path: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body }));
    }).on('error', reject);
  });
}

test('health and metrics through snapshot, ageing and a failed wipe', { skip: skipUnless(BTRFS_REQ), timeout: 60_000 }, async (t) => {
  const fx = makeBtrfs();
  t.after(() => fx.cleanup());
  layoutHost(fx);
  const file = writeConfig(fx, {
    snapshots: { sources: { '@persist': {}, '@home': {} } },
    health: { listen: ['loopback'], snapshotInterval: 'hourly', snapshots: { '@home': { warnAfter: '1h', failAfter: '2h' } } },
  });
  const config = loadConfig(file);
  const log = createLogger('silent');
  const r = cli(['snapshot', '@persist', '@home'], { config: file });
  assert.equal(r.code, 0, r.stderr);

  // No daemon has published anything: the command gathers the facts itself.
  const direct = cli(['health'], { config: file });
  assert.equal(direct.code, 0, direct.stderr);
  assert.match(direct.stdout, /health warn .*\(gathered now: no fresh state from the daemon\)/);
  assert.match(direct.stdout, /^snapshots:age\s+@persist\s+pass/m);

  let now = Date.now();
  const publish = async () => {
    const agent = openAgent(config, log, { mutating: false, waitSeconds: 0 });
    try {
      publishState(config.runtimeDir, await collectState(agent, { now: () => now }));
    } finally {
      agent.db.close();
    }
  };
  // Port 0: any free port, so the test never collides with a running endpoint.
  const server = new HealthServer({ config: { ...config, health: { ...config.health, port: 0 } }, log, version: '0.0.0-test', now: () => now });
  await server.start();
  t.after(() => server.close());
  const port = Number(server.addresses()[0]!.split(':').pop());
  const health = async () => {
    const res = await fetch(port, '/health');
    assert.equal(res.type, 'application/health+json');
    return { status: res.status, doc: JSON.parse(res.body) as HealthDocument };
  };
  const metric = async (line: RegExp) => {
    const m = await fetch(port, '/metrics');
    assert.match(m.type, /^text\/plain; version=0\.0\.4/);
    return line.exec(m.body);
  };
  const snap = (doc: HealthDocument, source: string) => doc.checks['snapshots:age']!.find((c) => c.componentId === source)!;

  // 1. Fresh snapshots: pass for both sources; metrics carry them.
  await publish();
  let h = await health();
  assert.equal(h.status, 200);
  assert.equal(snap(h.doc, '@persist').status, 'pass');
  assert.equal(snap(h.doc, '@home').status, 'pass');
  assert.equal(h.doc.checks['wipe:last']![0]!.status, 'pass');
  assert.equal(h.doc.checks['disk:free']![0]!.status, 'pass');
  assert.ok(await metric(/^pantheragent_snapshots\{source="@persist"\} 1$/m));
  const ts = await metric(/^pantheragent_last_snapshot_timestamp_seconds\{source="@persist"\} (\d+)$/m);
  assert.ok(ts && Math.abs(Number(ts[1]) * 1000 - now) < 60_000, 'the snapshot time, in seconds');
  assert.ok(await metric(/^pantheragent_free_bytes \d+$/m));
  assert.equal((await fetch(port, '/readyz')).status, 200);

  // 2. 90 minutes later: @home (its own 1h/2h thresholds) warns, @persist (3h/24h from hourly) passes.
  now += 1.5 * HOUR;
  await publish();
  h = await health();
  assert.equal(h.status, 200);
  assert.equal(h.doc.status === 'fail', false);
  assert.equal(snap(h.doc, '@home').status, 'warn');
  assert.equal(snap(h.doc, '@persist').status, 'pass');

  // 3. 25 hours later, and the daemon stopped publishing an hour ago: both fail; 503; not ready.
  now += 23.5 * HOUR;
  await publish();
  now += HOUR;
  h = await health();
  assert.equal(h.status, 503);
  assert.equal(h.doc.status, 'fail');
  assert.equal(snap(h.doc, '@persist').status, 'fail');
  assert.ok(Number(snap(h.doc, '@persist').observedValue) >= 26 * 3600 - 60, 'the age in seconds');
  assert.equal(h.doc.checks['state:age']![0]!.status, 'warn');
  assert.equal((await fetch(port, '/readyz')).status, 503);
  assert.ok(await metric(/^pantheragent_health_status\{status="fail"\} 1$/m));

  // 4. A new snapshot, then a failed wipe record: wipe:last fails, and so does everything.
  assert.equal(cli(['snapshot'], { config: file }).code, 0);
  now = Date.now();
  writeRecordFiles(fx.top, {
    version: 1,
    time: new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    outcome: 'failed',
    executor: 'initrd',
    stamp: '20261130T000000+0000',
    source: 'blank',
    from: '@root-blank',
    root: '@root',
    archived: null,
    marker: { state: 'none' },
    renamedBack: true,
    error: 'btrfs subvolume snapshot failed',
  });
  await publish();
  h = await health();
  assert.equal(h.status, 503);
  assert.equal(snap(h.doc, '@persist').status, 'pass');
  const wipe = h.doc.checks['wipe:last']![0]!;
  assert.equal(wipe.status, 'fail');
  assert.match(wipe.output!, /btrfs subvolume snapshot failed/);
  assert.ok(await metric(/^pantheragent_last_wipe_success 0$/m));
  assert.ok(await metric(/^pantheragent_last_wipe_timestamp_seconds \d+$/m));
  assert.ok(await metric(/^pantheragent_snapshots\{source="@persist"\} 2$/m));

  // The command line says the same (exit 2 on fail), from the published state.
  const c = cli(['health', '--json'], { config: file });
  assert.equal(c.code, 2, c.stderr);
  assert.equal(c.json<HealthDocument>().checks['wipe:last']![0]!.status, 'fail');
  // And status, in one line.
  const st = cli(['status', '--json'], { config: file });
  assert.equal(st.code, 0, st.stderr);
  assert.equal(st.json().health.status, 'fail');
  assert.ok(st.json().health.failing.includes('wipe:last'));
  assert.match(cli(['status'], { config: file }).stdout, /^health\s+fail\s+wipe:last; published /m);
});
