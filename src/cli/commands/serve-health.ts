// `pantheragent serve-health`: the HTTP endpoint, as its own unprivileged process. It
// reads the config and the state the daemon publishes; it opens no database and no
// filesystem of the agent's. Runs until SIGTERM or SIGINT.
import { ConfigError } from '../../errors.js';
import { HealthServer } from '../../health/server.js';
import { VERSION } from '../version.js';
import type { CommandContext, CommandResult } from '../command.js';

export async function run(ctx: CommandContext): Promise<CommandResult> {
  const config = ctx.loadConfig();
  if (config.health.listen.length === 0) {
    throw new ConfigError(ctx.configPath, [{ path: 'health.listen', message: 'is empty: serve-health would listen nowhere; add "loopback" and/or "tailscale"' }]);
  }
  const server = new HealthServer({ config, log: ctx.log, version: VERSION });
  // Handlers first: a signal during start-up must not kill the process uncleanly.
  const stopped = new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  process.on('SIGHUP', () => ctx.log.warn('serve-health reads its config at start: restart it to apply a new one (systemd does on a config change)'));
  await server.start();
  ctx.log.info({ addresses: server.addresses(), state: `${config.runtimeDir}/health.json` }, 'serving /livez /readyz /health /metrics');
  const signal = await stopped;
  await server.close();
  ctx.log.info({ signal }, 'serve-health stopped');
  setTimeout(() => process.exit(0), 200).unref();
  return { json: { stopped: signal }, human: '' };
}
