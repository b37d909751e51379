// Issue 13's fast path, measured on one real Btrfs image holding 1,000 hourly snapshots
// of @persist (root needed), in paired rounds (each round runs every contender of a
// row once, in rotating order), with the issue's targets:
//
// - the hourly cycle, `pantheragent snapshot @persist --prune`, against `btrbk run` with
//   the same policy (min 990h, then 24h 14d: ~10 deletes a run) and against the Node
//   floor: node, one `btrfs subvolume list`, one snapshot, one batched delete of the
//   same snapshots, nothing else. Every run starts from the same 1,000 snapshots;
// - `status` and `list` against `node -e 0`; `--version` against `node -e 0`;
// - `diff --json` against `find <root> -xdev` on a typical and a worst-case root of
//   100,000 entries (bench/diff.ts makeTree);
// - peak RSS of `snapshot --prune` (GNU time's %M: a child's rusage is not visible to Node).
//
// BENCH_RUNS sets the rounds (default 11); BENCH_RUNS=3 is a quick run, under 2 minutes.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { formatName } from '../src/btrfs/names.js';
import { compileRules, ruleSpecFor } from '../src/diff/classify.js';
import { activationEtc } from '../src/diff/diff.js';
import { walk } from '../src/diff/walk.js';
import { makeBtrfs, layoutHost } from '../test/helpers/btrfs.js';
import { writeConfig } from '../test/helpers/cli.js';
import { makeTree, TREE_CONFIG } from './diff.js';
import { median, writeBtrbkConf } from './lib.js';

const CLI = resolve(__dirname, '../dist/pantheragent.cjs');
const ROUNDS = Math.max(1, Number(process.env.BENCH_RUNS ?? 11));
const EXISTING = 1000;
const HOUR = 3600_000;
const node = process.execPath;
const MIN = '990h';
const PRESERVE = '24h 14d';

