// Names on disk (DESIGN.md section 2): btrbk's long-iso format,
// <base>.<YYYYMMDD>T<HHMMSS><+hhmm>[_N]. We write UTC; we read any offset.

export interface ParsedName {
  base: string;
  /** The instant, ms since the epoch (UTC). */
  instant: number;
  /** Offset written in the name, minutes east of UTC. */
  offsetMinutes: number;
  /** Collision suffix _N; 0 when absent. */
  seq: number;
}

const NAME_RE = /^(.+)\.(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})([+-])(\d{2})(\d{2})(?:_(\d+))?$/;

export function parseName(name: string): ParsedName | null {
  const m = NAME_RE.exec(name);
  if (!m) return null;
  const [Y, M, D, h, mi, s, oh, om] = [m[2], m[3], m[4], m[5], m[6], m[7], m[9], m[10]].map(Number) as number[];
  if (M! < 1 || M! > 12 || D! < 1 || h! > 23 || mi! > 59 || s! > 59 || oh! > 23 || om! > 59) return null;
  const wall = Date.UTC(Y!, M! - 1, D!, h!, mi!, s!);
  const check = new Date(wall);
  if (check.getUTCDate() !== D || check.getUTCMonth() !== M! - 1) return null; // e.g. Feb 30
  const offsetMinutes = (m[8] === '-' ? -1 : 1) * (oh! * 60 + om!);
  return { base: m[1]!, instant: wall - offsetMinutes * 60_000, offsetMinutes, seq: m[11] ? Number(m[11]) : 0 };
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** UTC long-iso stamp: 20261125T220000+0000 */
export function formatStamp(instant: number): string {
  const d = new Date(instant);
  return (
    `${pad(d.getUTCFullYear(), 4)}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}` +
    `T${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}+0000`
  );
}

export function formatName(base: string, instant: number, seq = 0): string {
  return `${base}.${formatStamp(instant)}${seq > 0 ? `_${seq}` : ''}`;
}

/** The first free name for base at instant: `exists` says whether a name is taken. */
export function freeName(base: string, instant: number, exists: (name: string) => boolean): string {
  for (let seq = 0; ; seq++) {
    const name = formatName(base, instant, seq);
    if (!exists(name)) return name;
  }
}

/** "@persist" -> "@persist"; "data/@vm" -> "@vm" */
export function basenameOf(subvol: string): string {
  const parts = subvol.split('/');
  return parts[parts.length - 1]!;
}
