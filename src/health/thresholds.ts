// Thresholds from config: snapshot ages per source derive from the snapshot timer's
// period unless the config names them; free-space floors; staleness of the state.
import type { ConfigIssue } from '../config/roles.js';
import type { Config } from '../config/schema.js';
import { ConfigError } from '../errors.js';
import { CALENDAR_SHORTHANDS, parseDuration } from './settings.js';
import type { Thresholds } from './state.js';

const WEEK = 7 * 86400;

/**
 * Warn after 3 missed periods (one late run is normal: the timer catches up after sleep);
 * fail after a day's worth of periods, at least 6 and at most a week when periods are long.
 * Hourly: warn 3h, fail 24h. Daily: warn 3d, fail 7d.
 */
export function derivedAges(periodSeconds: number): { warnSeconds: number; failSeconds: number } {
  const warnSeconds = 3 * periodSeconds;
  const failSeconds = Math.max(6 * periodSeconds, Math.min(24 * periodSeconds, WEEK));
  return { warnSeconds, failSeconds };
}

function periodOf(interval: string): number {
  return CALENDAR_SHORTHANDS[interval] ?? parseDuration(interval) ?? 3600;
}

/** The thresholds, and what is wrong with the overrides: sources that are not configured, warn >= fail. */
function thresholdsOf(config: Config): { thresholds: Thresholds; issues: ConfigIssue[] } {
  const h = config.health;
  const issues: ConfigIssue[] = [];
  const sources = Object.keys(config.snapshots.sources);
  for (const key of Object.keys(h.snapshots)) {
    if (!sources.includes(key)) issues.push({ path: `health.snapshots[${JSON.stringify(key)}]`, message: `names no snapshot source (configured: ${sources.join(', ')})` });
  }
  const base = derivedAges(periodOf(h.snapshotInterval));
  const snapshots: Thresholds['snapshots'] = {};
  for (const source of sources) {
    const o = h.snapshots[source] ?? {};
    const warnSeconds = o.warnAfter ? parseDuration(o.warnAfter)! : base.warnSeconds;
    const failSeconds = o.failAfter ? parseDuration(o.failAfter)! : Math.max(base.failSeconds, warnSeconds + 1);
    if (warnSeconds >= failSeconds) issues.push({ path: `health.snapshots[${JSON.stringify(source)}]`, message: 'warnAfter must be shorter than failAfter' });
    snapshots[source] = { warnSeconds, failSeconds };
  }
  const failPercent = config.snapshots.minFreePercent;
  const thresholds = {
    snapshots,
    // A warn floor under the fail floor would never show: it is raised to it.
    freeSpace: { warnPercent: Math.max(h.freeSpaceWarnPercent, failPercent), failPercent },
    retentionPendingWarn: h.retentionPendingWarn,
    staleAfterSeconds: parseDuration(h.staleAfter)!,
  };
  return { thresholds, issues };
}

/** The checks across sections that the schema cannot make: parseConfig makes them, beside the roles' (config/roles.ts). */
export const thresholdIssues = (config: Config): ConfigIssue[] => thresholdsOf(config).issues;

/** Throws ConfigError (78) for overrides of unknown sources or warn >= fail (a parsed config has neither). */
export function resolveThresholds(config: Config, file = 'the configuration'): Thresholds {
  const { thresholds, issues } = thresholdsOf(config);
  if (issues.length) throw new ConfigError(file, issues);
  return thresholds;
}
