// Runs system tools. Every failure becomes a typed error carrying the command, its
// exit code and stderr; a missing binary is "unavailable" (exit 69) and names the package.
import { spawnSync } from 'node:child_process';
import { CommandError, UnavailableError } from '../errors.js';

const PACKAGE_OF: Record<string, string> = {
  btrfs: 'btrfs-progs',
  mount: 'util-linux (mount)',
  umount: 'util-linux (mount)',
  flock: 'util-linux',
  findmnt: 'util-linux',
  nix: 'nix (Nix 2.8 or later)',
  'nix-store': 'nix',
  git: 'git',
  systemctl: 'systemd',
};

/** A tool that is not installed: exit 69, naming the package that brings it. */
export function toolMissing(cmd: string, args: string[]): UnavailableError {
  return new UnavailableError(`"${cmd}" was not found on PATH: install ${PACKAGE_OF[cmd] ?? cmd}`, { command: [cmd, ...args] });
}

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** How every tool runs: C locale (the parsers read its output), text, room for any listing. */
const spawnOptions = () => ({ encoding: 'utf8' as const, env: { ...process.env, LC_ALL: 'C' }, maxBuffer: 512 * 1024 * 1024 });

export function run(cmd: string, args: string[], opts: { allowFail?: boolean; input?: string } = {}): RunResult {
  const r = spawnSync(cmd, args, { ...spawnOptions(), input: opts.input, stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw toolMissing(cmd, args);
    throw new CommandError([cmd, ...args], null, r.error.message);
  }
  const res = { stdout: r.stdout, stderr: r.stderr, code: r.status ?? -1 };
  if (res.code !== 0 && !opts.allowFail) throw new CommandError([cmd, ...args], r.status, r.stderr);
  return res;
}

/**
 * A shell script that writes on fd 1 and fd 3: both outputs, or, when it fails, the
 * typed error naming `shown` (the command it runs). A shell reports a missing tool
 * as exit 127.
 */
export function runWithFd3(cmd: string, args: string[], shown: string[]): [string, string] {
  const r = spawnSync(cmd, args, { ...spawnOptions(), stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
  if (r.error) throw new CommandError(shown, null, r.error.message);
  if (r.status === 127) throw toolMissing(shown[0]!, shown.slice(1));
  if (r.status !== 0) throw new CommandError(shown, r.status, r.stderr);
  return [r.stdout, String(r.output[3] ?? '')];
}
