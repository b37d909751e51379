// pino to stderr: JSON under systemd (or any non-TTY), readable lines on a terminal.
import pino, { type Logger } from 'pino';

export type { Logger };

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

export function createLogger(level: string | undefined): Logger {
  const tty = process.stderr.isTTY === true;
  // On a terminal, the command's own output is the report; logs stay quiet unless asked.
  const lvl = level ?? process.env.PANTHERAGENT_LOG_LEVEL ?? (tty ? 'warn' : 'info');
  const opts = { name: 'pantheragent', level: lvl, base: { pid: process.pid } };
  if (tty) {
    try {
      // Loaded only on a TTY: keeps it off the start-up path of every other run.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const pretty = require('pino-pretty') as (o: object) => NodeJS.WritableStream;
      return pino(opts, pretty({ destination: 2, sync: true, colorize: true, ignore: 'pid,hostname,name', translateTime: 'HH:MM:ss' }));
    } catch {
      // pino-pretty missing: fall through to JSON.
    }
  }
  return pino(opts, pino.destination({ fd: 2, sync: true }));
}
