// `pantheragent profile auto` end to end (the udev-triggered unit runs it on every plug
// and unplug, and after resume) against bare `node -e 0`, on fixture sysfs trees.
// Alternating AC and battery between runs, so every run really writes.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { makeSysfs, plug } from '../test/helpers/sysfs.js';
import { measure, report, timeCommand } from './lib.js';

const CLI = resolve(__dirname, '../dist/pantheragent.cjs');
const RUNS = Number(process.env.BENCH_RUNS ?? 21);
const node = process.execPath;
const env = { ...process.env, PANTHERAGENT_LOG_LEVEL: 'warn' };

const rows = [{ name: 'node -e 0', ms: measure(RUNS, () => timeCommand(node, ['-e', '0'])) }];
let checkConfigAdded = false;
for (const fx of ['yoga-amd', 'zephyrus'] as const) {
  const f = makeSysfs(fx);
  try {
    const sysRoot = join(f.dir, 'root');
    mkdirSync(join(sysRoot, 'proc'), { recursive: true });
    const config = join(f.dir, 'config.json');
    writeFileSync(config, JSON.stringify({ host: 'bench', stateDir: join(f.dir, 'state'), runtimeDir: join(f.dir, 'run'), systemRoot: sysRoot, power: { sysfsRoot: f.root } }));
    if (!checkConfigAdded) {
      // The floor every command pays: the bundle and the config parse, no sysfs.
      rows.push({ name: 'check-config (start-up + config)', ms: measure(RUNS, () => timeCommand(node, [CLI, 'check-config', config], env)) });
      checkConfigAdded = true;
    }
    rows.push({
      name: `profile auto (${fx}, switching)`,
      ms: measure(RUNS, (i) => {
        plug(f.root, i % 2 === 0);
        return timeCommand(node, [CLI, '--config', config, 'profile', 'auto'], env);
      }),
    });
    rows.push({ name: `profile show --json (${fx})`, ms: measure(RUNS, () => timeCommand(node, [CLI, '--config', config, '--json', 'profile', 'show'], env)) });
  } finally {
    f.cleanup();
  }
}
report(`power profiles (median of ${RUNS})`, rows, 'node -e 0');
