// `pantheragent diff` against `find <root> -xdev` on the same tree: a root of 100,000
// entries of which 1,000 are undeclared, on a real Btrfs image (root needed). Also
// times `btrfs subvolume find-new` on it, the alternative docs/diff.md weighs.
//
// Exports makeTree(), which test/diff.test.ts uses to build the same kind of tree.
import { spawnSync } from 'node:child_process';
import { closeSync, lstatSync, mkdirSync, openSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { compileRules, ruleSpecFor } from '../src/diff/classify.js';
import { activationEtc } from '../src/diff/diff.js';
import { walk } from '../src/diff/walk.js';
import { makeBtrfs, layoutHost } from '../test/helpers/btrfs.js';
import { writeConfig } from '../test/helpers/cli.js';
import { measure, median, report, timeCommand } from './lib.js';

export interface TreeSpec {
  /** Undeclared entries, in directories of `perDir` (default 25, a typical fan-out); 1 in 20 is an empty file, 1 in 50 a symlink out of the store, 1 in 100 an empty directory. */
  undeclared: number;
  /** Symlinks into the store (NixOS's /etc and friends): walked and classified, never reported. */
  generatedLinks: number;
  /** Files under ignored and declared paths: pruned by diff, walked by find. */
  pruned: number;
  perDir?: number;
  /**
   * A system root (as config systemRoot) to make the store's etc tree in, at
   * <systemRoot>TREE_ETC, holding a link for each generated /etc link, as NixOS's etc
   * derivation does; without it, /etc/static points to a store path that does not exist.
   */
  systemRoot?: string;
}

/** Where makeTree's /etc/static points. */
export const TREE_ETC = '/nix/store/0000000000000000000000000000000a-etc/etc';

/** The persistence and ignore lists that makeTree's layout is made for. */
export const TREE_CONFIG = {
  persistence: { storage: '/persist', directories: ['/etc/nixos', '/var/lib/nixos', '/var/lib/data'], files: ['/etc/machine-id'] },
  diff: { ignore: ['/tmp', '/var/tmp', '/var/cache', '/root/.cache'] },
};

function touch(p: string, data?: string): void {
  if (data === undefined) closeSync(openSync(p, 'w'));
  else writeFileSync(p, data);
}

/**
 * Fills `root` (an empty directory) and returns the paths on the root that diff must
 * report, sorted. Entry counts are exact: undeclared + generatedLinks + pruned
 * leaves, plus the directories that hold them.
 */
export function makeTree(root: string, spec: TreeSpec): string[] {
  const perDir = spec.perDir ?? 25;
  const expected: string[] = [];
  const made = new Set<string>();
  const mk = (p: string) => {
    if (made.has(p)) return;
    mkdirSync(join(root, p), { recursive: true });
    made.add(p);
  };
  // The skeleton of a NixOS root: mount points, declared directories, generated /etc bits.
  for (const d of ['nix', 'persist', 'home', 'boot', 'proc', 'sys', 'dev', 'run', 'tmp', 'var/log', 'etc/nixos', 'var/lib/nixos', 'var/empty', 'root']) mk(d);
  symlinkSync(TREE_ETC, join(root, 'etc/static'));
  const etcTree = spec.systemRoot === undefined ? null : join(spec.systemRoot, TREE_ETC);
  touch(join(root, 'etc/NIXOS'));
  touch(join(root, 'etc/machine-id'), '0123456789abcdef0123456789abcdef\n');
  // Generated: /etc/<pkg>/<file> -> /etc/static/<pkg>/<file>, as setup-etc.pl makes them.
  for (let i = 0; i < spec.generatedLinks; i++) {
    const dir = `etc/gen${Math.floor(i / perDir)}`;
    mk(dir);
    symlinkSync(`/etc/static/gen${Math.floor(i / perDir)}/f${i}`, join(root, dir, `f${i}`));
    if (etcTree) {
      if (i % perDir === 0) mkdirSync(join(etcTree, `gen${Math.floor(i / perDir)}`), { recursive: true });
      symlinkSync(`/nix/store/0000000000000000000000000000000b-gen/f${i}`, join(etcTree, `gen${Math.floor(i / perDir)}`, `f${i}`));
    }
  }
  // Pruned: half ignored caches, half a declared directory with content on the root.
  for (let i = 0; i < spec.pruned; i++) {
    const base = i % 2 === 0 ? 'var/cache' : 'var/lib/data';
    const dir = `${base}/d${Math.floor(i / (2 * perDir))}`;
    mk(dir);
    touch(join(root, dir, `f${i}`), 'x');
  }
  // Undeclared, the part that matters.
  for (let i = 0; i < spec.undeclared; i++) {
    const dir = `srv/app${Math.floor(i / perDir)}`;
    mk(dir);
    const p = `${dir}/e${i}`;
    if (i % 100 === 99) mk(p);
    else if (i % 50 === 49) symlinkSync('/home/user/notes', join(root, p));
    else if (i % 20 === 19) touch(join(root, p));
    else touch(join(root, p), `state ${i}\n`);
    expected.push('/' + p);
  }
  return expected.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function main(): void {
  const CLI = resolve(__dirname, '../dist/pantheragent.cjs');
  const RUNS = Number(process.env.BENCH_RUNS ?? 11);
  const env = { ...process.env, PANTHERAGENT_LOG_LEVEL: 'warn' };

  const fx = makeBtrfs({ sizeMiB: 2048 });
  try {
    layoutHost(fx);
    const sysroot = join(fx.dir, 'sysroot');
    mkdirSync(join(sysroot, 'proc/self'), { recursive: true });
    writeFileSync(join(sysroot, 'proc/self/mountinfo'), '');
    const cfg = writeConfig(fx, { ...TREE_CONFIG, systemRoot: sysroot });
    const scenarios: { name: string; spec: TreeSpec }[] = [
      { name: 'typical: 1k undeclared, 9k store links, 90k under declared/ignored paths', spec: { undeclared: 1000, generatedLinks: 9000, pruned: 90000 } },
      { name: 'worst case: 1k undeclared, 99k store links, nothing to prune', spec: { undeclared: 1000, generatedLinks: 99000, pruned: 0 } },
    ];
    for (const { name, spec } of scenarios) {
      const root = join(fx.top, '@root');
      spawnSync('btrfs', ['subvolume', 'delete', root], { stdio: 'ignore' });
      fx.btrfs('subvolume', 'create', root);
      const t0 = Date.now();
      spawnSync('rm', ['-rf', join(sysroot, 'nix')]);
      const expected = makeTree(root, { ...spec, systemRoot: sysroot });
      const madeMs = Date.now() - t0;
      spawnSync('sync');
      const count = Number(spawnSync('sh', ['-c', `find ${root} -xdev -mindepth 1 | wc -l`], { encoding: 'utf8' }).stdout.trim());

      // The walk alone, in process: what diff costs beyond start-up.
      const rules = compileRules(ruleSpecFor({ persistence: TREE_CONFIG.persistence, ignore: TREE_CONFIG.diff.ignore, liveMountPoints: [], etcClean: [] }));
      const walkMs = (etc: string | null) =>
        measure(RUNS, () => {
          const t = process.hrtime.bigint();
          const reported = walk({ root, rules, subvolumes: new Set(), mounts: new Set(), activationEtc: etc }).entries.length;
          if (reported !== expected.length) throw new Error(`walk reported ${reported}, expected ${expected.length}`);
          return Number(process.hrtime.bigint() - t) / 1e6;
        });
      const withTree = walkMs(activationEtc(root, sysroot));
      // As for an archived root whose generation is gone from the store: every link is read.
      const withoutTree = walkMs(null);

      const find = measure(RUNS, () => timeCommand('find', [root, '-xdev']));
      // find with what the walk needs of each entry: its type and, for a symlink, the target (readlink).
      const findLinks = measure(RUNS, () => timeCommand('find', [root, '-xdev', '-printf', '%y %l\n']));
      // What an inode-256 / st_dev check on every directory would add (walk.ts avoids it).
      const dirs = spawnSync('find', [root, '-xdev', '-type', 'd'], { encoding: 'utf8', maxBuffer: 1 << 28 }).stdout.split('\n').filter(Boolean);
      const dirStat = measure(RUNS, () => {
        const t = process.hrtime.bigint();
        for (const d of dirs) lstatSync(d);
        return Number(process.hrtime.bigint() - t) / 1e6;
      });
      const cli = measure(RUNS, () => {
        const t = process.hrtime.bigint();
        const r = spawnSync(process.execPath, [CLI, '--config', cfg, 'diff', '--json'], { stdio: ['ignore', 'ignore', 'pipe'], env });
        if (r.status !== 2) throw new Error(`diff exited ${r.status}: ${r.stderr}`);
        return Number(process.hrtime.bigint() - t) / 1e6;
      });
      const startup = measure(RUNS, () => timeCommand(process.execPath, [CLI, '--config', cfg, 'list', '--json'], env));
      const blankGen = /Generation:\s+(\d+)/.exec(fx.btrfs('subvolume', 'show', join(fx.top, '@root-blank')))![1]!;
      const findNewTimes: number[] = [];
      let findNewLines = 0;
      for (let i = 0; i < Math.min(RUNS, 5); i++) {
        const t = process.hrtime.bigint();
        const r = spawnSync('btrfs', ['subvolume', 'find-new', root, blankGen], { encoding: 'utf8', maxBuffer: 1 << 28 });
        findNewTimes.push(Number(process.hrtime.bigint() - t) / 1e6);
        findNewLines = new Set(r.stdout.split('\n').filter((l) => l.startsWith('inode ')).map((l) => l.replace(/^.* flags \S+ /, ''))).size;
      }
      report(
        `${name}\n  (${count.toLocaleString('en-US')} entries, made in ${(madeMs / 1000).toFixed(1)} s; median of ${RUNS}, warm cache)`,
        [
          { name: 'find <root> -xdev', ms: find },
          { name: "find <root> -xdev -printf '%y %l\\n' (+ readlink)", ms: findLinks },
          { name: 'diff walk + classify, in process', ms: withTree },
          { name: '  the same, etc tree not in the store (readlink each)', ms: withoutTree },
          { name: `(an lstat per directory would add, ${dirs.length.toLocaleString('en-US')} dirs)`, ms: dirStat },
          { name: 'pantheragent diff --json (whole CLI)', ms: cli },
          { name: 'pantheragent list --json (CLI start-up, agent open)', ms: startup },
          { name: `btrfs subvolume find-new (${findNewLines.toLocaleString('en-US')} paths)`, ms: median(findNewTimes) },
        ],
        'find <root> -xdev',
      );
    }
  } finally {
    fx.cleanup();
  }
}

if (require.main === module) main();
