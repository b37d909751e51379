// What the daemon and the health state take from the other pieces (INTERFACES.md):
// drift results and runs, the power summary and profile verification. One place, so
// that a piece that has not landed is null here and its checks say "unknown" with why.
import type { Config } from '../config/schema.js';
import { runDrift } from '../drift/run.js';
import { readLatestDrift, storeDrift } from '../drift/store.js';
import type { DriftCheck } from '../drift/types.js';
import { powerSummary, profileDrift } from '../power/drift.js';
import type { Db } from '../store/db.js';
import type { Logger } from '../util/log.js';

export interface Pieces {
  readDrift: ((db: Db) => DriftCheck[]) | null;
  runDrift: ((config: Config, opts: { log?: Logger }) => Promise<DriftCheck[]>) | null;
  storeDrift: ((db: Db, checks: DriftCheck[]) => void) | null;
  powerSummary: typeof powerSummary | null;
  profileDrift: typeof profileDrift | null;
}

export const PIECES: Pieces = {
  readDrift: readLatestDrift,
  runDrift: (config, opts) => runDrift(config, opts),
  storeDrift,
  powerSummary,
  profileDrift,
};
