// `pantheragent daemon`: long-running, under systemd as root (see src/daemon/daemon.ts).
// SIGHUP reloads the config; SIGTERM and SIGINT stop it within a second.
import { openAgent } from '../../agent.js';
import { loadConfig } from '../../config/load.js';
import { Daemon } from '../../daemon/daemon.js';
import { notifySystemd } from '../../daemon/notify.js';
import { PIECES } from '../../daemon/pieces.js';
import { cronScheduler } from '../../daemon/scheduler.js';
import type { CommandContext, CommandResult } from '../command.js';

export async function run(ctx: CommandContext): Promise<CommandResult> {
  const log = ctx.log;
  let daemon: Daemon | null = null;
  let hupBeforeStart = false;
  // Handlers before anything else: SIGHUP's default action would kill the process.
  process.on('SIGHUP', () => {
    if (daemon) void daemon.reload();
    else hupBeforeStart = true;
  });
  const stopped = new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  const opts = {
    configPath: ctx.configPath,
    log,
    loadConfig,
    openAgent,
    scheduler: cronScheduler(log),
    pieces: PIECES,
    onReady: () => notifySystemd(log, ['--ready', '--status=health state published']),
  };
  // An invalid config at start is an error (exit 78); at SIGHUP it is refused instead.
  const d = new Daemon(opts, Daemon.load(opts));
  await Promise.race([d.start(), stopped]);
  daemon = d;
  if (hupBeforeStart) void d.reload();
  const signal = await stopped;
  d.stop();
  log.info({ signal }, 'pantheragent daemon stopped');
  // Whatever is still running (a drift child process) must not hold the exit up.
  setTimeout(() => process.exit(0), 200).unref();
  return { json: { stopped: signal }, human: '' };
}
