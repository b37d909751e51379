// A directory the agent must write (stateDir, or runtimeDir's power lock): made if
// missing, or a clear error at once naming the path and the setting (never a retry).
// Its own module so that taking a lock does not load SQLite.
import { accessSync, constants, mkdirSync } from 'node:fs';
import { UnavailableError } from '../errors.js';

export function prepareDir(path: string, field: string): void {
  try {
    mkdirSync(path, { recursive: true, mode: 0o700 });
    // access(2) reports a read-only filesystem (EROFS) and an immutable directory (EPERM) even to root.
    accessSync(path, constants.W_OK | constants.X_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw new UnavailableError(`${path} (${field}) is not a writable directory (${code}: ${(e as Error).message}): set ${field} to a writable directory on a real filesystem`, {
      path,
      code,
    });
  }
}
