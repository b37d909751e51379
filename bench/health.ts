// The health endpoint under load and the daemon at rest.
// 1. /health on loopback, 50 concurrent keep-alive connections (the real serve-health
//    process): requests per second and latency percentiles. Goal: >= 5,000 req/s,
//    p99 < 10 ms on 2 cores (the load generator shares those cores).
// 2. The real daemon on a real Btrfs image, idle: RSS and CPU time (its own, and its
//    children's: the btrfs processes of the minutely publish) over BENCH_IDLE_SECONDS
//    (default 60). Goal: < 80 MB, < 0.3 s CPU per minute.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, get } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { publishState } from '../src/health/publish.js';
import { layoutHost, makeBtrfs } from '../test/helpers/btrfs.js';
import { writeConfig } from '../test/helpers/cli.js';
import { sampleState } from '../test/helpers/health.js';

const CLI = resolve(__dirname, '../dist/pantheragent.cjs');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const IDLE_SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 60);
const CONNECTIONS = 50;

function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

function startCli(args: string[], ready: RegExp): Promise<ChildProcess> {
  const p = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, PANTHERAGENT_LOG_LEVEL: 'info' }, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  return new Promise((res, rej) => {
    p.stderr!.on('data', (d) => {
      err += d;
      if (ready.test(err)) res(p);
    });
    p.on('exit', (code) => rej(new Error(`${args.join(' ')} exited ${code}: ${err}`)));
  });
}

async function load(port: number, serverPid: number): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const one = () =>
    new Promise<number>((res, rej) => {
      const t0 = process.hrtime.bigint();
      get({ host: '127.0.0.1', port, path: '/health', agent }, (r) => {
        r.resume();
        r.on('end', () => (r.statusCode === 200 ? res(Number(process.hrtime.bigint() - t0) / 1e6) : rej(new Error(`HTTP ${r.statusCode}`))));
      }).on('error', rej);
    });
  const run = async (ms: number) => {
    const lat: number[] = [];
    const end = Date.now() + ms;
    await Promise.all(Array.from({ length: CONNECTIONS }, async () => {
      while (Date.now() < end) lat.push(await one());
    }));
    return lat;
  };
  await run(1000); // warm-up: connections open, JIT warm
  const cpu0 = usage(serverPid).own;
  const t0 = Date.now();
  const lat = (await run(SECONDS * 1000)).sort((a, b) => a - b);
  const secs = (Date.now() - t0) / 1000;
  const cpu = usage(serverPid).own - cpu0;
  const pct = (p: number) => lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))]!;
  agent.destroy();
  const rps = lat.length / secs;
  console.log(`\n/health on loopback, ${CONNECTIONS} keep-alive connections, ${secs.toFixed(1)} s`);
  console.log(`  requests      ${lat.length}`);
  console.log(`  req/s         ${rps.toFixed(0).padStart(8)}   (goal >= 5000: ${rps >= 5000 ? 'met' : 'NOT met'})`);
  console.log(`  p50           ${pct(50).toFixed(2).padStart(8)} ms`);
  console.log(`  p99           ${pct(99).toFixed(2).padStart(8)} ms   (goal < 10 ms: ${pct(99) < 10 ? 'met' : 'NOT met'})`);
  console.log(`  max           ${lat[lat.length - 1]!.toFixed(2).padStart(8)} ms`);
  // What the endpoint itself spends, whatever else the cores are doing.
  console.log(`  server CPU    ${((cpu / lat.length) * 1e6).toFixed(0).padStart(8)} µs per request (${cpu.toFixed(2)} s in all)`);
  console.log(`  load average  ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')} (the generator and other work share the cores)`);
}

async function endpoint(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pantheragent-bench-health-'));
  let p: ChildProcess | null = null;
  try {
    const runtimeDir = join(dir, 'run');
    mkdirSync(runtimeDir);
    publishState(runtimeDir, sampleState(Date.now()));
    const port = await freePort();
    const cfg = join(dir, 'config.json');
    writeFileSync(cfg, JSON.stringify({ host: 'bench', stateDir: join(dir, 'state'), runtimeDir, power: { enable: false }, health: { port, listen: ['loopback'], limits: { maxConnections: 256 } } }));
    p = await startCli(['--config', cfg, 'serve-health'], /serving \/livez/);
    await load(port, p.pid!);
  } finally {
    p?.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

/** utime+stime (own) and cutime+cstime (reaped children) in seconds, and RSS in bytes. */
function usage(pid: number) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
  const tick = 100; // USER_HZ on Linux
  const rss = Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
  return { own: (f[11]! + f[12]!) / tick, children: (f[13]! + f[14]!) / tick, rss };
}

async function idleDaemon(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.log('\ndaemon idle: skipped (needs root for a loop-mounted Btrfs image)');
    return;
  }
  const fx = makeBtrfs();
  let p: ChildProcess | null = null;
  try {
    layoutHost(fx);
    const cfg = writeConfig(fx, { snapshots: { sources: { '@persist': {}, '@home': {}, '@log': {} } } });
    p = await startCli(['--config', cfg, 'daemon'], /pantheragent daemon started/);
    // Let the start-up drift run finish before measuring rest.
    await new Promise((r) => setTimeout(r, 5000));
    const a = usage(p.pid!);
    await new Promise((r) => setTimeout(r, IDLE_SECONDS * 1000));
    const b = usage(p.pid!);
    const scale = 60 / IDLE_SECONDS;
    const own = (b.own - a.own) * scale;
    const kids = (b.children - a.children) * scale;
    console.log(`\ndaemon idle over ${IDLE_SECONDS} s${scale !== 1 ? ' (scaled to a minute)' : ''}, real Btrfs, 3 sources, publishing every minute`);
    console.log(`  CPU, daemon        ${own.toFixed(3).padStart(7)} s/min   (goal < 0.3 s: ${own < 0.3 ? 'met' : 'NOT met'})`);
    console.log(`  CPU, its children  ${kids.toFixed(3).padStart(7)} s/min   (btrfs subvolume list)`);
    console.log(`  RSS                ${(b.rss / 2 ** 20).toFixed(1).padStart(7)} MiB     (goal < 80 MB: ${b.rss < 80e6 ? 'met' : 'NOT met'}; ${(a.rss / 2 ** 20).toFixed(1)} MiB at the start)`);
  } finally {
    p?.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    fx.cleanup();
  }
}

void (async () => {
  await endpoint();
  await idleDaemon();
})().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
