// The daemon's clock for schedules: node-cron, which arms one timer for the next
// match (no per-second polling). Tests inject their own Scheduler instead.
import type { Logger } from '../util/log.js';
import type { Scheduler } from './daemon.js';

// require, not import: esbuild then takes node-cron's CommonJS build; its ES module
// build finds its own path through import.meta.url, which a CommonJS bundle lacks.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const cron = require('node-cron') as typeof import('node-cron');

export function cronScheduler(log: Logger, timezone?: string): Scheduler {
  const logger = {
    info: (m: string) => log.debug({ scheduler: 'node-cron' }, m),
    warn: (m: string) => log.warn({ scheduler: 'node-cron' }, m),
    error: (m: string | Error, err?: Error) => log.error({ scheduler: 'node-cron', err: err?.message }, String(m)),
    debug: (m: string | Error) => log.debug({ scheduler: 'node-cron' }, String(m)),
  };
  return {
    schedule(name, expression, fn) {
      // noOverlap: a run still busy when the next is due is skipped, not stacked.
      const task = cron.schedule(expression, () => fn(), { name, noOverlap: true, logger, ...(timezone ? { timezone } : {}) });
      return { stop: () => void task.stop() };
    },
  };
}
