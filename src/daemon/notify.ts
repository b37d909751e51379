// Readiness for systemd. sd_notify is one datagram to the unix socket in $NOTIFY_SOCKET,
// which node cannot send (no unix datagram sockets in node:dgram) without a native
// module; `systemd-notify` sends it for us. systemd then sees the message come from
// a child, which it accepts only with NotifyAccess=all, so the unit that wants
// Type=notify must say both (Type=notify, NotifyAccess=all). Without $NOTIFY_SOCKET
// (Type=simple, the default units) this does nothing, and readiness is what the
// endpoint reports: /readyz is 503 until the first state is published.
import { spawn } from 'node:child_process';
import type { Logger } from '../util/log.js';

export function notifySystemd(log: Logger, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  if (!env.NOTIFY_SOCKET) return Promise.resolve();
  return new Promise((resolve) => {
    const p = spawn('systemd-notify', args, { stdio: ['ignore', 'ignore', 'pipe'], env });
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    p.on('error', (e) => {
      log.warn({ err: e.message }, 'systemd-notify could not be run: readiness not reported (is systemd on PATH?)');
      resolve();
    });
    p.on('close', (code) => {
      if (code !== 0) log.warn({ code, stderr: err.trim() }, `systemd-notify ${args.join(' ')} failed`);
      resolve();
    });
  });
}
