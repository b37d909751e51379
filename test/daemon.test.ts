// The daemon: in-process with an injected scheduler (which job runs when is the test's
// call, no timers), then the real bundled CLI on real Btrfs: SIGHUP reloads, an invalid
// config is refused and the old one stays, SIGTERM stops it within a second, and
// readiness reaches $NOTIFY_SOCKET through systemd-notify.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../src/config/load.js';
import { Daemon, DAEMON_JOBS, type DaemonOptions, type Scheduler } from '../src/daemon/daemon.js';
import type { DriftCheck } from '../src/drift/types.js';
import { readState } from '../src/health/publish.js';
import { openAgent } from '../src/agent.js';
import { createLogger } from '../src/util/log.js';
import { layoutHost, makeBtrfs } from './helpers/btrfs.js';
import { CLI, cli, writeConfig } from './helpers/cli.js';
import { BTRFS_REQ, missing, skipUnless } from './helpers/env.js';

class FakeScheduler implements Scheduler {
  jobs = new Map<string, { cron: string; fn: () => Promise<void>; stopped: boolean }>();
  schedule(name: string, cron: string, fn: () => Promise<void>) {
    const job = { cron, fn, stopped: false };
    this.jobs.set(name, job);
    return { stop: () => void (job.stopped = true) };
  }
  fire(name: string) {
    return this.jobs.get(name)!.fn();
  }
}

function tempConfig(dir: string, host: string, extra: Record<string, unknown> = {}): string {
  const file = join(dir, 'config.json');
  // No Btrfs here: the device does not exist, so every filesystem fact is "unknown, because".
  writeFileSync(file, JSON.stringify({ host, stateDir: join(dir, 'state'), runtimeDir: dir, btrfs: { device: join(dir, 'no-such-device') }, power: { enable: false }, ...extra }));
  return file;
}

test('daemon in-process: schedules, publishing, reload, drift, stop', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pantheragent-daemon-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = tempConfig(dir, 'before');
  const scheduler = new FakeScheduler();
  const stored: DriftCheck[][] = [];
  let ready = 0;
  let now = Date.parse('2026-11-30T12:00:00Z');
  const opens: boolean[] = [];
  const opts: DaemonOptions = {
    configPath: file,
    log: createLogger('silent'),
    loadConfig,
    openAgent: (_c, _l, o) => {
      opens.push(o.mutating);
      throw new Error('no Btrfs in this test');
    },
    scheduler,
    now: () => now,
    onReady: async () => void ready++,
    pieces: {
      readDrift: null,
      runDrift: async () => [{ kind: 'units', status: 'drift', summary: '1 failed unit', details: {}, measuredAt: new Date(now).toISOString() }],
      storeDrift: (_db, checks) => void stored.push(checks),
      powerSummary: async () => null,
      profileDrift: async () => {
        verified++;
        return { status: 'ok', summary: 'as declared', details: {} };
      },
    },
  };
  let verified = 0;
  const d = new Daemon(opts, Daemon.load(opts));
  await d.start();
  assert.equal(ready, 1, 'ready once the first state is out');
  assert.deepEqual(opens.slice(0, 2), [true, false], 'adoption (mutating) first, then publishing (read-only)');
  assert.deepEqual([...scheduler.jobs].map(([n, j]) => [n, j.cron]), DAEMON_JOBS.map((j) => [j.name, j.cron]));
  let s = readState(dir);
  assert.ok(s.ok);
  assert.equal(s.state.host, 'before');
  assert.equal(s.state.collectedAt, '2026-11-30T12:00:00.000Z');
  assert.equal(s.state.snapshots.ok, false);
  assert.match(s.state.snapshots.ok ? '' : s.state.snapshots.why, /could not be opened: no Btrfs in this test/);
  assert.deepEqual(s.state.power, { ok: true, value: null });

  // Drift: run outside the queue, stored, then published.
  await scheduler.fire('drift');
  assert.equal(stored.length >= 1, true);
  assert.equal(stored.at(-1)![0]!.kind, 'units');

  // The clock moves; the publish job publishes.
  now += 60_000;
  await scheduler.fire('publish');
  s = readState(dir);
  assert.ok(s.ok && s.state.collectedAt === '2026-11-30T12:01:00.000Z');
  assert.equal(verified, 0, 'power.enable is false in this config: nothing to verify');

  // An invalid config is refused; the old one stays in force.
  writeFileSync(file, JSON.stringify({ host: 'Not A Hostname' }));
  assert.equal(await d.reload(), false);
  assert.equal(d.config.host, 'before');
  // Valid in the schema, invalid across sections (thresholds of an unknown source): refused too.
  tempConfig(dir, 'after', { health: { snapshots: { '@nope': { warnAfter: '1h' } } } });
  assert.equal(await d.reload(), false);
  await scheduler.fire('publish');
  s = readState(dir);
  assert.ok(s.ok && s.state.host === 'before');

  // A valid one replaces it and is published at once.
  tempConfig(dir, 'after');
  assert.equal(await d.reload(), true);
  s = readState(dir);
  assert.ok(s.ok && s.state.host === 'after');

  d.stop();
  assert.ok([...scheduler.jobs.values()].every((j) => j.stopped));
  const before = readFileSync(join(dir, 'health.json'), 'utf8');
  now += 60_000;
  await scheduler.fire('publish');
  assert.equal(readFileSync(join(dir, 'health.json'), 'utf8'), before, 'nothing runs after stop');
});

