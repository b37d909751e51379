// Pure parsers for btrfs-progs output (LC_ALL=C). Each rejects what it does not
// understand instead of guessing: a format change must fail loudly, not mislead.
import { ParseError } from '../errors.js';

export interface SubvolumeInfo {
  id: number;
  gen: number;
  cgen: number;
  parent: number;
  topLevel: number;
  parentUuid: string | null;
  receivedUuid: string | null;
  uuid: string;
  /** Path from the filesystem's top level (subvolid 5), as listed (invalid UTF-8 shows as U+FFFD). */
  path: string;
  /**
   * Set when the path cannot be trusted as a name: it holds a newline or another
   * control character, is not valid UTF-8, or its line is ambiguous (another entry
   * claims the same id, UUID or path). Such a subvolume is listed (escaped) and
   * never acted on: the agent only ever makes plain names.
   */
  odd?: string;
}

// UUID fields are checked for their shape: a line that only looks like an entry (a
// name forging one) but gets a field wrong is a continuation, not an entry.
const U = '(-|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})';
const LIST_RE = new RegExp(
  `^ID (\\d+) gen (\\d+) cgen (\\d+) parent (\\d+) top level (\\d+) parent_uuid ${U}\\s+received_uuid ${U}\\s+uuid ${U} path ([^]*)$`,
);

const uuidOrNull = (s: string) => (s === '-' ? null : s);

/**
 * A name as people can read it on one line: control characters as \n, \t or \xNN,
 * the replacement character of invalid UTF-8 as \ufffd, and a backslash doubled
 * (only when something needed escaping, so plain names print as they are).
 */
