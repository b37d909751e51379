// One flock(2) on <stateDir>/lock around every mutating command. Node has no flock,
// so a short-lived `flock` child takes it on an inherited descriptor: the lock
// belongs to the open file description, which this process keeps open, so it is held
// until this process exits (however it exits, kill -9 included).
import { spawnSync } from 'node:child_process';
import { ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';
import { prepareDir } from './dir.js';
import { join } from 'node:path';
import { LockedError, UnavailableError } from '../errors.js';

export interface Lock {
  file: string;
  fd: number;
}

function holderPid(file: string): number | null {
  try {
    const n = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}

export function acquireLock(stateDir: string, waitSeconds: number, onWait?: (pid: number | null) => void, field = 'stateDir'): Lock {
  prepareDir(stateDir, field);
  const file = join(stateDir, 'lock');
  const fd = openSync(file, 'a+', 0o600);
  const tryLock = (wait: number) =>
    spawnSync('flock', wait > 0 ? ['--exclusive', '--wait', String(wait), '3'] : ['--exclusive', '--nonblock', '3'], {
      stdio: ['ignore', 'ignore', 'pipe', fd],
    });
  let r = tryLock(0);
  if (r.error) throw new UnavailableError('"flock" was not found on PATH: install util-linux');
  if (r.status !== 0) {
    onWait?.(holderPid(file));
    r = waitSeconds > 0 ? tryLock(waitSeconds) : r;
    if (r.status !== 0) throw new LockedError(file, holderPid(file), waitSeconds);
  }
  ftruncateSync(fd, 0);
  writeSync(fd, `${process.pid}\n`, 0);
  return { file, fd };
}
