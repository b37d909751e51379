// Runs the bundled CLI (dist/pantheragent.cjs, built by `npm test` before the tests)
// against a fixture, with a config that points every path into the fixture.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { BtrfsFixture } from './btrfs.js';

export const CLI = resolve(__dirname, '../../dist/pantheragent.cjs');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  json<T = any>(): T;
}

function result(code: number | null, stdout: string, stderr: string, signal?: NodeJS.Signals | null): CliResult {
  return {
    code: code ?? (signal === 'SIGKILL' ? 137 : -1),
    stdout,
    stderr,
    json() {
      try {
        return JSON.parse(stdout);
      } catch {
        throw new Error(`stdout is not JSON (exit ${code}):\n${stdout}\nstderr:\n${stderr}`);
      }
    },
  };
}

export function cli(args: string[], opts: { config?: string; env?: Record<string, string>; input?: string } = {}): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...(opts.config ? ['--config', opts.config] : []), ...args], {
    encoding: 'utf8',
    env: { ...process.env, PANTHERAGENT_LOG_LEVEL: 'warn', ...opts.env },
    input: opts.input ?? '',
  });
  return result(r.status, r.stdout, r.stderr, r.signal);
}

export function cliAsync(args: string[], opts: { config?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  return new Promise((res) => {
    const p = spawn(process.execPath, [CLI, ...(opts.config ? ['--config', opts.config] : []), ...args], {
      env: { ...process.env, PANTHERAGENT_LOG_LEVEL: 'warn', ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code, signal) => res(result(code, out, err, signal)));
  });
}

/** Writes a config for the fixture (top level already mounted by the fixture) and returns its path. */
export function writeConfig(fx: BtrfsFixture, overrides: Record<string, any> = {}): string {
  const stateDir = join(fx.dir, 'state');
  const runtimeDir = join(fx.dir, 'run');
  mkdirSync(runtimeDir, { recursive: true });
  const config = {
    host: 'testhost',
    stateDir,
    runtimeDir,
    btrfs: { device: fx.device, topLevel: fx.top },
    power: { enable: false },
    timezone: 'UTC',
    ...overrides,
  };
  const file = join(fx.dir, 'config.json');
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}
