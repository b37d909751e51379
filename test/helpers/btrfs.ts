// A real Btrfs filesystem per test: sparse image, mkfs.btrfs, loop device, mount.
// Teardown unmounts every mount below the fixture's directory (including ones the
// agent made itself), detaches the loop device, and removes the files, even when
// the test failed. It only ever touches the image, device and mounts it created.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface BtrfsFixture {
  /** Private temp directory holding the image and mount points. */
  dir: string;
  image: string;
  /** The loop device backing the image, e.g. /dev/loop3. */
  device: string;
  /** Where the top level (subvolid 5) is mounted. */
  top: string;
  /** Run btrfs-progs with arguments; returns stdout. */
  btrfs(...args: string[]): string;
  /** Create a subvolume at a path relative to the top level. */
  subvol(rel: string): string;
  cleanup(): void;
}

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Mount points at or below `prefix`, deepest first (from /proc/self/mountinfo). */
function mountsUnder(prefix: string): string[] {
  const out: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const mp = line.split(' ')[4];
    if (!mp) continue;
    const path = mp.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (path === prefix || path.startsWith(prefix + '/')) out.push(path);
  }
  return out.sort((a, b) => b.length - a.length);
}

export function makeBtrfs(opts: { sizeMiB?: number; label?: string } = {}): BtrfsFixture {
  const dir = mkdtempSync(join(tmpdir(), 'pantheragent-test-'));
  const image = join(dir, 'disk.img');
  const top = join(dir, 'top');
  mkdirSync(top);
  let device = '';
  const cleanup = () => {
    for (const mp of mountsUnder(dir)) {
      if (spawnSync('umount', [mp]).status !== 0) spawnSync('umount', ['-l', mp]);
    }
    if (device) spawnSync('losetup', ['-d', device]);
    // Only now is it safe to delete: nothing below dir is mounted any more.
    if (mountsUnder(dir).length === 0) rmSync(dir, { recursive: true, force: true });
  };
  try {
    sh('truncate', ['-s', `${opts.sizeMiB ?? 512}M`, image]);
    sh('mkfs.btrfs', ['-q', '-L', opts.label ?? 'pantheragent-test', image]);
    device = sh('losetup', ['--find', '--show', image]).trim();
    sh('mount', ['-t', 'btrfs', '-o', 'subvolid=5', device, top]);
  } catch (e) {
    cleanup();
    throw e;
  }
  const btrfs = (...args: string[]) => sh('btrfs', args);
  return {
    dir,
    image,
    device,
    top,
    btrfs,
    subvol(rel: string) {
      const p = join(top, rel);
      btrfs('subvolume', 'create', p);
      return p;
    },
    cleanup,
  };
}

/** Lays out a pantherOS host (DESIGN.md section 2) on a fresh fixture. */
export function layoutHost(fx: BtrfsFixture, opts: { home?: boolean } = {}): void {
  for (const s of ['@root', '@persist', '@log', '@nix', '@snapshots', ...(opts.home === false ? [] : ['@home'])]) fx.subvol(s);
  fx.btrfs('subvolume', 'snapshot', '-r', join(fx.top, '@root'), join(fx.top, '@root-blank'));
  mkdirSync(join(fx.top, '@old_roots'));
}