test('daemon: power verified on its schedule and after a resume', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pantheragent-daemon-power-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = tempConfig(dir, 'laptop', { power: { enable: true } });
  const scheduler = new FakeScheduler();
  let now = Date.parse('2026-11-30T12:00:00Z');
  let verified = 0;
  const opts: DaemonOptions = {
    configPath: file,
    log: createLogger('silent'),
    loadConfig,
    openAgent: () => {
      throw new Error('no Btrfs in this test');
    },
    scheduler,
    now: () => now,
    pieces: {
      readDrift: null,
      runDrift: null,
      storeDrift: null,
      powerSummary: async () => null,
      profileDrift: async () => (verified++, { status: 'drift', summary: 'EPP differs', details: {} }),
    },
  };
  const d = new Daemon(opts, Daemon.load(opts));
  await d.start();
  await scheduler.fire('power');
  assert.equal(verified, 1);
  now += 60_000;
  await scheduler.fire('publish');
  assert.equal(verified, 1, 'a minute later: no resume');
  now += 3 * 3600_000; // the lid was closed
  await scheduler.fire('publish');
  assert.equal(verified, 2, 'verified again after the resume');
  d.stop();
});

test('daemon: a failed adoption does not keep the lock', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pantheragent-daemon-lock-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = tempConfig(dir, 'locky');
  const stateDir = join(dir, 'state');
  const opts: DaemonOptions = {
    configPath: file,
    log: createLogger('silent'),
    loadConfig,
    // The real openAgent: it takes the lock first, then fails to find the device.
    openAgent,
    scheduler: new FakeScheduler(),
    pieces: { readDrift: null, runDrift: null, storeDrift: null, powerSummary: null, profileDrift: null },
  };
  const d = new Daemon(opts, Daemon.load(opts));
  await d.start();
  // Another process (the snapshot timer) gets the lock at once.
  const r = spawnSync('flock', ['--exclusive', '--nonblock', join(stateDir, 'lock'), 'true']);
  assert.equal(r.status, 0, 'the lock is free');
  d.stop();
});

/** Collects a child's stderr and waits for lines in it. */
function watch(p: ChildProcess) {
  let err = '';
  p.stderr!.on('data', (d) => (err += d));
  return {
    text: () => err,
    until: (re: RegExp, ms = 15_000) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (!re.test(err)) return;
          clearTimeout(timer);
          p.stderr!.off('data', check);
          resolve();
        };
        const timer = setTimeout(() => reject(new Error(`never saw ${re}:\n${err}`)), ms);
        p.stderr!.on('data', check);
        check();
      }),
  };
}

