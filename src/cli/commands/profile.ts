// `profile [show|apply [NAME]|auto]`: power profiles (DESIGN.md section 8).
//
// Needs only the config and sysfs: no Btrfs, no database, so ctx.loadConfig(), never
// ctx.openAgent, and not the agent lock (see src/power/run.ts for the power lock).
//
// systeminformation is not used: its battery() finds supplies by name (BAT0/BAT1,
// AC/AC0) and reads /sys directly, ignoring power.sysfsRoot; its system()/chassis()
// shell out to cat. sysfs answers all of it exactly, found by `type`, in a few ms.
import { ExitCode, RefusedError, UsageError } from '../../errors.js';
import { PROFILES, type ProfileName } from '../../power/models.js';
import type { CommandContext, CommandResult } from '../command.js';

const SUBCOMMANDS = ['show', 'apply', 'auto'] as const;

function waitSeconds(ctx: CommandContext): number {
  const w = ctx.opts.wait;
  return w === undefined ? 30 : Number(w);
}

export async function run(ctx: CommandContext): Promise<CommandResult> {
  const [sub = 'show', ...rest] = ctx.args;
  if (!(SUBCOMMANDS as readonly string[]).includes(sub)) throw new UsageError(`profile takes show, apply [NAME] or auto, not "${sub}"`);
  let name: ProfileName | null = null;
  if (sub === 'apply' && rest.length) {
    if (rest.length !== 1 || !(PROFILES as readonly string[]).includes(rest[0]!)) {
      throw new UsageError(`profile apply takes at most one profile name: ${PROFILES.join(', ')} (got "${rest.join(' ')}")`);
    }
    name = rest[0] as ProfileName;
  } else if (rest.length) {
    throw new UsageError(`profile ${sub} takes no further arguments (got "${rest.join(' ')}")`);
  }

  const config = ctx.loadConfig();
  const power = config.power;
  if (!power.enable) {
    const reason = `power.enable is false in ${ctx.configPath}: this host manages no power profile`;
    // A server never touches sysfs. Naming a profile there is a mistake worth an error; show and auto just say so.
    if (sub === 'apply') throw new RefusedError(`${reason}; set power.enable to true to use profile apply`, { enabled: false });
    return { json: { enabled: false, reason }, human: reason };
  }

  const { nodeSysfs } = await import('../../power/sysfs.js');
  const io = nodeSysfs(power.sysfsRoot);
  const { readPowerState } = await import('../../power/state.js');
  const view = await import('../profile-view.js');

  if (sub === 'show') {
    const { inspect } = await import('../../power/index.js');
    const { defaultProbe } = await import('../../power/conflicts.js');
    const v = inspect(power, io, { last: readPowerState(config.runtimeDir), conflicts: defaultProbe(config.systemRoot)() });
    return { json: view.inspectionJson(power.sysfsRoot, v), human: view.inspectionHuman(v) };
  }

  const { applyAndRecord } = await import('../../power/run.js');
  // `apply` without NAME re-applies what should be in force (a named profile still held, else the config's).
  const a = applyAndRecord(config, name ?? (sub === 'apply' ? 'expected' : 'auto'), { waitSeconds: waitSeconds(ctx), log: ctx.log, io });
  return {
    exitCode: a.failed.length ? ExitCode.failed : ExitCode.ok,
    json: view.applicationJson(power.sysfsRoot, a),
    human: view.applicationHuman(a),
  };
}
