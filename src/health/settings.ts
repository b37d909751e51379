// The `health` config keys beyond port/listen/allow (DESIGN.md section 4 leaves them to
// this piece): how old a snapshot may get, free-space floors, how stale the published
// state may be, and the endpoint's resource limits. Spread into the config schema.
import * as z from 'zod/mini';
import { intIn, numberIn } from '../util/zod.js';

const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 } as const;

/** "90s", "15m", "3h", "2d", "1w" -> seconds, or null. */
export function parseDuration(s: string): number | null {
  const m = /^(\d+)(s|m|h|d|w)$/.exec(s.trim());
  if (!m) return null;
  const n = Number(m[1]) * UNIT_SECONDS[m[2] as keyof typeof UNIT_SECONDS];
  return n > 0 ? n : null;
}

/** systemd's OnCalendar shorthands that the snapshot timer may use, as periods. */
export const CALENDAR_SHORTHANDS: Record<string, number> = {
  minutely: 60,
  hourly: 3600,
  daily: 86400,
  weekly: 604800,
  monthly: 31 * 86400,
};

const durationMessage = 'must be a duration such as "90m", "3h", "2d" or "1w" (units s, m, h, d, w)';
const duration = z.string().check(z.refine((s) => parseDuration(s) !== null, { message: durationMessage }));

export const healthSettings = {
  /** The snapshot timer's period (its OnCalendar shorthand, or a duration): snapshot age thresholds derive from it. */
  snapshotInterval: z._default(
    z.string().check(
      z.refine((s) => s in CALENDAR_SHORTHANDS || parseDuration(s) !== null, {
        message: `must be the snapshot timer's period: ${Object.keys(CALENDAR_SHORTHANDS).join(', ')}, or ${durationMessage.replace('must be ', '')}`,
      }),
    ),
    'hourly',
  ),
  /** Per source: override the derived age thresholds (warn after 3 periods, fail after 24). */
  snapshots: z._default(z.record(z.string(), z.strictObject({ warnAfter: z.optional(duration), failAfter: z.optional(duration) })), {}),
  /** Free space below this warns; below snapshots.minFreePercent (where snapshots are refused) fails. */
  freeSpaceWarnPercent: z._default(numberIn(0, 100), 20),
  /** More snapshots than this waiting for retention means prune is not running: warn. */
  retentionPendingWarn: z._default(z.int().check(z.minimum(0)), 50),
  /** The published state older than this: /readyz fails and the health document warns. */
  staleAfter: z._default(duration, '5m'),
  limits: z.prefault(
    z.strictObject({
      maxHeaderBytes: z._default(intIn(1024, 65536), 8192),
      headersTimeoutMs: z._default(intIn(50, 60000), 5000),
      requestTimeoutMs: z._default(intIn(50, 120000), 10000),
      maxConnections: z._default(intIn(1, 10000), 128),
      whoisTimeoutMs: z._default(intIn(50, 10000), 1000),
      /** How often to look again for this host's Tailscale addresses until they exist. */
      retryMs: z._default(intIn(50, 600000), 5000),
    }),
    {},
  ),
};
