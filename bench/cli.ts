// `pantheragent --version` against bare `node -e 0`, and `pantheragent snapshot`
// against bare `btrfs subvolume snapshot -r`, on a real Btrfs image (root needed).
import { join, resolve } from 'node:path';
import { makeBtrfs, layoutHost } from '../test/helpers/btrfs.js';
import { writeConfig } from '../test/helpers/cli.js';
import { measure, report, timeCommand } from './lib.js';

const CLI = resolve(__dirname, '../dist/pantheragent.cjs');
const RUNS = Number(process.env.BENCH_RUNS ?? 21);
const node = process.execPath;

report(
  `start-up (median of ${RUNS})`,
  [
    { name: 'node -e 0', ms: measure(RUNS, () => timeCommand(node, ['-e', '0'])) },
    { name: 'pantheragent --version', ms: measure(RUNS, () => timeCommand(node, [CLI, '--version'])) },
    { name: 'pantheragent --help', ms: measure(RUNS, () => timeCommand(node, [CLI, '--help'])) },
  ],
  'node -e 0',
);

const fx = makeBtrfs({ sizeMiB: 1024 });
try {
  layoutHost(fx);
  const cfg = writeConfig(fx, { snapshots: { sources: { '@persist': {} } } });
  const env = { ...process.env, PANTHERAGENT_LOG_LEVEL: 'warn' };
  const bare = measure(RUNS, (i) => timeCommand('btrfs', ['subvolume', 'snapshot', '-r', join(fx.top, '@persist'), join(fx.top, `@snapshots/bare-${i}`)]));
  const ours = measure(RUNS, () => timeCommand(node, [CLI, '--config', cfg, 'snapshot', '@persist'], env));
  const list = measure(RUNS, () => timeCommand(node, [CLI, '--config', cfg, 'list', '--json'], env));
  report(
    `snapshot of one source (median of ${RUNS}; pantheragent includes lock, reconcile, free-space check, index)`,
    [
      { name: 'btrfs subvolume snapshot -r', ms: bare },
      { name: 'pantheragent snapshot @persist', ms: ours },
      { name: `pantheragent list --json (~${RUNS * 2} entries)`, ms: list },
    ],
    'btrfs subvolume snapshot -r',
  );
} finally {
  fx.cleanup();
}
