// The `health` config keys beyond port/listen/allow (DESIGN.md section 4 leaves them to
// this piece): how old a snapshot may get, free-space floors, how stale the published
// state may be, and the endpoint's resource limits. Spread into the config schema.
import * as z from 'zod';

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
const duration = z.string().refine((s) => parseDuration(s) !== null, { message: durationMessage });

export const healthSettings = {
  /** The snapshot timer's period (its OnCalendar shorthand, or a duration): snapshot age thresholds derive from it. */
  snapshotInterval: z
    .string()
    .refine((s) => s in CALENDAR_SHORTHANDS || parseDuration(s) !== null, {
      message: `must be the snapshot timer's period: ${Object.keys(CALENDAR_SHORTHANDS).join(', ')}, or ${durationMessage.replace('must be ', '')}`,
    })
    .default('hourly'),
  /** Per source: override the derived age thresholds (warn after 3 periods, fail after 24). */
  snapshots: z.record(z.string(), z.strictObject({ warnAfter: duration.optional(), failAfter: duration.optional() })).default({}),
  /** Free space below this warns; below snapshots.minFreePercent (where snapshots are refused) fails. */
  freeSpaceWarnPercent: z.number().min(0).max(100).default(20),
  /** More snapshots than this waiting for retention means prune is not running: warn. */
  retentionPendingWarn: z.number().int().min(0).default(50),
  /** The published state older than this: /readyz fails and the health document warns. */
  staleAfter: duration.default('5m'),
  limits: z
    .strictObject({
      maxHeaderBytes: z.number().int().min(1024).max(65536).default(8192),
      headersTimeoutMs: z.number().int().min(50).max(60000).default(5000),
      requestTimeoutMs: z.number().int().min(50).max(120000).default(10000),
      maxConnections: z.number().int().min(1).max(10000).default(128),
      whoisTimeoutMs: z.number().int().min(50).max(10000).default(1000),
      /** How often to look again for this host's Tailscale addresses until they exist. */
      retryMs: z.number().int().min(50).max(600000).default(5000),
    })
    .prefault({}),
};
