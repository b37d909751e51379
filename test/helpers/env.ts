// Decides whether tests that need root, Btrfs, Nix or other system tools can run.
// Without them they skip with the reason; with PANTHERAGENT_TEST_STRICT=1 (CI) a
// missing requirement is a failure instead, so CI can never pass by skipping.
import { spawnSync } from 'node:child_process';

export const STRICT = process.env.PANTHERAGENT_TEST_STRICT === '1';

export function hasCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Returns the reason the requirement is missing, or null. */
export function missing(requirements: { root?: boolean; commands?: string[]; btrfsKernel?: boolean }): string | null {
  if (requirements.root && process.getuid?.() !== 0) return 'needs root (loop devices, mount)';
  for (const c of requirements.commands ?? []) {
    if (!hasCommand(c)) return `needs the command "${c}" (see README: system packages)`;
  }
  if (requirements.btrfsKernel) {
    const r = spawnSync('grep', ['-qw', 'btrfs', '/proc/filesystems']);
    if (r.status !== 0) {
      spawnSync('modprobe', ['btrfs'], { stdio: 'ignore' });
      if (spawnSync('grep', ['-qw', 'btrfs', '/proc/filesystems']).status !== 0) return 'the kernel has no Btrfs support';
    }
  }
  return null;
}

/**
 * For `test(name, { skip: skipUnless(...) }, fn)`: false when the requirement is met;
 * the reason when not; throws in strict mode so that the whole file fails loudly.
 */
export function skipUnless(requirements: Parameters<typeof missing>[0]): string | false {
  const why = missing(requirements);
  if (!why) return false;
  if (STRICT) throw new Error(`PANTHERAGENT_TEST_STRICT=1 but this test cannot run: ${why}`);
  return why;
}

export const BTRFS_REQ = { root: true, commands: ['btrfs', 'mkfs.btrfs', 'losetup', 'mount', 'umount'], btrfsKernel: true };
