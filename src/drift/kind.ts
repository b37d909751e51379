// What every drift kind is: a reader that gathers facts (effects, bounded by the kind's
// timeout through `signal`) and a pure comparison of those facts into a verdict.
import type { Agent } from '../agent.js';
import type { Config } from '../config/schema.js';
import type { Db } from '../store/db.js';
import type { Logger } from '../util/log.js';
import type { FlakeRevision } from './flake.js';
import type { DriftCheck, DriftKind } from './types.js';

export type Verdict = Omit<DriftCheck, 'kind' | 'measuredAt'>;

export const ok = (summary: string, details: Record<string, unknown> = {}): Verdict => ({ status: 'ok', summary, details });
export const drift = (summary: string, details: Record<string, unknown> = {}): Verdict => ({ status: 'drift', summary, details });
export const unknown = (summary: string, details: Record<string, unknown> = {}): Verdict => ({ status: 'unknown', summary, details });

/** Readers a caller may replace (tests, or a host without the tool). */
export interface Readers {
  /** stdout of `systemctl list-units --failed --output=json`. */
  failedUnits?: (signal: AbortSignal) => Promise<string>;
}

export interface KindContext {
  config: Config;
  log: Logger;
  /** Aborted when the kind's timeout passes: readers kill their processes on it. */
  signal: AbortSignal;
  now: () => number;
  /** The index: closure caches evaluated toplevels in it; null when it cannot be opened. */
  db: Db | null;
  /** The agent (top-level mount, inventory) for `state`; throws with why when it cannot be opened. */
  agent: () => Agent;
  /** The flake's revision, read once per run and shared by `revision` and `closure`. */
  flakeRevision: () => Promise<FlakeRevision>;
  readers: Readers;
}

export interface KindCheck {
  kind: DriftKind;
  check(ctx: KindContext): Promise<Verdict>;
  /** What to do when it times out, for the `unknown` summary. */
  timeoutHint?: string;
  /** It holds the thread (synchronous work): started only once every other kind has started. */
  blocking?: boolean;
}
