// `render-initrd`: print the POSIX sh wipe script for the initrd. Needs only the
// configuration (no device, no lock), so the Nix module can run it at build time.
import { UsageError } from '../../errors.js';
import { layoutOf, planWipe } from '../../wipe/plan.js';
import { DEFAULT_MOUNTPOINT, renderInitrdScript } from '../../wipe/render.js';
import { VERSION } from '../version.js';
import type { CommandContext, CommandResult } from '../command.js';
import { planJson } from '../wipe-view.js';

export async function run(ctx: CommandContext): Promise<CommandResult> {
  if (ctx.args.length) throw new UsageError('render-initrd takes no arguments: it renders from the configuration');
  const plan = planWipe(layoutOf(ctx.loadConfig()), null);
  const script = renderInitrdScript(plan, { version: VERSION, origin: ctx.configPath });
  return {
    json: {
      script,
      plan: planJson(plan, null),
      environment: {
        PANTHERAGENT_WIPE_MOUNTPOINT: `where to mount the top level (default ${DEFAULT_MOUNTPOINT})`,
        PANTHERAGENT_WIPE_EPOCH: 'seconds since the epoch to use as "now" (tests)',
        PANTHERAGENT_WIPE_CMDLINE: 'the kernel command line file (default /proc/cmdline)',
      },
    },
    human: script,
  };
}