/** Wall time of one run, in ms; `ok` lists the exit codes that count as success. */
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env, ok: number[] = [0]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env, maxBuffer: 1 << 26 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status === null || !ok.includes(r.status)) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr}`);
  return ms;
}

type Sample = Record<string, number[]>;

/**
 * Paired rounds: each round runs every contender once, in an order rotated by one per
 * round, with `before(name)` (untimed) ahead of each. One untimed warm-up round first.
 */
function paired(contenders: Record<string, () => number>, before: (name: string) => void = () => {}): Sample {
  const names = Object.keys(contenders);
  const out: Sample = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = -1; round < ROUNDS; round++) {
    const k = Math.max(0, round) % names.length;
    for (const n of [...names.slice(k), ...names.slice(0, k)]) {
      before(n);
      const ms = contenders[n]!();
      if (round >= 0) out[n]!.push(ms);
    }
  }
  return out;
}

const min = (xs: number[]) => Math.min(...xs);

interface Row {
  what: string;
  ratio: number;
  minRatio: number | null;
  goal: string;
  pass: boolean;
  detail: string;
}
const rows: Row[] = [];
const ms = (x: number) => `${x.toFixed(1)} ms`;

function ratioRow(what: string, s: Sample, ours: string, base: string, max: number | null): void {
  const ratio = median(s[ours]!) / median(s[base]!);
  rows.push({
    what,
    ratio,
    minRatio: min(s[ours]!) / min(s[base]!),
    goal: max === null ? '(for reference)' : `<= ${max}x`,
    pass: max === null || ratio <= max,
    detail: `${ms(median(s[ours]!))} vs ${ms(median(s[base]!))} (min ${ms(min(s[ours]!))} vs ${ms(min(s[base]!))})`,
  });
}

function printSample(title: string, s: Sample): void {
  console.log(`\n${title} (${ROUNDS} paired rounds)`);
  for (const [n, xs] of Object.entries(s)) console.log(`  ${n.padEnd(52)} median ${median(xs).toFixed(1).padStart(7)} ms   min ${min(xs).toFixed(1).padStart(7)} ms`);
}

const started = Date.now();
const fx = makeBtrfs({ sizeMiB: 3072 });
try {
  layoutHost(fx);
  const persist = join(fx.top, '@persist');
  const snapDir = join(fx.top, '@snapshots');
  writeFileSync(join(persist, 'data'), 'some state\n');
  const sysroot = join(fx.dir, 'sysroot');
  mkdirSync(join(sysroot, 'proc/self'), { recursive: true });
  writeFileSync(join(sysroot, 'proc/self/mountinfo'), '');
  const cfg = writeConfig(fx, {
    ...TREE_CONFIG,
    systemRoot: sysroot,
    snapshots: { sources: { '@persist': { retention: { preserveMin: MIN, preserve: PRESERVE } } } },
  });
  const btrbkConf = writeBtrbkConf(fx.dir, fx.top, MIN, PRESERVE);
  const floor = join(fx.dir, 'floor.cjs');
  writeFileSync(
    floor,
    [
      '// The Node floor of the hourly cycle: one list, one snapshot, one batched delete.',
      "const { execFileSync } = require('node:child_process');",
      'const [top, src, dst, ...del] = process.argv.slice(2);',
      "execFileSync('btrfs', ['subvolume', 'list', top]);",
      "execFileSync('btrfs', ['subvolume', 'snapshot', '-r', src, dst]);",
      "if (del.length) execFileSync('btrfs', ['subvolume', 'delete', ...del]);",
      '',
    ].join('\n'),
  );

  // 1,000 hourly snapshots, the newest an hour old (a few btrfs processes at a time: setup only).
  const base = Math.floor(Date.now() / HOUR) * HOUR;
  const names = Array.from({ length: EXISTING }, (_, i) => join(snapDir, formatName('@persist', base - (i + 1) * HOUR)));
  const making = spawnSync('xargs', ['-P', '4', '-I', '{}', 'btrfs', 'subvolume', 'snapshot', '-r', persist, '{}'], { input: names.join('\n'), stdio: ['pipe', 'ignore', 'pipe'] });
  if (making.status !== 0) throw new Error(`making the snapshots failed: ${making.stderr}`);
  const snapshots = () => new Set(readdirSync(snapDir).filter((n) => n.startsWith('@persist.')));
  const baseline = snapshots();
  if (baseline.size !== EXISTING) throw new Error(`${baseline.size} snapshots made, not ${EXISTING}`);
  console.log(`${EXISTING} snapshots made in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const env = { ...process.env, TZ: 'UTC' };
  const quiet = { ...env, PANTHERAGENT_LOG_LEVEL: 'warn' };
  // A mutating command that changes nothing: it reconciles the index with the disk
  // (read commands leave the index alone), as a previous hourly run would have.
  const settleIndex = [CLI, '--config', cfg, 'unpin', [...baseline].sort()[0]!];
  run(node, settleIndex, env); // the index, made once

  // Back to the 1,000: remove what a run made, re-make what it deleted (same names).
  let lastDeleted: string[] = [];
  const restore = () => {
    const now = snapshots();
    const made = [...now].filter((n) => !baseline.has(n));
    lastDeleted = [...baseline].filter((n) => !now.has(n)).sort();
    if (made.length) spawnSync('btrfs', ['subvolume', 'delete', ...made.map((n) => join(snapDir, n))], { stdio: 'ignore' });
    for (const n of lastDeleted) spawnSync('btrfs', ['subvolume', 'snapshot', '-r', persist, join(snapDir, n)], { stdio: 'ignore' });
    // A commit wakes the cleaner, which otherwise can leave deleted subvolumes for many seconds.
    spawnSync('btrfs', ['filesystem', 'sync', fx.top], { stdio: 'ignore' });
    spawnSync('btrfs', ['subvolume', 'sync', fx.top], { stdio: 'ignore' });
  };
  const deletedBy: Record<string, string[]> = {};
  let floorDeletes: string[] = [];
  const cycle: Record<string, () => number> = {
    'pantheragent snapshot @persist --prune': () => run(node, [CLI, '--config', cfg, 'snapshot', '@persist', '--prune'], env),
    'btrbk run': () => run('btrbk', ['-c', btrbkConf, '-q', 'run'], env),
    'Node floor (list, snapshot, batched delete)': () =>
      run(node, [floor, fx.top, persist, join(snapDir, formatName('@persist', Date.now())), ...floorDeletes.map((n) => join(snapDir, n))], env),
  };
  // What pantheragent deletes is what the floor deletes: learnt from one run first.
  cycle['pantheragent snapshot @persist --prune']!();
  restore();
  floorDeletes = lastDeleted;
  let previous = '';
  const hourly = paired(cycle, (name) => {
    if (previous) {
      restore();
      deletedBy[previous] = lastDeleted;
    }
    previous = name;
    // pantheragent's index catches up with the restore, as after its own previous run.
    if (name.startsWith('pantheragent')) run(node, settleIndex, quiet);
  });
  restore();
  deletedBy[previous] = lastDeleted;
  printSample(`hourly cycle over ${EXISTING} snapshots`, hourly);
  const same = Object.values(deletedBy).every((d) => d.join() === floorDeletes.join());
  console.log(`  deletes per run: ${Object.entries(deletedBy).map(([n, d]) => `${n.split(' ')[0]} ${d.length}`).join(', ')}${same ? ' (the same snapshots)' : ' (NOT the same snapshots: check the policies)'}`);
  ratioRow('snapshot --prune / btrbk run', hourly, 'pantheragent snapshot @persist --prune', 'btrbk run', 0.6);
  ratioRow('snapshot --prune / Node floor', hourly, 'pantheragent snapshot @persist --prune', 'Node floor (list, snapshot, batched delete)', 1.3);
  ratioRow('(btrbk run / Node floor)', hourly, 'btrbk run', 'Node floor (list, snapshot, batched delete)', null);

  // Peak RSS of the hourly run.
  const rssFile = join(fx.dir, 'rss');
  let rssKiB = 0;
  for (let i = 0; i < Math.min(3, ROUNDS); i++) {
    run('/usr/bin/time', ['-f', '%M', '-o', rssFile, node, CLI, '--config', cfg, 'snapshot', '@persist', '--prune'], env);
    rssKiB = Math.max(rssKiB, Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop()));
    restore();
  }
  const rssMB = (rssKiB * 1024) / 1e6;
  rows.push({ what: 'peak RSS of snapshot --prune', ratio: rssMB, minRatio: null, goal: '< 60 MB', pass: rssMB < 60, detail: `${rssMB.toFixed(1)} MB (max of ${Math.min(3, ROUNDS)})` });

  // Start-up and the read commands, with 1,000 snapshots (log level as on a terminal).
  const reads = paired({
    'node -e 0': () => run(node, ['-e', '0'], quiet),
    'pantheragent --version': () => run(node, [CLI, '--version'], quiet),
    'pantheragent status': () => run(node, [CLI, '--config', cfg, 'status'], quiet),
    'pantheragent list': () => run(node, [CLI, '--config', cfg, 'list'], quiet),
  });
  printSample(`start-up and reads over ${EXISTING} snapshots`, reads);
  ratioRow('status / node -e 0', reads, 'pantheragent status', 'node -e 0', 1.6);
  ratioRow('list / node -e 0', reads, 'pantheragent list', 'node -e 0', 1.6);
  ratioRow('--version / node -e 0', reads, 'pantheragent --version', 'node -e 0', 1.15);

  // diff on two roots of 100,000 entries, each with the store's etc tree for its /etc.
  const rules = compileRules(ruleSpecFor({ persistence: TREE_CONFIG.persistence, ignore: TREE_CONFIG.diff.ignore, liveMountPoints: [], etcClean: [] }));
  for (const [label, sub, spec] of [
    ['typical', '@typical', { undeclared: 1000, generatedLinks: 9000, pruned: 90000 }],
    ['worst case', '@worst', { undeclared: 1000, generatedLinks: 99000, pruned: 0 }],
  ] as const) {
    const root = join(fx.top, sub);
    fx.btrfs('subvolume', 'create', root);
    const t0 = Date.now();
    const expected = makeTree(root, { ...spec, systemRoot: join(fx.dir, `sys-${sub}`) });
    console.log(`\n${label} root made in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    mkdirSync(join(fx.dir, `sys-${sub}`, 'proc/self'), { recursive: true });
    writeFileSync(join(fx.dir, `sys-${sub}`, 'proc/self/mountinfo'), '');
    spawnSync('sync');
    const subCfg = join(fx.dir, `config-${sub}.json`);
    writeFileSync(subCfg, JSON.stringify({ ...JSON.parse(readFileSync(cfg, 'utf8')), systemRoot: join(fx.dir, `sys-${sub}`), root: { subvolume: sub } }));
    const etc = activationEtc(root, join(fx.dir, `sys-${sub}`));
    const s = paired({
      'find <root> -xdev': () => run('find', [root, '-xdev']),
      'pantheragent diff --json (whole command)': () => run(node, [CLI, '--config', subCfg, 'diff', '--json'], quiet, [2]),
      'diff walk + classify, in process': () => {
        const t0 = process.hrtime.bigint();
        const n = walk({ root, rules, subvolumes: new Set(), mounts: new Set(), activationEtc: etc }).entries.length;
        if (n !== expected.length) throw new Error(`walk found ${n}, expected ${expected.length}`);
        return Number(process.hrtime.bigint() - t0) / 1e6;
      },
    });
    printSample(`diff, ${label}: ${spec.undeclared} undeclared, ${spec.generatedLinks} store links, ${spec.pruned} under declared/ignored paths`, s);
    const worst = label === 'worst case';
    ratioRow(`diff ${label} / find -xdev`, s, 'pantheragent diff --json (whole command)', 'find <root> -xdev', worst ? 2 : null);
    ratioRow(`(diff ${label}, walk in process / find -xdev)`, s, 'diff walk + classify, in process', 'find <root> -xdev', null);
    rmSync(join(fx.dir, `sys-${sub}`, 'nix'), { recursive: true, force: true });
  }

  console.log(`\nIssue 13 targets (${ROUNDS} paired rounds; ratio of medians, of minimums in brackets; ${((Date.now() - started) / 1000).toFixed(0)} s in all)`);
  for (const r of rows) {
    const value = r.what.startsWith('peak RSS') ? `${r.ratio.toFixed(1)} MB` : `x${r.ratio.toFixed(2)}${r.minRatio === null ? '' : ` (x${r.minRatio.toFixed(2)})`}`;
    const verdict = r.goal === '(for reference)' ? '' : r.pass ? 'pass' : 'FAIL';
    console.log(`  ${r.what.padEnd(46)} ${value.padEnd(18)} ${r.goal.padEnd(16)} ${verdict.padEnd(5)} ${r.detail}`);
  }
} finally {
  fx.cleanup();
}
