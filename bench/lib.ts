// Small timing helpers for the benchmarks: medians over repeated runs, printed as ratios.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function timeCommand(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return ms;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function measure(runs: number, fn: (i: number) => number): number {
  fn(-1); // warm-up: page cache, lazy init
  return median(Array.from({ length: runs }, (_, i) => fn(i)));
}

export function report(title: string, rows: { name: string; ms: number }[], baseline: string): void {
  const base = rows.find((r) => r.name === baseline)!.ms;
  console.log(`\n${title}`);
  for (const r of rows) console.log(`  ${r.name.padEnd(44)} ${r.ms.toFixed(1).padStart(8)} ms   x${(r.ms / base).toFixed(2)}`);
}

/** A btrbk.conf in `dir` that snapshots `<top>/@persist` into @snapshots with the given policy (long-iso names, as the agent's); returns its path. */
export function writeBtrbkConf(dir: string, top: string, preserveMin: string, preserve: string): string {
  const file = join(dir, 'btrbk.conf');
  writeFileSync(
    file,
    [
      'timestamp_format long-iso',
      `snapshot_preserve_min ${preserveMin}`,
      `snapshot_preserve ${preserve}`,
      'snapshot_create always',
      `lockfile ${join(dir, 'btrbk.lock')}`,
      `volume ${top}`,
      '  snapshot_dir @snapshots',
      '  subvolume @persist',
      '',
    ].join('\n'),
  );
  return file;
}
