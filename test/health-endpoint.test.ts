// The real endpoint (the bundled CLI's serve-health) inside a network namespace made
// here: tailscale0 (a TUN device, as Tailscale's own) with this host's tailnet address
// and some peers' addresses, another interface with a non-tailnet address, and a
// stand-in for tailscaled's LocalAPI on a unix socket. Clients run in the namespace.
// Only addresses inside this namespace (and its loopback) are ever targets.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { publishState } from '../src/health/publish.js';
import { CLI } from './helpers/cli.js';
import { skipUnless, STRICT } from './helpers/env.js';
import { sampleState } from './helpers/health.js';
import { startLocalApi, type LocalApiStandIn } from './helpers/localapi.js';

const SELF = '100.100.7.1';
const TAGGED = '100.100.7.2'; // tag:monitor: allowed
const STRANGER = '100.100.7.3'; // not known to tailscaled
const ALICE = '100.100.7.4'; // user alice@example.com: allowed by login name
const OTHER_TAG = '100.100.7.5'; // tag:web: not allowed
const NOT_TAILNET = '192.0.2.10';
const SELF6 = 'fd7a:115c:a1e0::7:1';
const TAGGED6 = 'fd7a:115c:a1e0::7:2';
const STRANGER6 = 'fd7a:115c:a1e0::7:3';
const PORT = 9473;

/** The HTTP client run inside the namespace: prints the status code or the error code. */
const CLIENT = `
const o = JSON.parse(process.argv[1]);
const u = new URL(o.url);
const req = require('http').request({ host: u.hostname.replace(/^\\[|\\]$/g, ''), port: u.port, path: u.pathname, method: o.method || 'GET', localAddress: o.from, timeout: 5000 }, (res) => {
  res.resume();
  res.on('end', () => console.log(res.statusCode));
});
req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
req.on('error', (e) => console.log(e.code || e.message));
req.end();`;

/** Sends argv[2] as raw bytes to loopback port argv[1]; prints the first line of the answer. */
const RAW_CLIENT = `
const s = require('net').connect(Number(process.argv[1]), '127.0.0.1', () => s.write(process.argv[2]));
let got = '';
s.on('data', (d) => (got += d));
s.on('error', () => {});
s.on('close', () => console.log(got.split('\\r\\n')[0]));`;

function tunMissing(): string | false {
  if (existsSync('/dev/net/tun')) return false;
  const why = 'needs /dev/net/tun (tailscale0 is a TUN device, as Tailscale makes it)';
  if (STRICT) throw new Error(`PANTHERAGENT_TEST_STRICT=1 but this test cannot run: ${why}`);
  return why;
}
const skip = skipUnless({ root: true, commands: ['ip', 'ss'] }) || tunMissing();

