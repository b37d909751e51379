// Finds or makes the agent's mount of the Btrfs top level (subvolid 5).
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { RefusedError, UnavailableError } from '../errors.js';
import { run } from './exec.js';
import { mountSubvolId, parseMountInfo, type MountInfo } from './parse.js';

export function readMounts(systemRoot = '/'): MountInfo[] {
  return parseMountInfo(readFileSync(join(systemRoot, 'proc/self/mountinfo'), 'utf8'));
}

const isTopLevel = (m: MountInfo) => m.fsType === 'btrfs' && (mountSubvolId(m) === 5 || m.root === '/');

/**
 * The top-level mount to work on. With `configured` (btrfs.topLevel), it must already
 * be a top-level Btrfs mount. Otherwise the device is mounted at <runtimeDir>/top,
 * private so that it never propagates into other mount namespaces.
 */
export function ensureTopLevel(opts: { configured: string | null; device: string; runtimeDir: string }): string {
  const mounts = readMounts();
  if (opts.configured) {
    const m = mounts.find((x) => x.mountPoint === opts.configured);
    if (!m || !isTopLevel(m)) {
      throw new RefusedError(
        `btrfs.topLevel is ${opts.configured}, but that is not a mount of a Btrfs top level (subvolid=5). Mount it with "mount -o subvolid=5 DEVICE ${opts.configured}", or set btrfs.topLevel to null to let pantheragent mount it.`,
      );
    }
    return opts.configured;
  }
  const mp = join(opts.runtimeDir, 'top');
  const existing = mounts.filter((x) => x.mountPoint === mp);
  const top = existing[existing.length - 1];
  if (top) {
    if (!isTopLevel(top)) throw new RefusedError(`${mp} is mounted, but not as a Btrfs top level (subvolid=5): unmount it and retry.`);
    return mp;
  }
  try {
    statSync(opts.device);
  } catch {
    throw new UnavailableError(`the Btrfs device ${opts.device} (btrfs.device) does not exist: unlock or attach it, or fix btrfs.device.`);
  }
  mkdirSync(mp, { recursive: true, mode: 0o700 });
  run('mount', ['-t', 'btrfs', '-o', 'subvolid=5', opts.device, mp]);
  run('mount', ['--make-private', mp]);
  return mp;
}

/** Subvolume ids mounted anywhere on this system from the filesystem of `top`. */
export function mountedSubvolIds(mounts: MountInfo[], source: string): Set<number> {
  const ids = new Set<number>();
  for (const m of mounts) {
    if (m.fsType !== 'btrfs' || m.source !== source) continue;
    const id = mountSubvolId(m);
    if (id !== null) ids.add(id);
  }
  return ids;
}

export function mountSourceOf(mounts: MountInfo[], mountPoint: string): string | null {
  const m = mounts.filter((x) => x.mountPoint === mountPoint).pop();
  return m ? m.source : null;
}
