// The one hand-over between the root daemon and the unprivileged endpoint: a JSON file
// in runtimeDir, replaced atomically (temp file, fsync, rename, fsync of the directory),
// so a reader sees the old document or the new one, never half of one.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/fsutil.js';
import { HealthStateSchema, type HealthState } from './state.js';

const STATE_FILE = 'health.json';

export const statePath = (runtimeDir: string) => join(runtimeDir, STATE_FILE);

export function publishState(runtimeDir: string, state: HealthState): void {
  // systemd makes runtimeDir (RuntimeDirectory=); by hand, it may not exist yet.
  mkdirSync(runtimeDir, { recursive: true, mode: 0o755 });
  // World-readable: the endpoint runs as another (dynamic) user and only reads it.
  writeFileAtomic(statePath(runtimeDir), JSON.stringify(state) + '\n', 0o644);
}

export type ReadState = { ok: true; state: HealthState } | { ok: false; why: string };

/** A published state larger than this is not ours. */
const MAX_BYTES = 4 * 1024 * 1024;

export function parseState(text: string, path: string): ReadState {
  if (text.length > MAX_BYTES) return { ok: false, why: `${path} is larger than ${MAX_BYTES} bytes` };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return { ok: false, why: `${path} is not JSON: ${(e as Error).message}` };
  }
  const r = HealthStateSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0]!;
    return { ok: false, why: `${path} is not a health state: ${i.path.join('.') || '(root)'}: ${i.message}` };
  }
  return { ok: true, state: r.data };
}

export function readState(runtimeDir: string): ReadState {
  const path = statePath(runtimeDir);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { ok: false, why: code === 'ENOENT' ? `no health state at ${path}: is pantheragent.service (pantheragent daemon) running?` : `cannot read ${path}: ${(e as Error).message}` };
  }
  return parseState(text, path);
}
