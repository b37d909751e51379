// Retention planning over 100,000 snapshots: one every 5 minutes (about 347 days),
// the default policy "min 1d, preserve 24h 14d 8w 6m". Prints the median of 7 runs
// per time zone (the first, cold run also shown: it fills the zone's offset cache).
// Target: well under a second. Run: node --import tsx bench/retention-plan.ts
import { performance } from 'node:perf_hooks';
import { formatName, parseName } from '../src/btrfs/names.js';
import { formatPolicy, planRetention, type PlanItem } from '../src/retention/planner.js';
import type { RetentionPolicy } from '../src/retention/policy.js';

const COUNT = 100_000;
const STEP = 5 * 60_000;
const RUNS = 7;

const policy: RetentionPolicy = {
  preserveMin: { kind: 'duration', n: 1, unit: 'd' },
  preserve: { h: 24, d: 14, w: 8, m: 6 },
  preserveDayOfWeek: 'sunday',
  preserveHourOfDay: 0,
};

const now = Date.UTC(2026, 10, 25, 22, 0, 0);
const names = Array.from({ length: COUNT }, (_, i) => formatName('@persist', now - (COUNT - 1 - i) * STEP));

const t0 = performance.now();
const items: PlanItem[] = names.map((id) => {
  const p = parseName(id);
  if (!p) throw new Error(`bench produced a bad name: ${id}`);
  return { id, instant: p.instant, seq: p.seq, pinned: false };
});
const parseMs = performance.now() - t0;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

console.log(`retention plan: ${COUNT.toLocaleString('en-US')} snapshots every 5 min, ${formatPolicy(policy)}`);
console.log(`  parse names: ${parseMs.toFixed(1)} ms`);
for (const tz of ['UTC', 'Europe/Berlin', 'America/New_York', 'local']) {
  const times: number[] = [];
  let kept = 0;
  for (let run = 0; run < RUNS; run++) {
    const start = performance.now();
    const decisions = planRetention(items, policy, now, tz);
    times.push(performance.now() - start);
    kept = decisions.reduce((n, d) => n + (d.action === 'keep' ? 1 : 0), 0);
  }
  console.log(`  ${tz.padEnd(17)} median ${median(times).toFixed(1)} ms (cold ${times[0]!.toFixed(1)} ms), keeps ${kept}`);
}
