// The health state: every fact the daemon gathered, in one document that it publishes
// and that `serve-health`, `health` and `status` only read. Facts, not verdicts: the
// verdicts (pass/warn/fail) are computed when the document is served (doc.ts), so a
// snapshot's age keeps growing even if the daemon stopped publishing.
// The schema parses the published file, which the endpoint treats as untrusted input.
import * as z from 'zod/mini';
import '../util/zod.js';
import { DRIFT_KINDS } from '../drift/types.js';

/** A fact that was gathered, or why it could not be. Never a guess. */
const fact = <T extends z.ZodMiniType>(value: T) =>
  z.discriminatedUnion('ok', [z.strictObject({ ok: z.literal(true), value }), z.strictObject({ ok: z.literal(false), why: z.string() })]);

const isoTime = z.string().check(z.refine((s) => !Number.isNaN(Date.parse(s)), { message: 'must be an ISO 8601 time' }));
const count = () => z.int().check(z.minimum(0));
const positive = () => z.number().check(z.positive());

export const SourceFactSchema = z.strictObject({
  source: z.string(),
  count: count(),
  newest: z.nullable(z.strictObject({ name: z.string(), time: isoTime })),
});

export const WipeFactSchema = z.strictObject({
  status: z.enum(['never', 'unreadable', 'ok', 'failed', 'skipped']),
  time: z.nullable(isoTime),
  archived: z.nullable(z.string()),
  error: z.nullable(z.string()),
});

/** A drift result without its details (they can be long lists; `drift` shows them). */
export const DriftFactSchema = z.strictObject({
  kind: z.enum(DRIFT_KINDS),
  status: z.enum(['ok', 'drift', 'unknown']),
  summary: z.string(),
  measuredAt: isoTime,
});

export const PowerFactSchema = z.nullable(
  z.strictObject({
    profile: z.nullable(z.string()),
    onBattery: z.nullable(z.boolean()),
    batteryPercent: z.nullable(z.number()),
    knobsOk: count(),
    knobsTotal: count(),
    conflicts: z.array(z.string()),
  }),
);

export const ThresholdsSchema = z.strictObject({
  snapshots: z.record(z.string(), z.strictObject({ warnSeconds: positive(), failSeconds: positive() })),
  freeSpace: z.strictObject({ warnPercent: z.number(), failPercent: z.number() }),
  retentionPendingWarn: count(),
  staleAfterSeconds: positive(),
});

export const HealthStateSchema = z.strictObject({
  version: z.literal(1),
  agentVersion: z.string(),
  host: z.string(),
  collectedAt: isoTime,
  thresholds: ThresholdsSchema,
  snapshots: fact(z.array(SourceFactSchema)),
  wipe: fact(WipeFactSchema),
  retention: fact(z.strictObject({ snapshots: count(), roots: count() })),
  /** Snapshots and archived roots named after the clock: a clock that was wrong when they were made. */
  future: fact(z.array(z.strictObject({ path: z.string(), time: isoTime }))),
  disk: fact(z.strictObject({ size: z.number().check(z.minimum(0)), free: z.number().check(z.minimum(0)), freePercent: z.number() })),
  drift: fact(z.array(DriftFactSchema)),
  /** null inside: power management is disabled on this host. */
  power: fact(PowerFactSchema),
});

export type HealthState = z.output<typeof HealthStateSchema>;
export type Thresholds = HealthState['thresholds'];
export type Fact<T> = { ok: true; value: T } | { ok: false; why: string };
