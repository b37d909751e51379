// The wipe result record: one line of space-separated key=value pairs, written by
// both executors (the initrd script and `pantheragent wipe`) to
// <top>/.pantheragent/wipe-result (the last one) and appended to wipe.log.
// It is written by a shell script in the initrd, so the format is what sh can write
// without helpers: fixed keys, and values percent-encoded outside a safe set so that
// a value never holds a space, "=" or a newline. "-" means "none".
//
//   v=1 time=2026-11-25T22:00:00Z outcome=ok executor=initrd stamp=20261125T220000+0000
//   source=blank from=@root-blank root=@root archived=@old_roots/@root.20261125T220000+0000
//   marker=none renamed_back=no error=-
//
// (one line in the file). Unknown keys are ignored so that a newer writer stays
// readable; missing or malformed known keys make the line unreadable.

export const RECORD_VERSION = 1;

export type WipeOutcome = 'ok' | 'failed' | 'skipped';
export type WipeExecutor = 'initrd' | 'agent';
export type SourceKind = 'blank' | 'rollback';

/** What the pending root rollback marker did: none, chose the source, or was ignored (with why). */
export type MarkerState = { state: 'none' } | { state: 'used' } | { state: 'ignored'; reason: string };

export interface WipeRecord {
  version: number;
  /** ISO-8601 UTC, seconds precision: when the wipe ran (the instant of the stamp). */
  time: string;
  outcome: WipeOutcome;
  executor: WipeExecutor;
  /** The long-iso stamp the archived name uses, e.g. 20261125T220000+0000. */
  stamp: string;
  source: SourceKind;
  /** Path from the top level of the subvolume the new root was (or was to be) snapshotted from. */
  from: string;
  /** Path from the top level of the root subvolume. */
  root: string;
  /** Where the old root went (path from the top level), or null when there was none to archive. */
  archived: string | null;
  marker: MarkerState;
  /** True when the old root was renamed back after the new one could not be made. */
  renamedBack: boolean;
  error: string | null;
}

/** Characters that stand for themselves in a record value; everything else is %XX. */
const SAFE = /^[A-Za-z0-9._+@:/,-]$/;

export function encodeValue(v: string | null): string {
  if (v === null) return '-';
  if (v === '-') return '%2D';
  let out = '';
  for (const ch of v) {
    if (SAFE.test(ch)) out += ch;
    else for (const b of Buffer.from(ch, 'utf8')) out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

export function decodeValue(v: string): string | null {
  if (v === '-') return null;
  const bytes: number[] = [];
  for (let i = 0; i < v.length; i++) {
    if (v[i] === '%') {
      const hex = v.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw new Error(`bad escape "%${hex}"`);
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else bytes.push(...Buffer.from(v[i]!, 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}

export function formatMarker(m: MarkerState): string {
  return m.state === 'ignored' ? `ignored:${m.reason}` : m.state;
}

/** The keys in the order they are written; the initrd script writes the same order. */
export const RECORD_KEYS = ['v', 'time', 'outcome', 'executor', 'stamp', 'source', 'from', 'root', 'archived', 'marker', 'renamed_back', 'error'] as const;

export function formatRecord(r: WipeRecord): string {
  const values: Record<(typeof RECORD_KEYS)[number], string> = {
    v: String(r.version),
    time: encodeValue(r.time),
    outcome: r.outcome,
    executor: r.executor,
    stamp: encodeValue(r.stamp),
    source: r.source,
    from: encodeValue(r.from),
    root: encodeValue(r.root),
    archived: encodeValue(r.archived),
    marker: encodeValue(formatMarker(r.marker)),
    renamed_back: r.renamedBack ? 'yes' : 'no',
    error: encodeValue(r.error),
  };
  return RECORD_KEYS.map((k) => `${k}=${values[k]}`).join(' ');
}

export type ParsedRecord = { ok: true; record: WipeRecord } | { ok: false; error: string };

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const STAMP = /^\d{8}T\d{6}[+-]\d{4}$/;

/** Parses one record line (the whole of wipe-result, or one line of wipe.log). */
export function parseRecord(line: string): ParsedRecord {
  const text = line.replace(/\r?\n$/, '');
  if (text.includes('\n')) return { ok: false, error: 'more than one line' };
  const fields = new Map<string, string | null>();
  for (const pair of text.split(' ')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) return { ok: false, error: `"${pair.slice(0, 40)}" is not key=value` };
    const key = pair.slice(0, eq);
    if (fields.has(key)) return { ok: false, error: `key "${key}" appears twice` };
    try {
      fields.set(key, decodeValue(pair.slice(eq + 1)));
    } catch (e) {
      return { ok: false, error: `value of "${key}": ${(e as Error).message}` };
    }
  }
  const problems: string[] = [];
  const req = (k: string): string => {
    const v = fields.get(k);
    if (v === undefined || v === null) {
      problems.push(`missing ${k}`);
      return '';
    }
    return v;
  };
  const oneOf = <T extends string>(k: string, allowed: readonly T[]): T => {
    const v = req(k);
    if (v !== '' && !allowed.includes(v as T)) problems.push(`${k} must be one of ${allowed.join('|')}, not "${v}"`);
    return v as T;
  };
  const version = Number(req('v'));
  if (fields.get('v') != null && version !== RECORD_VERSION) return { ok: false, error: `record version ${fields.get('v')} is not ${RECORD_VERSION}` };
  const time = req('time');
  if (time && !ISO.test(time)) problems.push(`time "${time}" is not YYYY-MM-DDTHH:MM:SSZ`);
  const stamp = req('stamp');
  if (stamp && !STAMP.test(stamp)) problems.push(`stamp "${stamp}" is not YYYYMMDDTHHMMSS+hhmm`);
  const outcome = oneOf('outcome', ['ok', 'failed', 'skipped'] as const);
  const executor = oneOf('executor', ['initrd', 'agent'] as const);
  const source = oneOf('source', ['blank', 'rollback'] as const);
  const from = req('from');
  const root = req('root');
  const archived = fields.get('archived') ?? null;
  if (!fields.has('archived')) problems.push('missing archived');
  const markerText = req('marker');
  let marker: MarkerState = { state: 'none' };
  if (markerText === 'used' || markerText === 'none') marker = { state: markerText };
  else if (markerText.startsWith('ignored:') && markerText.length > 'ignored:'.length) marker = { state: 'ignored', reason: markerText.slice('ignored:'.length) };
  else if (markerText) problems.push(`marker must be none|used|ignored:<reason>, not "${markerText}"`);
  const renamedBack = oneOf('renamed_back', ['yes', 'no'] as const) === 'yes';
  if (!fields.has('error')) problems.push('missing error');
  const error = fields.get('error') ?? null;
  if (problems.length) return { ok: false, error: problems.join('; ') };
  return { ok: true, record: { version, time, outcome, executor, stamp, source, from, root, archived, marker, renamedBack, error } };
}
