// `reboot`: the kernel, initrd and kernel modules the machine booted vs those of the
// current system. A `nixos-rebuild switch` that changed them only takes effect at boot.
import type { KindCheck, Verdict } from './kind.js';
import { drift, ok, unknown } from './kind.js';
import { linkExists, resolveIn, storeName } from './paths.js';

export const BOOT_ITEMS = ['kernel', 'initrd', 'kernel-modules'] as const;
export type BootItem = (typeof BOOT_ITEMS)[number];

export interface SystemBoot {
  /** The system's toplevel, e.g. /nix/store/<hash>-nixos-system-yoga-25.05. */
  toplevel: string;
  /** Each item's store path with links followed; null when the system has none. */
  items: Record<BootItem, string | null>;
}

export interface RebootFacts {
  booted: SystemBoot | null;
  current: SystemBoot | null;
}

export const BOOTED = '/run/booted-system';
export const CURRENT = '/run/current-system';

function readSystem(systemRoot: string, link: string): SystemBoot | null {
  if (!linkExists(systemRoot, link)) return null;
  const items = Object.fromEntries(
    BOOT_ITEMS.map((i) => {
      const r = resolveIn(systemRoot, `${link}/${i}`);
      return [i, r.exists ? r.path : null];
    }),
  ) as Record<BootItem, string | null>;
  return { toplevel: resolveIn(systemRoot, link).path, items };
}

export function readRebootFacts(systemRoot: string): RebootFacts {
  return { booted: readSystem(systemRoot, BOOTED), current: readSystem(systemRoot, CURRENT) };
}

/** "/nix/store/<hash>-linux-6.12.9/bzImage" -> "6.12.9". */
export function kernelVersion(path: string | null): string | null {
  const name = path ? storeName(path) : null;
  return name ? (/^linux-(.+)$/.exec(name)?.[1] ?? null) : null;
}

export function compareReboot(f: RebootFacts): Verdict {
  if (!f.booted) return unknown(`${BOOTED} does not exist: not a booted NixOS system`, { missing: BOOTED });
  if (!f.current) return unknown(`${CURRENT} does not exist: not a NixOS system`, { missing: CURRENT });
  const { booted, current } = f;
  if (BOOT_ITEMS.every((i) => booted.items[i] === null && current.items[i] === null)) {
    return unknown('neither the booted nor the current system has a kernel, initrd or kernel-modules (a container?)', {});
  }
  const changed = BOOT_ITEMS.filter((i) => booted.items[i] !== current.items[i]).map((item) => ({ item, booted: booted.items[item], current: current.items[item] }));
  const running = kernelVersion(booted.items.kernel);
  if (!changed.length) {
    return ok(`the running ${running ? `kernel ${running}` : 'kernel'}, initrd and modules are the current system's`, { kernel: running, system: current.toplevel });
  }
  const next = kernelVersion(current.items.kernel);
  const versions = running && next && running !== next ? ` (${running} -> ${next})` : '';
  return drift(`${changed.map((c) => c.item).join(', ')} changed since boot${versions}: reboot to run them`, {
    changed,
    bootedSystem: booted.toplevel,
    currentSystem: current.toplevel,
    run: 'reboot',
  });
}

export const rebootCheck: KindCheck = {
  kind: 'reboot',
  check: async (ctx) => compareReboot(readRebootFacts(ctx.config.systemRoot)),
};
