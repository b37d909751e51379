// Reading and writing the wipe's files on the top level (plan.ts WIPE_FILES). They
// live on the Btrfs filesystem, not in stateDir, because the initrd can reach only
// that filesystem and a lost state.db must not lose the history of wipes.
import { appendFileSync, closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { exists, writeError, writeFileAtomic } from '../util/fsutil.js';
import { WIPE_FILES } from './plan.js';
import { formatRecord, parseRecord, type WipeRecord } from './record.js';

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    // A directory where the file should be reads as empty, as `read` in sh does.
    if (code === 'EISDIR') return '';
    throw e;
  }
}

/**
 * The marker's first line, or null when there is no marker. Whatever is at that path
 * counts as present (a dangling link, a directory) and then reads as "", exactly as
 * the initrd's `[ -e ] || [ -L ]` and `read` see it, so both executors ignore it alike.
 */
export function readMarkerLine(top: string): string | null {
  const path = join(top, WIPE_FILES.marker);
  if (!exists(path)) return null;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    text = '';
  }
  return text.split('\n')[0] ?? '';
}

/** Consume the marker: renamed aside (replacing an older consumed one), never deleted. */
export function consumeMarker(top: string): void {
  renameSync(join(top, WIPE_FILES.marker), join(top, WIPE_FILES.markerUsed));
}

/**
 * Ask for the next boot (or the next `pantheragent wipe`) to start from an archived
 * root: `name` is its name in the archive directory. For `rollback root`.
 */
export function writeRollbackMarker(top: string, name: string): void {
  mkdirSync(join(top, WIPE_FILES.dir), { recursive: true, mode: 0o700 });
  writeFileAtomic(join(top, WIPE_FILES.marker), name + '\n', 0o600);
}

/** The raw last record line, or null when no wipe has written one. */
export function readResultLine(top: string): string | null {
  const text = readOrNull(join(top, WIPE_FILES.result));
  return text === null ? null : text.replace(/\n$/, '');
}

/**
 * Write `record` as the last result and append it to the log. Writing the same line
 * again (a recovery finishing a wipe that had already recorded) appends nothing.
 */
export function writeRecordFiles(top: string, record: WipeRecord): string {
  const line = formatRecord(record);
  if (readResultLine(top) === line) return line;
  const log = join(top, WIPE_FILES.log);
  try {
    mkdirSync(join(top, WIPE_FILES.dir), { recursive: true, mode: 0o700 });
  } catch (e) {
    throw writeError(join(top, WIPE_FILES.dir), e);
  }
  writeFileAtomic(join(top, WIPE_FILES.result), line + '\n', 0o600);
  try {
    appendFileSync(log, line + '\n', { mode: 0o600 });
    const fd = openSync(log, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    throw writeError(log, e);
  }
  return line;
}

export type LastWipe =
  | { state: 'none' }
  | { state: 'unreadable'; line: string; error: string }
  | { state: 'recorded'; line: string; record: WipeRecord };

/** The last wipe's record as status and adoption see it. */
export function readLastWipe(top: string): LastWipe {
  const line = readResultLine(top);
  if (line === null) return { state: 'none' };
  const parsed = parseRecord(line);
  return parsed.ok ? { state: 'recorded', line, record: parsed.record } : { state: 'unreadable', line, error: parsed.error };
}
