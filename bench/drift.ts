// `pantheragent drift` with every kind but closure (whose `nix eval` of a real NixOS
// system takes seconds to minutes, and is cached) against bare `node -e 0`, on a host
// laid out for real: a Btrfs image (root needed) with a live root holding some state,
// a NixOS-shaped system tree, a git checkout of the flake, declared persistent paths.
// Also each kind alone, in process, to show where the time goes.
import { spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { configSchema } from '../src/config/schema.js';
import { runDrift } from '../src/drift/run.js';
import { DRIFT_KINDS, type DriftKind } from '../src/drift/types.js';
import { makeBtrfs, layoutHost } from '../test/helpers/btrfs.js';
import { writeConfig } from '../test/helpers/cli.js';
import { boot, link, nixosSystem, put } from '../test/fixtures/drift/nixos.js';
import { measure, report, timeCommand } from './lib.js';

const CLI = resolve(__dirname, '../dist/pantheragent.cjs');
const RUNS = Number(process.env.BENCH_RUNS ?? 21);
const KINDS = DRIFT_KINDS.filter((k) => k !== 'closure');

function git(repo: string, ...args: string[]): string {
  const env = { ...process.env, GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@example.org', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@example.org' };
  const r = spawnSync('git', ['-C', repo, ...args], { encoding: 'utf8', env });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

async function main(): Promise<void> {
  const fx = makeBtrfs({ sizeMiB: 512 });
  try {
    layoutHost(fx);
    // The live root: some undeclared state, in a few directories.
    const live = join(fx.top, '@root');
    for (let d = 0; d < 20; d++) {
      mkdirSync(join(live, `var/lib/app${d}`), { recursive: true });
      for (let f = 0; f < 25; f++) writeFileSync(join(live, `var/lib/app${d}/f${f}`), 'x');
    }
    // The system as NixOS lays it out, built from the checkout's HEAD.
    const flake = join(fx.dir, 'flake');
    mkdirSync(flake);
    git(flake, 'init', '-q');
    writeFileSync(join(flake, 'flake.nix'), '{ outputs = { self }: { }; }\n');
    git(flake, 'add', 'flake.nix');
    git(flake, 'commit', '-q', '-m', 'host');
    const rev = git(flake, 'rev-parse', 'HEAD');
    const root = join(fx.dir, 'system');
    const top = nixosSystem(root, 'bench', '6.12.9', { revision: rev });
    boot(root, top, top, { generation: 7, toplevel: top });
    symlinkSync('/proc', join(root, 'proc'));
    const persistence = { storage: '/persist', directories: ['/etc/nixos', '/var/lib/nixos'], files: ['/etc/machine-id'] };
    for (const p of persistence.directories) {
      mkdirSync(join(root, 'persist', p), { recursive: true });
      link(root, p, `/persist${p}`);
    }
    put(root, '/persist/etc/machine-id', 'id\n');
    link(root, '/etc/machine-id', '/persist/etc/machine-id');
    const overrides = { systemRoot: root, persistence, drift: { flake: `git+file://${flake}` }, power: { enable: true, sysfsRoot: join(fx.dir, 'sys') } };
    const cfg = writeConfig(fx, overrides);
    const env = { ...process.env, PANTHERAGENT_LOG_LEVEL: 'warn' };

    const drift = (kinds: readonly DriftKind[]) => () => {
      const t = process.hrtime.bigint();
      const r = spawnSync(process.execPath, [CLI, '--config', cfg, 'drift', '--json', '--check', kinds.join(',')], { stdio: ['ignore', 'pipe', 'pipe'], env, encoding: 'utf8' });
      const ms = Number(process.hrtime.bigint() - t) / 1e6;
      if (r.status !== 0 && r.status !== 2) throw new Error(`drift exited ${r.status}: ${r.stderr}`);
      return ms;
    };
    const checks = JSON.parse(spawnSync(process.execPath, [CLI, '--config', cfg, 'drift', '--json', '--check', KINDS.join(',')], { env, encoding: 'utf8' }).stdout) as { checks: { kind: string; status: string; summary: string }[] };
    console.log('what the benchmarked run reports:');
    for (const c of checks.checks) console.log(`  ${c.kind.padEnd(12)} ${c.status.padEnd(8)} ${c.summary}`);

    report(
      `drift, every kind but closure (median of ${RUNS}; the whole CLI, the kinds concurrently)`,
      [
        { name: 'node -e 0', ms: measure(RUNS, () => timeCommand(process.execPath, ['-e', '0'])) },
        { name: 'pantheragent --version', ms: measure(RUNS, () => timeCommand(process.execPath, [CLI, '--version'])) },
        { name: `pantheragent drift --check ${KINDS.length} kinds --json`, ms: measure(RUNS, drift(KINDS)) },
        { name: 'pantheragent drift --check reboot --json', ms: measure(RUNS, drift(['reboot'])) },
      ],
      'node -e 0',
    );

    // Each kind alone, in process (no start-up): where the time goes.
    const config = configSchema.parse({ host: 'testhost', stateDir: join(fx.dir, 'state'), runtimeDir: join(fx.dir, 'run'), btrfs: { device: fx.device, topLevel: fx.top }, timezone: 'UTC', ...overrides });
    const { createLogger } = await import('../src/util/log.js');
    const log = createLogger('silent');
    const { openAgent } = await import('../src/agent.js');
    const rows: { name: string; ms: number }[] = [];
    for (const kind of [...KINDS, 'all but closure' as const]) {
      const times: number[] = [];
      for (let i = 0; i <= RUNS; i++) {
        const t = process.hrtime.bigint();
        await runDrift(config, { kinds: kind === 'all but closure' ? KINDS : [kind], log, openAgent: () => openAgent(config, log, { mutating: false, waitSeconds: 0 }) });
        if (i > 0) times.push(Number(process.hrtime.bigint() - t) / 1e6); // the first warms up
      }
      times.sort((a, b) => a - b);
      rows.push({ name: `${kind} (in process)`, ms: times[Math.floor(times.length / 2)]! });
    }
    report(`each kind alone, in process (median of ${RUNS})`, rows, 'reboot (in process)');
  } finally {
    fx.cleanup();
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
