// `pantheragent snapshot @persist --prune` with 1,000 existing snapshots against
// `btrbk run` with the same policy on the same filesystem: each run starts from the
// same 1,000 hourly snapshots, takes one snapshot and applies retention
// (min 1d, preserve 24h 14d 8w 6m). Median of RUNS each, as a ratio. Root needed.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { formatName } from '../src/btrfs/names.js';
import { makeBtrfs, layoutHost } from '../test/helpers/btrfs.js';
import { writeConfig } from '../test/helpers/cli.js';
import { median, report, timeCommand, writeBtrbkConf } from './lib.js';

const CLI = resolve(__dirname, '../dist/pantheragent.cjs');
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const EXISTING = 1000;
const HOUR = 3600_000;

const fx = makeBtrfs({ sizeMiB: 2048 });
try {
  layoutHost(fx);
  const snapDir = join(fx.top, '@snapshots');
  const cfg = writeConfig(fx, {
    snapshots: { sources: { '@persist': { retention: { preserveMin: '1d', preserve: '24h 14d 8w 6m' } } } },
  });
  const btrbkConf = writeBtrbkConf(fx.dir, fx.top, '1d', '24h 14d 8w 6m');

  /** The same starting point for every run: exactly 1,000 hourly snapshots. */
  const reset = () => {
    const existing = readdirSync(snapDir).map((n) => join(snapDir, n));
    for (let i = 0; i < existing.length; i += 200) spawnSync('btrfs', ['subvolume', 'delete', ...existing.slice(i, i + 200)], { stdio: 'ignore' });
    const base = Math.floor(Date.now() / HOUR) * HOUR;
    for (let i = 0; i < EXISTING; i++) {
      spawnSync('btrfs', ['subvolume', 'snapshot', '-r', join(fx.top, '@persist'), join(snapDir, formatName('@persist', base - (i + 1) * HOUR))], { stdio: 'ignore' });
    }
    spawnSync('btrfs', ['subvolume', 'sync', fx.top], { stdio: 'ignore' });
  };

  const env = { ...process.env, TZ: 'UTC', PANTHERAGENT_LOG_LEVEL: 'warn' };
  const ours: number[] = [];
  const theirs: number[] = [];
  let keptOurs = 0;
  let keptTheirs = 0;
  for (let i = 0; i < RUNS; i++) {
    reset();
    ours.push(timeCommand(process.execPath, [CLI, '--config', cfg, 'snapshot', '@persist', '--prune'], env));
    keptOurs = readdirSync(snapDir).length;
    reset();
    theirs.push(timeCommand('btrbk', ['-c', btrbkConf, '-q', 'run'], env));
    keptTheirs = readdirSync(snapDir).length;
  }
  report(
    `snapshot + prune over ${EXISTING} existing snapshots (median of ${RUNS}; kept afterwards: pantheragent ${keptOurs}, btrbk ${keptTheirs})`,
    [
      { name: 'btrbk run', ms: median(theirs) },
      { name: 'pantheragent snapshot @persist --prune', ms: median(ours) },
    ],
    'btrbk run',
  );
} finally {
  fx.cleanup();
}
