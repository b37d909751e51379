// The identity of a Btrfs filesystem, read from a device's primary superblock
// (64 KiB in, magic "_BHRfS_M" at 0x40, fsid at 0x20): no child process, and the
// answer is about the bytes on the device, not about what a path happens to name.
import { closeSync, openSync, readSync } from 'node:fs';
import { UnavailableError } from '../errors.js';

const SUPER_OFFSET = 0x10000;
const MAGIC = Buffer.from('_BHRfS_M', 'latin1');

const uuidOf = (b: Buffer) => {
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
};

/** The filesystem UUID of the Btrfs on `device`, or null when it holds no Btrfs. Throws UnavailableError when it cannot be read. */
export function readBtrfsFsid(device: string, field = 'btrfs.device'): string | null {
  let fd: number;
  try {
    fd = openSync(device, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UnavailableError(
      code === 'ENOENT'
        ? `the Btrfs device ${device} (${field}) does not exist: unlock or attach it, or fix ${field}.`
        : `the Btrfs device ${device} (${field}) cannot be read (${code ?? (e as Error).message}): run pantheragent as root, or fix ${field}.`,
      { device },
    );
  }
  try {
    const buf = Buffer.alloc(0x48);
    const n = readSync(fd, buf, 0, buf.length, SUPER_OFFSET);
    if (n < buf.length || !buf.subarray(0x40, 0x48).equals(MAGIC)) return null;
    return uuidOf(buf.subarray(0x20, 0x30));
  } finally {
    closeSync(fd);
  }
}