test('daemon CLI on real Btrfs: SIGHUP reload, invalid config refused, SIGTERM within a second', { skip: skipUnless(BTRFS_REQ), timeout: 60_000 }, async (t) => {
  const fx = makeBtrfs();
  t.after(() => fx.cleanup());
  layoutHost(fx);
  const file = writeConfig(fx, { snapshots: { sources: { '@persist': {} } } });
  const runtimeDir = join(fx.dir, 'run');
  const p = spawn(process.execPath, [CLI, '--config', file, 'daemon'], { env: { ...process.env, PANTHERAGENT_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => void p.kill('SIGKILL'));
  const w = watch(p);
  await w.until(/pantheragent daemon started/);
  let s = readState(runtimeDir);
  assert.ok(s.ok, s.ok ? '' : s.why);
  assert.equal(s.state.host, 'testhost');
  assert.deepEqual(s.state.snapshots, { ok: true, value: [{ source: '@persist', count: 0, newest: null }] });
  assert.equal(s.state.disk.ok, true);
  // Adoption ran under the lock and gave it back: the snapshot timer's run does not wait.
  const snap = cli(['--wait', '0', 'snapshot'], { config: file });
  assert.equal(snap.code, 0, snap.stderr);

  // A valid new config: reloaded and published.
  writeConfig(fx, { host: 'renamed', snapshots: { sources: { '@persist': {} } } });
  p.kill('SIGHUP');
  await w.until(/configuration reloaded/);
  s = readState(runtimeDir);
  assert.ok(s.ok && s.state.host === 'renamed');

  // An invalid one: a clear log line, the process goes on with the old one.
  writeFileSync(file, '{"host": "renamed", "snapshots": {"minFreePercent": 200}}');
  p.kill('SIGHUP');
  await w.until(/configuration reload rejected/);
  assert.match(w.text(), /configuration reload rejected, the previous configuration stays in force: invalid configuration in .*snapshots\.minFreePercent/s);
  assert.equal(p.exitCode, null);
  writeConfig(fx, { host: 'third', snapshots: { sources: { '@persist': {} } } });
  p.kill('SIGHUP');
  await w.until(/configuration reloaded[\s\S]*configuration reload rejected[\s\S]*configuration reloaded/);
  s = readState(runtimeDir);
  assert.ok(s.ok && s.state.host === 'third');

  const t0 = Date.now();
  const exited = new Promise<number | null>((resolve) => p.on('exit', (code) => resolve(code)));
  p.kill('SIGTERM');
  assert.equal(await exited, 0);
  assert.ok(Date.now() - t0 < 1000, `stopped in ${Date.now() - t0} ms`);
});

const RECEIVER = `
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("bound", flush=True)
while True:
    msg, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(16))
    # systemd-notify waits on a barrier: the fd it passes is closed by the receiver (as systemd does).
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            os.close(int.from_bytes(data[:4], sys.byteorder))
    print(msg.decode().replace("\\n", " "), flush=True)
`;

// Node cannot receive a unix datagram, so python3 stands in for systemd's end of the
// socket. Readiness is an addition to the daemon's contract, not part of it: without
// python3 this test skips even in strict mode (python3 is not a system package here).
const notifySkip = missing({ commands: ['systemd-notify', 'python3'] }) ?? false;

test('readiness reaches $NOTIFY_SOCKET after the first state is published', { skip: notifySkip, timeout: 30_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pantheragent-notify-'));
  const sock = join(dir, 'notify.sock');
  const recv = spawn('python3', ['-c', RECEIVER, sock], { stdio: ['ignore', 'pipe', 'inherit'] });
  let heard = '';
  recv.stdout!.on('data', (d) => (heard += d));
  t.after(() => {
    recv.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  await new Promise<void>((resolve) => recv.stdout!.on('data', () => heard.includes('bound') && resolve()));
  const file = tempConfig(dir, 'notified');
  const p = spawn(process.execPath, [CLI, '--config', file, 'daemon'], { env: { ...process.env, PANTHERAGENT_LOG_LEVEL: 'info', NOTIFY_SOCKET: sock }, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => void p.kill('SIGKILL'));
  const w = watch(p);
  await w.until(/pantheragent daemon started/);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no READY=1 on the socket: ${heard}`)), 10_000);
    const check = () => heard.includes('READY=1') && (clearTimeout(timer), resolve());
    recv.stdout!.on('data', check);
    check();
  });
  assert.ok(readState(dir).ok, 'the state was published before READY=1');
  assert.doesNotMatch(w.text(), /systemd-notify .* failed/);
  const exited = new Promise((resolve) => p.on('exit', resolve));
  p.kill('SIGTERM');
  assert.equal(await exited, 0);
});
