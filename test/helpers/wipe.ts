// Shared by the wipe tests: scenario set-ups on a fresh fixture, the two executors
// (the agent's `wipe` and the rendered initrd script under a chosen sh), and a
// description of the resulting filesystem that two runs can be compared by.
import { spawnSync } from 'node:child_process';
import { chmodSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { layoutHost, type BtrfsFixture } from './btrfs.js';
import { cli, writeConfig, type CliResult } from './cli.js';

/** 2026-11-25T22:00:00Z: every run in a comparison uses the same instant. */
export const EPOCH = 1795644000;
export const STAMP = '20261125T220000+0000';

export interface Scenario {
  name: string;
  /** Config overrides (e.g. other subvolume names). */
  config?: Record<string, any>;
  setup(fx: BtrfsFixture): void;
  /** A failure injected into btrfs-progs: this subcommand ("subvolume snapshot") fails. */
  failBtrfs?: string;
}

export function setupHost(fx: BtrfsFixture, opts: { rootFiles?: boolean } = {}): void {
  layoutHost(fx);
  if (opts.rootFiles !== false) {
    mkdirSync(join(fx.top, '@root/etc'), { recursive: true });
    writeFileSync(join(fx.top, '@root/etc/hostname'), 'old-root\n');
    mkdirSync(join(fx.top, '@root/var/tmp'), { recursive: true });
    writeFileSync(join(fx.top, '@root/var/tmp/scratch'), 'undeclared state\n');
  }
}

/** An archived root as the agent leaves it after adoption: read-only, with a content marker. */
export function makeArchivedRoot(fx: BtrfsFixture, name: string, content: string, dir = '@old_roots'): void {
  mkdirSync(join(fx.top, dir), { recursive: true });
  const p = fx.subvol(`${dir}/${name}`);
  writeFileSync(join(p, 'which-root'), content);
  fx.btrfs('property', 'set', '-ts', p, 'ro', 'true');
}

export function writeMarker(fx: BtrfsFixture, content: string): void {
  mkdirSync(join(fx.top, '.pantheragent'), { recursive: true });
  writeFileSync(join(fx.top, '.pantheragent/rollback-root'), content);
}

/** A directory holding a `btrfs` that fails one subcommand and passes the rest to the real one. */
export function failingBtrfs(fx: BtrfsFixture, sub: string): string {
  const real = spawnSync('sh', ['-c', 'command -v btrfs'], { encoding: 'utf8' }).stdout.trim();
  const dir = join(fx.dir, 'fake-bin');
  mkdirSync(dir, { recursive: true });
  const [a, b] = sub.split(' ');
  writeFileSync(
    join(dir, 'btrfs'),
    `#!/bin/sh\nif [ "$1" = '${a}' ] && [ "$2" = '${b}' ]; then echo "injected failure: btrfs $*" >&2; exit 1; fi\nexec '${real}' "$@"\n`,
  );
  chmodSync(join(dir, 'btrfs'), 0o755);
  return dir;
}

function envFor(fx: BtrfsFixture, s: Scenario): Record<string, string> {
  const env: Record<string, string> = { PANTHERAGENT_WIPE_EPOCH: String(EPOCH) };
  if (s.failBtrfs) env.PATH = `${failingBtrfs(fx, s.failBtrfs)}:${process.env.PATH}`;
  return env;
}

/** Executor 1: `pantheragent wipe --yes --json`. */
export function runAgentWipe(fx: BtrfsFixture, s: Scenario, extraEnv: Record<string, string> = {}): CliResult {
  const cfg = writeConfig(fx, s.config ?? {});
  return cli(['--json', 'wipe', '--yes'], { config: cfg, env: { ...envFor(fx, s), ...extraEnv } });
}

export function renderScript(fx: BtrfsFixture, s: Scenario): string {
  const cfg = writeConfig(fx, s.config ?? {});
  const r = cli(['render-initrd'], { config: cfg });
  if (r.code !== 0) throw new Error(`render-initrd failed: ${r.stderr}`);
  const file = join(fx.dir, 'wipe.sh');
  writeFileSync(file, r.stdout);
  return file;
}

export interface ScriptRun {
  code: number | null;
  stdout: string;
  stderr: string;
  mountpoint: string;
}

/** Executor 2: the rendered script, run by `shell` against the fixture's device. */
export function runScriptWipe(fx: BtrfsFixture, s: Scenario, shell: 'dash' | 'bash', opts: { cmdline?: string } = {}): ScriptRun {
  const file = renderScript(fx, s);
  const mountpoint = join(fx.dir, 'initrd-top');
  const cmdline = join(fx.dir, 'cmdline');
  writeFileSync(cmdline, (opts.cmdline ?? 'root=fstab quiet') + '\n');
  const r = spawnSync(shell, [file], {
    encoding: 'utf8',
    cwd: fx.dir,
    env: { ...process.env, ...envFor(fx, s), PANTHERAGENT_WIPE_MOUNTPOINT: mountpoint, PANTHERAGENT_WIPE_CMDLINE: cmdline },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, mountpoint };
}

export function isMounted(path: string): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[4] === path);
}

export interface TreeEntry {
  path: string;
  kind: 'dir' | 'file' | 'link' | 'subvolume';
  mode?: string;
  content?: string;
  readonly?: boolean;
}

/**
 * Everything below the top level, by path: kind, subvolume read-only flag, mode of
 * subvolume roots, content of files. The wipe's own log files are left out (they
 * differ by the executor field) and compared separately via records().
 */
export function tree(fx: BtrfsFixture): TreeEntry[] {
  const ro = new Set(
    fx
      .btrfs('subvolume', 'list', '-r', fx.top)
      .split('\n')
      .filter(Boolean)
      .map((l) => l.replace(/^.* path /, '')),
  );
  const out: TreeEntry[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(join(fx.top, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      if (r === '.pantheragent/wipe.log' || r === '.pantheragent/wipe-result') continue;
      const st = lstatSync(join(fx.top, r));
      if (st.isSymbolicLink()) out.push({ path: r, kind: 'link', content: readlinkSync(join(fx.top, r)) });
      else if (st.isDirectory()) {
        if (st.ino === 256) out.push({ path: r, kind: 'subvolume', readonly: ro.has(r), mode: (st.mode & 0o7777).toString(8) });
        else out.push({ path: r, kind: 'dir' });
        walk(r);
      } else out.push({ path: r, kind: 'file', content: readFileSync(join(fx.top, r), 'utf8') });
    }
  };
  walk('');
  return out;
}

export function subvolumePaths(t: TreeEntry[]): string[] {
  return t.filter((e) => e.kind === 'subvolume').map((e) => e.path);
}

function readLines(path: string): string[] {
  try {
    return readFileSync(path, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

/** The result record and the log, with the executor field blanked so that two executors compare equal. */
export function records(fx: BtrfsFixture): { result: string[]; log: string[] } {
  const norm = (l: string) => l.replace(/ executor=\S+/, ' executor=*');
  return {
    result: readLines(join(fx.top, '.pantheragent/wipe-result')).map(norm),
    log: readLines(join(fx.top, '.pantheragent/wipe.log')).map(norm),
  };
}

export const freshHost = (fx: BtrfsFixture) => setupHost(fx);
