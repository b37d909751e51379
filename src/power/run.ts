// Applying a profile as a command (or the daemon) does it: under the power lock, then
// recorded in <runtimeDir>/power.json. Not the agent's lock: a prune may hold that for
// minutes, and a plug event must be acted on at once; this one only keeps two profile
// runs from interleaving their writes.
import { closeSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import { acquireLock } from '../store/lock.js';
import { failpoint } from '../util/failpoint.js';
import type { Logger } from '../util/log.js';
import { applyProfile, type Application } from './index.js';
import type { ProfileName } from './models.js';
import { readPowerState, writePowerState } from './state.js';
import { nodeSysfs, type SysfsIO } from './sysfs.js';

export const powerLockDir = (runtimeDir: string) => join(runtimeDir, 'power-lock');

/**
 * Applies and records, and logs what the kernel refused. `name`: a profile (`profile apply
 * NAME`); 'auto': the config's profile for the power source (`profile auto`, the udev rule);
 * 'expected': the same, unless a profile named earlier still holds (`profile apply` without
 * NAME; the daemon's re-verify after resume).
 */
export function applyAndRecord(
  config: Config,
  name: ProfileName | 'auto' | 'expected',
  opts: { waitSeconds: number; log?: Logger; io?: SysfsIO; now?: () => number },
): Application {
  const io = opts.io ?? nodeSysfs(config.power.sysfsRoot);
  const lock = acquireLock(powerLockDir(config.runtimeDir), opts.waitSeconds, (pid) =>
    opts.log?.info({ holder: pid }, `waiting up to ${opts.waitSeconds}s for another profile run`),
    'runtimeDir',
  );
  try {
    const named = name === 'auto' || name === 'expected' ? null : name;
    const a = applyProfile(config.power, io, named, name === 'expected' ? readPowerState(config.runtimeDir) : null);
    failpoint('power.before-record');
    writePowerState(config.runtimeDir, {
      profile: a.profile,
      how: a.how,
      onBattery: a.source.onBattery,
      model: a.model.name,
      appliedAt: new Date((opts.now ?? Date.now)()).toISOString(),
      knobsOk: a.knobsOk,
      knobsTotal: a.knobsTotal,
      failed: a.failed,
    });
    for (const k of a.knobs.filter((x) => x.status === 'failed')) {
      opts.log?.warn({ knob: k.id, files: k.targets.filter((t) => !t.ok) }, `power knob ${k.id} could not be set`);
    }
    opts.log?.info({ profile: a.profile, ok: a.knobsOk, total: a.knobsTotal, failed: a.failed }, 'power profile applied');
    return a;
  } finally {
    closeSync(lock.fd);
  }
}