test('serve-health in a network namespace: listening, authorisation, limits', { skip, timeout: 60_000 }, async (t) => {
  const ns = `pa-health-${process.pid}`;
  const dir = mkdtempSync(join(tmpdir(), 'pantheragent-health-'));
  let server: ChildProcess | null = null;
  let api: LocalApiStandIn | null = null;
  t.after(async () => {
    server?.kill('SIGKILL');
    await api?.close();
    spawnSync('ip', ['netns', 'del', ns]);
    rmSync(dir, { recursive: true, force: true });
  });
  /** A command inside the namespace. */
  const run = (cmd: string[]) =>
    new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const p = spawn('ip', ['netns', 'exec', ns, ...cmd], { stdio: ['ignore', 'pipe', 'ignore'] });
      let stdout = '';
      p.stdout.on('data', (d) => (stdout += d));
      p.on('close', (code) => resolve({ code, stdout }));
    });
  const ip = (...args: string[]) => {
    const r = spawnSync('ip', ['-n', ns, ...args], { encoding: 'utf8' });
    assert.equal(r.status, 0, `ip -n ${ns} ${args.join(' ')}: ${r.stderr}`);
  };
  assert.equal(spawnSync('ip', ['netns', 'add', ns]).status, 0, 'ip netns add');
  ip('link', 'set', 'lo', 'up');
  ip('tuntap', 'add', 'dev', 'tailscale0', 'mode', 'tun');
  ip('link', 'set', 'tailscale0', 'up');
  // The peers' addresses, for clients to send from, on an interface of their own: tailscale0
  // gets this host's address only, later, so the endpoint must wait for it.
  ip('tuntap', 'add', 'dev', 'ts-peers', 'mode', 'tun');
  for (const a of [TAGGED, STRANGER, ALICE, OTHER_TAG]) ip('addr', 'add', `${a}/32`, 'dev', 'ts-peers');
  // nodad: usable at once (no duplicate address detection on a link without carrier).
  for (const a of [TAGGED6, STRANGER6]) ip('addr', 'add', `${a}/128`, 'dev', 'ts-peers', 'nodad');
  ip('link', 'set', 'ts-peers', 'up');
  ip('link', 'add', 'eth-pa', 'type', 'bridge');
  ip('addr', 'add', `${NOT_TAILNET}/24`, 'dev', 'eth-pa');
  ip('link', 'set', 'eth-pa', 'up');

  const runtimeDir = join(dir, 'run');
  mkdirSync(runtimeDir);
  publishState(runtimeDir, sampleState(Date.now()));
  const cfg = join(dir, 'config.json');
  writeFileSync(
    cfg,
    JSON.stringify({
      host: 'testhost',
      stateDir: join(dir, 'state'),
      runtimeDir,
      power: { enable: false },
      health: {
        port: PORT,
        allow: { tags: ['tag:monitor'], users: ['alice@example.com'] },
        tailscaleSocket: join(dir, 'tailscaled.sock'),
        limits: { headersTimeoutMs: 300, requestTimeoutMs: 600, whoisTimeoutMs: 300, retryMs: 100 },
      },
    }),
  );
  server = spawn('ip', ['netns', 'exec', ns, process.execPath, CLI, '--config', cfg, 'serve-health'], {
    env: { ...process.env, PANTHERAGENT_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  /**
   * One HTTP request from inside the namespace (node, from a given source address):
   * the status code, or the error code when there was no answer (ECONNREFUSED).
   * Asynchronous: the LocalAPI stand-in answers from this process.
   */
  const get = async (url: string, opts: { from?: string; method?: string } = {}): Promise<number | string> => {
    const out = (await run([process.execPath, '-e', CLIENT, JSON.stringify({ url, ...opts })])).stdout.trim();
    return /^\d+$/.test(out) ? Number(out) : out;
  };
  let log = '';
  server.stderr!.on('data', (d) => (log += d));
  /** Waits for a log line of the server (no sleeping: the server says when). */
  const logSays = (text: string) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!log.includes(text)) return;
        clearTimeout(timer);
        server!.stderr!.off('data', check);
        resolve();
      };
      const timer = setTimeout(() => reject(new Error(`serve-health never logged "${text}":\n${log}`)), 15_000);
      server!.stderr!.on('data', check);
      server!.once('exit', (code) => reject(new Error(`serve-health exited (${code}):\n${log}`)));
      check();
    });

  // tailscaled is not up yet and tailscale0 has no address: loopback only, and it keeps looking.
  await logSays('no Tailscale address yet');
  assert.equal(await get(`http://127.0.0.1:${PORT}/livez`), 200);
  ip('addr', 'add', `${SELF}/32`, 'dev', 'tailscale0');
  ip('addr', 'add', `${SELF6}/128`, 'dev', 'tailscale0', 'nodad');
  api = await startLocalApi(join(dir, 'tailscaled.sock'), {
    selfIPs: [SELF, SELF6],
    peers: [
      { ip: TAGGED, name: 'monitor', tags: ['tag:monitor'] },
      { ip: TAGGED6, name: 'monitor6', tags: ['tag:monitor'] },
      { ip: ALICE, name: 'laptop', loginName: 'alice@example.com' },
      { ip: OTHER_TAG, name: 'web', tags: ['tag:web'] },
    ],
  });
  // Found through LocalAPI or on tailscale0, whichever it asks first; both families.
  await logSays(`listening on http://${SELF}:${PORT}`);
  await logSays(`listening on http://[${SELF6}]:${PORT}`);

  const tailnetHealth = `http://${SELF}:${PORT}/health`;

  await t.test('listens on loopback and the tailnet addresses only', async () => {
    const ss = (await run(['ss', '-Hltn'])).stdout;
    const local = ss
      .split('\n')
      .filter(Boolean)
      .map((l) => l.trim().split(/\s+/)[3]!)
      .sort();
    assert.deepEqual(local, [`${SELF}:${PORT}`, `[${SELF6}]:${PORT}`, `127.0.0.1:${PORT}`, `[::1]:${PORT}`].sort());
    assert.equal(await get(`http://${NOT_TAILNET}:${PORT}/health`), 'ECONNREFUSED', 'nothing listens on the non-tailnet address');
  });

  await t.test('loopback is allowed', async () => {
    assert.equal(await get(`http://127.0.0.1:${PORT}/health`), 200);
    assert.equal(await get(`http://127.0.0.1:${PORT}/livez`), 200);
    assert.equal(await get(`http://127.0.0.1:${PORT}/readyz`), 200);
    assert.equal(await get(`http://127.0.0.1:${PORT}/metrics`), 200);
  });

  await t.test('a peer with an allowed tag gets 200; by login name too', async () => {
    assert.equal(await get(tailnetHealth, { from: TAGGED }), 200);
    assert.equal(await get(tailnetHealth, { from: ALICE }), 200);
    assert.equal(await get(`http://[${SELF6}]:${PORT}/health`, { from: TAGGED6 }), 200, 'over IPv6 too');
    assert.ok(api!.requests.some((r) => r.startsWith(`/localapi/v0/whois?addr=${encodeURIComponent(`[${TAGGED6}]:`)}`)), 'whois asked with [IP]:PORT');
    assert.ok(api!.requests.some((r) => r.startsWith(`/localapi/v0/whois?addr=${encodeURIComponent(TAGGED + ':')}`)), 'whois asked with IP:PORT');
  });

  await t.test('an unknown peer, or one without an allowed tag, gets 403', async () => {
    assert.equal(await get(tailnetHealth, { from: STRANGER }), 403);
    assert.equal(await get(tailnetHealth, { from: OTHER_TAG }), 403);
    assert.equal(await get(`http://[${SELF6}]:${PORT}/health`, { from: STRANGER6 }), 403);
    assert.equal(await get(tailnetHealth, { from: STRANGER, method: 'POST' }), 403, 'refused before anything else');
  });

  await t.test('POST and other methods: 405; HEAD: 200', async () => {
    assert.equal(await get(`http://127.0.0.1:${PORT}/health`, { method: 'POST' }), 405);
    assert.equal(await get(tailnetHealth, { from: TAGGED, method: 'DELETE' }), 405);
    assert.equal(await get(`http://127.0.0.1:${PORT}/health`, { method: 'HEAD' }), 200);
  });

  await t.test('a 70 KB header is rejected and the server goes on', async () => {
    // Raw bytes: the whole request is in the socket before the server answers.
    const big = `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(70 * 1024)}\r\n\r\n`;
    const r = await run([process.execPath, '-e', RAW_CLIENT, String(PORT), big]);
    assert.match(r.stdout, /^HTTP\/1\.1 431 /);
    assert.equal(await get(`http://127.0.0.1:${PORT}/livez`), 200);
    assert.equal(server!.exitCode, null);
  });

  await t.test('a slow client is cut off', async () => {
    // Sends a header line every 100 ms and never finishes: the 300 ms headers timeout ends it.
    const script = `
      const s = require('net').connect(${PORT}, '127.0.0.1');
      const t0 = Date.now(); let got = '';
      s.write('GET /health HTTP/1.1\\r\\nHost: x\\r\\n');
      const iv = setInterval(() => s.write('X-Slow: 1\\r\\n'), 100);
      s.on('data', (d) => (got += d));
      s.on('error', () => {});
      s.on('close', () => { clearInterval(iv); console.log(JSON.stringify({ ms: Date.now() - t0, got: got.split('\\r\\n')[0] })); process.exit(0); });
      setTimeout(() => { console.log(JSON.stringify({ ms: -1 })); process.exit(0); }, 8000);`;
    const r = await run([process.execPath, '-e', script]);
    const out = JSON.parse(r.stdout.trim().split('\n')[0]!) as { ms: number; got?: string };
    // The deadline is checked every 150 ms (half the timeout): cut off well within a second.
    assert.ok(out.ms >= 300 && out.ms < 1500, `cut off after ${out.ms} ms`);
    assert.match(out.got ?? '', /^HTTP\/1.1 408/);
    assert.equal(await get(`http://127.0.0.1:${PORT}/livez`), 200);
  });

  await t.test('LocalAPI slow, malformed or down: 403 (fail closed)', async () => {
    api!.delayMs = 1000;
    assert.equal(await get(tailnetHealth, { from: TAGGED }), 403);
    api!.delayMs = 0;
    api!.whoisBody = '{"Node": null}';
    assert.equal(await get(tailnetHealth, { from: TAGGED }), 403);
    api!.whoisBody = null;
    assert.equal(await get(tailnetHealth, { from: TAGGED }), 200, 'allowed again once LocalAPI answers');
    await api!.close();
    assert.equal(await get(tailnetHealth, { from: TAGGED }), 403);
    assert.equal(await get(`http://127.0.0.1:${PORT}/health`), 200, 'loopback does not need LocalAPI');
  });

  await t.test('SIGTERM stops it', async () => {
    const exited = new Promise<number | null>((resolve) => server!.on('exit', (code) => resolve(code)));
    server!.kill('SIGTERM');
    assert.equal(await exited, 0);
    server = null;
  });
});