export function escapeName(name: string): string {
  if (!oddCharacters(name)) return name;
  return name.replace(/[\\\p{Cc}\ufffd]/gu, (c) => {
    if (c === '\\') return '\\\\';
    if (c === '\n') return '\\n';
    if (c === '\t') return '\\t';
    if (c === '\ufffd') return '\\ufffd';
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
}

/** Why a name is odd (control characters, invalid UTF-8), or null for a plain name. */
export function oddCharacters(name: string): string | null {
  if (name.includes('\n')) return 'the name contains a newline';
  if (/\p{Cc}/u.test(name)) return 'the name contains control characters';
  if (name.includes('\ufffd')) return 'the name is not valid UTF-8';
  return null;
}

/**
 * `btrfs subvolume list -p -c -u -q -R <mnt>`. btrfs-progs prints each path raw, so
 * a name with a newline (any user may create a subvolume in their home) spills onto
 * the next line(s): a line that is not an entry continues the previous entry's path.
 * Such a spilled name could even forge an entry line, so entries that share an id, a
 * UUID or a path are all marked odd: the forgery and the real one alike are then left
 * alone rather than trusted. Never throws on odd names; throws only when the output
 * does not start with an entry (the format changed).
 */
export function parseSubvolumeList(out: string): SubvolumeInfo[] {
  const res: SubvolumeInfo[] = [];
  const lines = out.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  for (const line of lines) {
    const m = LIST_RE.exec(line);
    if (!m) {
      const prev = res[res.length - 1];
      if (!prev) throw new ParseError('btrfs subvolume list output', line, 'unexpected line format');
      prev.path += '\n' + line;
      continue;
    }
    res.push({
      id: Number(m[1]),
      gen: Number(m[2]),
      cgen: Number(m[3]),
      parent: Number(m[4]),
      topLevel: Number(m[5]),
      parentUuid: uuidOrNull(m[6]!),
      receivedUuid: uuidOrNull(m[7]!),
      uuid: m[8]!,
      path: m[9]!.replace(/^<FS_TREE>\//, ''),
    });
  }
  const seen = { id: new Map<number, number>(), uuid: new Map<string, number>(), path: new Map<string, number>() };
  const count = <K>(m: Map<K, number>, k: K) => m.set(k, (m.get(k) ?? 0) + 1);
  for (const e of res) {
    count(seen.id, e.id);
    count(seen.uuid, e.uuid);
    count(seen.path, e.path);
  }
  const byId = new Map(res.map((e) => [e.id, e]));
  for (const e of res) {
    const parent = e.parent === 5 ? null : byId.get(e.parent);
    const why = oddCharacters(e.path);
    if (why) e.odd = why;
    else if (seen.id.get(e.id)! > 1 || seen.uuid.get(e.uuid)! > 1 || seen.path.get(e.path)! > 1) {
      e.odd = 'another listed entry claims the same id, UUID or path (a name with a newline can forge a line)';
    } else if (e.parent !== e.topLevel || (parent && !e.path.startsWith(parent.path + '/'))) {
      e.odd = 'its path does not lie in its parent subvolume (a name with a newline can forge a line)';
    }
  }
  return res;
}

export interface SubvolumeShow {
  name: string;
  uuid: string | null;
  parentUuid: string | null;
  id: number;
  generation: number;
  genAtCreation: number;
  readonly: boolean;
  creationTime: string | null;
}

/** `btrfs subvolume show <path>` */
export function parseSubvolumeShow(out: string): SubvolumeShow {
  const lines = out.split('\n');
  const fields = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const m = /^\s+([A-Za-z][A-Za-z ()]*?):\s*(.*)$/.exec(line);
    if (m) fields.set(m[1]!, m[2]!.trim());
  }
  const need = (k: string): string => {
    const v = fields.get(k);
    if (v === undefined) throw new ParseError('btrfs subvolume show output', out.slice(0, 200), `missing field "${k}"`);
    return v;
  };
  const num = (k: string) => {
    const v = Number(need(k));
    if (!Number.isInteger(v)) throw new ParseError('btrfs subvolume show output', need(k), `field "${k}" is not a number`);
    return v;
  };
  return {
    name: need('Name'),
    uuid: uuidOrNull(need('UUID')),
    parentUuid: uuidOrNull(need('Parent UUID')),
    id: num('Subvolume ID'),
    generation: num('Generation'),
    genAtCreation: num('Gen at creation'),
    readonly: /\breadonly\b/.test(need('Flags')),
    creationTime: fields.get('Creation time') ?? null,
  };
}

/** `btrfs property get -ts <path> ro` → "ro=true" */
export function parseRoProperty(out: string): boolean {
  const m = /^ro=(true|false)$/m.exec(out.trim());
  if (!m) throw new ParseError('btrfs property get ro output', out, 'expected ro=true or ro=false');
  return m[1] === 'true';
}

export interface FindNewEntry {
  inode: number;
  gen: number;
  path: string;
}

export interface FindNewResult {
  entries: FindNewEntry[];
  /** The transid marker: the generation to use as the next baseline. */
  marker: number;
}

const FIND_NEW_RE = /^inode (\d+) file offset \d+ (?:len|prealloc) \d+ disk start \d+ offset \d+ gen (\d+) flags \S+ (.*)$/;

/** `btrfs subvolume find-new <path> <gen>`: files with data extents newer than gen. */
export function parseFindNew(out: string): FindNewResult {
  const entries: FindNewEntry[] = [];
  let marker: number | null = null;
  for (const line of out.split('\n')) {
    if (line === '') continue;
    const t = /^transid marker was (\d+)$/.exec(line);
    if (t) {
      marker = Number(t[1]);
      continue;
    }
    const m = FIND_NEW_RE.exec(line);
    if (!m) throw new ParseError('btrfs subvolume find-new output', line, 'unexpected line format');
    entries.push({ inode: Number(m[1]), gen: Number(m[2]), path: m[3]! });
  }
  if (marker === null) throw new ParseError('btrfs subvolume find-new output', out.slice(-200), 'no "transid marker" line');
  return { entries, marker };
}

export interface MountInfo {
  mountId: number;
  parentId: number;
  /** MAJOR:MINOR of the filesystem (its superblock): the same for every mount of one Btrfs filesystem, in every namespace. */
  dev: string;
  /** Root of the mount within its filesystem (for Btrfs: the subvolume path, e.g. "/@persist"). */
  root: string;
  mountPoint: string;
  options: string;
  fsType: string;
  source: string;
  superOptions: string;
}

const unescapeMount = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

/** /proc/self/mountinfo (proc(5)). */
export function parseMountInfo(text: string): MountInfo[] {
  const res: MountInfo[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const [pre, post] = line.split(' - ');
    if (pre === undefined || post === undefined) throw new ParseError('mountinfo', line, 'no " - " separator');
    const a = pre.split(' ');
    const b = post.split(' ');
    if (a.length < 6 || b.length < 3) throw new ParseError('mountinfo', line, 'too few fields');
    res.push({
      mountId: Number(a[0]),
      parentId: Number(a[1]),
      dev: a[2]!,
      root: unescapeMount(a[3]!),
      mountPoint: unescapeMount(a[4]!),
      options: a[5]!,
      fsType: b[0]!,
      source: unescapeMount(b[1]!),
      superOptions: b[2]!,
    });
  }
  return res;
}

/** The subvolid of a Btrfs mount, from its super options. */
export function mountSubvolId(m: MountInfo): number | null {
  const x = /(?:^|,)subvolid=(\d+)/.exec(m.superOptions);
  return x ? Number(x[1]) : null;
}

/** `btrfs subvolume get-default <mnt>` → "ID 5 (FS_TREE)" or "ID 256 gen 9 top level 5 path @root" */
export function parseGetDefault(out: string): number {
  const m = /^ID (\d+)/.exec(out.trim());
  if (!m) throw new ParseError('btrfs subvolume get-default output', out, 'expected "ID <n> ..."');
  return Number(m[1]);
}

export interface QgroupSize {
  referenced: number;
  exclusive: number;
}

/** `btrfs qgroup show --raw <mnt>`: level-0 qgroups by subvolume id. */
export function parseQgroupShow(out: string): Map<number, QgroupSize> {
  const sizes = new Map<number, QgroupSize>();
  for (const line of out.split('\n')) {
    if (line.trim() === '' || /^(Qgroupid|-{4})/.test(line)) continue;
    const m = /^(\d+)\/(\d+)\s+(\d+)\s+(\d+)(?:\s|$)/.exec(line);
    if (!m) throw new ParseError('btrfs qgroup show output', line, 'unexpected line format');
    if (m[1] === '0') sizes.set(Number(m[2]), { referenced: Number(m[3]), exclusive: Number(m[4]) });
  }
  return sizes;
}
