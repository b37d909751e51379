// pino to stderr: JSON under systemd (or any non-TTY), readable lines on a terminal.
// pino, and node:tty to tell which, are loaded at the first line that is actually
// written: a run that logs nothing at its level (most reads) pays for neither (~12 ms
// and ~4 ms of module start-up).
import type { LogFn, Logger as Pino } from 'pino';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
type Level = (typeof LOG_LEVELS)[number];
type Method = Exclude<Level, 'silent'>;
const METHODS: readonly Method[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

/** The level methods of a pino logger: all the agent uses. */
export type Logger = Record<Method, LogFn>;

/** pino's numeric levels. */
const RANK: Record<Level, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };

function pinoLogger(level: Level, tty: boolean): Pino {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pino = require('pino') as typeof import('pino').default;
  const opts = { name: 'pantheragent', level, base: { pid: process.pid } };
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

/** Whether stderr is a terminal: isatty, not process.stderr, whose creation costs more, and pino writes to fd 2 itself. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const stderrIsTTY = (): boolean => (require('node:tty') as typeof import('node:tty')).isatty(2);

export function createLogger(level: string | undefined): Logger {
  const given = level ?? process.env.PANTHERAGENT_LOG_LEVEL;
  if (given !== undefined && !(LOG_LEVELS as readonly string[]).includes(given)) throw new Error(`"${given}" is not a log level: use one of ${LOG_LEVELS.join(', ')}`);
  let tty: boolean | undefined;
  const isTTY = () => (tty ??= stderrIsTTY());
  // On a terminal, the command's own output is the report; logs stay quiet unless asked.
  // Without a level given, only an info line needs to know which (warn and above always show, debug never).
  let lvl = given as Level | undefined;
  const threshold = () => (lvl ??= isTTY() ? 'warn' : 'info');
  let real: Pino | undefined;
  const noop: LogFn = () => {};
  const method = (name: Method): LogFn => {
    if (given === undefined ? RANK[name] < RANK.info : RANK[name] < RANK[given as Level]) return noop;
    return (...args: unknown[]) => {
      if (RANK[name] < RANK[threshold()]) return;
      real ??= pinoLogger(threshold(), isTTY());
      (real[name] as (...a: unknown[]) => void).apply(real, args);
    };
  };
  return Object.fromEntries(METHODS.map((n) => [n, method(n)])) as Logger;
}
