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
  /** Path from the filesystem's top level (subvolid 5). */
  path: string;
}

const LIST_RE =
  /^ID (\d+) gen (\d+) cgen (\d+) parent (\d+) top level (\d+) parent_uuid (\S+)\s+received_uuid (\S+)\s+uuid (\S+) path (.+)$/;

const uuidOrNull = (s: string) => (s === '-' ? null : s);

/** `btrfs subvolume list -p -c -u -q -R <mnt>` */
export function parseSubvolumeList(out: string): SubvolumeInfo[] {
  const res: SubvolumeInfo[] = [];
  for (const line of out.split('\n')) {
    if (line.trim() === '') continue;
    const m = LIST_RE.exec(line);
    if (!m) throw new ParseError('btrfs subvolume list output', line, 'unexpected line format');
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

export interface FilesystemUsage {
  deviceSize: number;
  used: number;
  freeEstimated: number;
  /** Free space as a percentage of the device size (0–100). */
  freePercent: number;
}

/** `btrfs filesystem usage -b <path>` */
export function parseFilesystemUsage(out: string): FilesystemUsage {
  const get = (label: string): number => {
    const m = new RegExp(`^\\s*${label.replace(/[()]/g, '\\$&')}:\\s+(\\d+)`, 'm').exec(out);
    if (!m) throw new ParseError('btrfs filesystem usage output', out.slice(0, 200), `missing "${label}"`);
    return Number(m[1]);
  };
  const deviceSize = get('Device size');
  const used = get('Used');
  const freeEstimated = get('Free (estimated)');
  return { deviceSize, used, freeEstimated, freePercent: deviceSize > 0 ? (100 * freeEstimated) / deviceSize : 0 };
}

export interface MountInfo {
  mountId: number;
  parentId: number;
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
