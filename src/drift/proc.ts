// Runs a tool for a drift reader without blocking the others: asynchronous, killed when
// the kind's timeout aborts `signal`. A missing binary is "unavailable", naming the package.
import { spawn } from 'node:child_process';
import { toolMissing } from '../btrfs/exec.js';

export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class TimedOut extends Error {
  constructor(readonly command: string[]) {
    super(`${command[0]} was stopped: the check's time ran out`);
  }
}

const OUTPUT_LIMIT = 16 << 20;

export function runTool(cmd: string, args: string[], opts: { signal: AbortSignal; cwd?: string; env?: NodeJS.ProcessEnv }): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    if (opts.signal.aborted) return reject(new TimedOut([cmd, ...args]));
    const p = spawn(cmd, args, {
      cwd: opts.cwd,
      env: { ...(opts.env ?? process.env), LC_ALL: 'C' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const onAbort = () => p.kill('SIGKILL');
    opts.signal.addEventListener('abort', onAbort, { once: true });
    p.stdout.setEncoding('utf8').on('data', (d: string) => {
      if (stdout.length < OUTPUT_LIMIT) stdout += d;
    });
    p.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < OUTPUT_LIMIT) stderr += d;
    });
    p.on('error', (e: NodeJS.ErrnoException) => {
      opts.signal.removeEventListener('abort', onAbort);
      if (e.code === 'ENOENT') reject(toolMissing(cmd, args));
      else reject(e);
    });
    p.on('close', (code) => {
      opts.signal.removeEventListener('abort', onAbort);
      if (opts.signal.aborted) reject(new TimedOut([cmd, ...args]));
      else resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

/** The last meaningful line of a tool's error output, for a one-line summary. */
export function lastLine(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^warning:/.test(l) && !/^\(use '--show-trace'/.test(l));
  const errorLine = lines.find((l) => l.startsWith('error:'));
  return (errorLine ?? lines[lines.length - 1] ?? 'no error output').slice(0, 300);
}
