// `nextboot`: the system profile (what the boot loader starts by default) vs the running
// system. They differ after `nixos-rebuild boot` (reboot to run it) or `nixos-rebuild
// test` (the next boot goes back to the profile).
import { readlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { KindCheck, Verdict } from './kind.js';
import { drift, ok, unknown } from './kind.js';
import { linkExists, named, resolveIn } from './paths.js';
import { CURRENT } from './reboot.js';

export const PROFILE = '/nix/var/nix/profiles/system';

export interface NextbootFacts {
  /** The running system's toplevel; null without /run/current-system. */
  current: string | null;
  /** The default boot profile; null when it does not exist. */
  profile: { toplevel: string; generation: number | null } | null;
}

export function readNextbootFacts(systemRoot: string): NextbootFacts {
  const current = linkExists(systemRoot, CURRENT) ? resolveIn(systemRoot, CURRENT).path : null;
  if (!linkExists(systemRoot, PROFILE)) return { current, profile: null };
  // The profile is a link to "system-<N>-link", which links to the store.
  let generation: number | null = null;
  try {
    const m = /^system-(\d+)-link$/.exec(readlinkSync(join(systemRoot, PROFILE)));
    generation = m ? Number(m[1]) : null;
  } catch {
    generation = null; // not a link: a profile made by hand
  }
  return { current, profile: { toplevel: resolveIn(systemRoot, PROFILE).path, generation } };
}


export function compareNextboot(f: NextbootFacts): Verdict {
  if (!f.profile) return unknown(`${PROFILE} does not exist: not a NixOS system`, { missing: PROFILE });
  if (!f.current) return unknown(`${CURRENT} does not exist: not a NixOS system`, { missing: CURRENT });
  const gen = f.profile.generation === null ? 'the system profile' : `generation ${f.profile.generation}`;
  const details = { current: f.current, nextBoot: f.profile.toplevel, generation: f.profile.generation };
  if (f.profile.toplevel === f.current) return ok(`the next boot starts the running system (${gen})`, details);
  return drift(`the next boot starts ${gen} (${named(f.profile.toplevel, f.current)}), not the running system (${named(f.current, f.profile.toplevel)})`, {
    ...details,
    run: `reboot to run ${gen}, or 'nixos-rebuild switch' to make the running system the default again`,
  });
}

export const nextbootCheck: KindCheck = {
  kind: 'nextboot',
  check: async (ctx) => compareNextboot(readNextbootFacts(ctx.config.systemRoot)),
};
