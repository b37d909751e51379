// Finds or makes the agent's mount of the Btrfs top level (subvolid 5), proves that
// it is the filesystem of btrfs.device, and tells which subvolumes are mounted
// anywhere on the host, in every mount namespace.
import { mkdirSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { RefusedError, UnavailableError } from '../errors.js';
import { run } from './exec.js';
import { mountSubvolId, parseMountInfo, type MountInfo } from './parse.js';
import { readBtrfsFsid } from './superblock.js';

export function readMounts(systemRoot = '/'): MountInfo[] {
  return parseMountInfo(readFileSync(join(systemRoot, 'proc/self/mountinfo'), 'utf8'));
}

const isTopLevel = (m: MountInfo) => m.fsType === 'btrfs' && (mountSubvolId(m) === 5 || m.root === '/');

/** The filesystem UUID of btrfs.device; exit 69 when it is missing or holds no Btrfs. */
function deviceFsid(device: string): string {
  const fsid = readBtrfsFsid(device);
  if (fsid === null) throw new UnavailableError(`${device} (btrfs.device) holds no Btrfs filesystem: fix btrfs.device.`, { device });
  return fsid;
}

/**
 * A top-level mount is used only when its filesystem is btrfs.device's, compared by
 * UUID from both superblocks: a second config sharing the runtime directory, or a
 * btrfs.topLevel that names another disk, must never be written to.
 */
function verifySameFilesystem(m: MountInfo, device: string, what: string): void {
  const want = deviceFsid(device);
  let got: string | null;
  try {
    got = readBtrfsFsid(m.source, `the source of ${m.mountPoint}`);
  } catch (e) {
    throw new RefusedError(`${what} ${m.mountPoint} is mounted from ${m.source}, whose filesystem cannot be read (${(e as Error).message}); unmount it or fix the config.`);
  }
  if (got !== want) {
    throw new RefusedError(
      `${what} ${m.mountPoint} holds filesystem ${got ?? '(not Btrfs)'} from ${m.source}, but btrfs.device ${device} is filesystem ${want}: refusing to work on another disk. Unmount ${m.mountPoint}, or fix btrfs.device / btrfs.topLevel.`,
      { mountPoint: m.mountPoint, expected: want, found: got },
    );
  }
}

/**
 * The top-level mount to work on. With `configured` (btrfs.topLevel), it must already
 * be a top-level Btrfs mount. Otherwise the device is mounted at <runtimeDir>/top,
 * private so that it never propagates into other mount namespaces. Either way it must
 * be the filesystem of `device`.
 */
export function ensureTopLevel(opts: { configured: string | null; device: string; runtimeDir: string }): string {
  const mounts = readMounts();
  if (opts.configured) {
    const m = mounts.filter((x) => x.mountPoint === opts.configured).pop();
    if (!m || !isTopLevel(m)) {
      throw new RefusedError(
        `btrfs.topLevel is ${opts.configured}, but that is not a mount of a Btrfs top level (subvolid=5). Mount it with "mount -o subvolid=5 DEVICE ${opts.configured}", or set btrfs.topLevel to null to let pantheragent mount it.`,
      );
    }
    verifySameFilesystem(m, opts.device, 'btrfs.topLevel');
    return opts.configured;
  }
  const mp = join(opts.runtimeDir, 'top');
  const top = mounts.filter((x) => x.mountPoint === mp).pop();
  if (top) {
    if (!isTopLevel(top)) throw new RefusedError(`${mp} is mounted, but not as a Btrfs top level (subvolid=5): unmount it and retry.`);
    verifySameFilesystem(top, opts.device, 'the top-level mount');
    return mp;
  }
  deviceFsid(opts.device);
  mkdirSync(mp, { recursive: true, mode: 0o700 });
  run('mount', ['-t', 'btrfs', '-o', 'subvolid=5', opts.device, mp]);
  run('mount', ['--make-private', mp]);
  return mp;
}

/** The MAJOR:MINOR of the filesystem mounted at `mountPoint` (the last mount there). */
function filesystemDev(mounts: MountInfo[], mountPoint: string): string | null {
  return mounts.filter((x) => x.mountPoint === mountPoint).pop()?.dev ?? null;
}

/**
 * One mountinfo per distinct mount namespace on the host (from /proc/<pid>/ns/mnt).
 * A namespace whose processes vanish while we look is skipped: nothing is mounted
 * in a namespace that no longer exists. A process that may not be inspected even by
 * root (EACCES) is skipped too. Anything else unreadable throws, so that a caller
 * deciding "is it mounted?" fails closed.
 */
function mountsInEveryNamespace(procRoot = '/proc'): MountInfo[][] {
  const seen = new Set<string>();
  const out: MountInfo[][] = [];
  for (const pid of readdirSync(procRoot)) {
    if (!/^\d+$/.test(pid)) continue;
    let ns: string;
    let text: string;
    try {
      ns = readlinkSync(join(procRoot, pid, 'ns/mnt'));
      if (seen.has(ns)) continue;
      text = readFileSync(join(procRoot, pid, 'mountinfo'), 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ESRCH' || code === 'EINVAL') continue;
      // Root with CAP_SYS_PTRACE (the agent's units keep it) reads every namespace;
      // without it, a process that is not dumpable cannot be inspected. Refusing every
      // delete for one opaque process would stop retention for good, so it is skipped.
      if (code === 'EACCES' || code === 'EPERM') continue;
      throw e;
    }
    seen.add(ns);
    out.push(parseMountInfo(text));
  }
  return out;
}

/** Subvolume ids of the filesystem `dev` (MAJOR:MINOR) mounted in any mount namespace of the host, with their mount points. */
function mountedSubvolsAnywhere(dev: string, namespaces: MountInfo[][]): Map<number, string[]> {
  const where = new Map<number, string[]>();
  for (const mounts of namespaces) {
    for (const m of mounts) {
      if (m.fsType !== 'btrfs' || m.dev !== dev) continue;
      const id = mountSubvolId(m);
      if (id === null) continue;
      const list = where.get(id) ?? [];
      if (!list.includes(m.mountPoint)) list.push(m.mountPoint);
      where.set(id, list);
    }
  }
  return where;
}

/** Subvolumes mounted anywhere on the host (every namespace) from the filesystem whose top level is mounted at `top`. */
export function mountedAnywhere(top: string): Map<number, string[]> {
  const dev = filesystemDev(readMounts(), top);
  if (dev === null) throw new RefusedError(`${top} is not a mount point: cannot tell which subvolumes are mounted, so nothing is deleted or changed.`);
  return mountedSubvolsAnywhere(dev, mountsInEveryNamespace());
}
