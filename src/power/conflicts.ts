// Other power managers that would fight over the same knobs. On the live system
// (systemRoot "/") systemd is asked about their units: TLP is a oneshot unit that
// leaves no process behind, so a process scan alone would miss it. Under another
// systemRoot (tests, the sandbox), or without systemd, <systemRoot>/proc is scanned.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface PowerManager {
  name: string;
  unit: string;
  /** Process names (`comm`, at most 15 characters) of its daemon; [] when it runs none. */
  comm: string[];
}

export const POWER_MANAGERS: PowerManager[] = [
  { name: 'power-profiles-daemon', unit: 'power-profiles-daemon.service', comm: ['power-profiles-daemon'] },
  { name: 'tlp', unit: 'tlp.service', comm: [] },
  { name: 'auto-cpufreq', unit: 'auto-cpufreq.service', comm: ['auto-cpufreq'] },
  { name: 'tuned', unit: 'tuned.service', comm: ['tuned'] },
  { name: 'asusd', unit: 'asusd.service', comm: ['asusd'] },
];

export interface ConflictReport {
  /** Names from POWER_MANAGERS found running. */
  found: string[];
  method: 'systemctl' | 'proc';
  /** What this method cannot see, or why it fell back. */
  note: string | null;
}

export type ConflictProbe = () => ConflictReport;

export type Runner = (cmd: string, args: string[]) => { status: number | null; stdout: string; error?: Error };

const defaultRunner: Runner = (cmd, args) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] });
  return { status: r.status, stdout: r.stdout ?? '', ...(r.error ? { error: r.error } : {}) };
};

/** `systemctl is-active A B ...` prints one state per unit, in order; null when systemd cannot answer. */
export function viaSystemctl(run: Runner = defaultRunner): string[] | null {
  const r = run('systemctl', ['is-active', '--', ...POWER_MANAGERS.map((m) => m.unit)]);
  if (r.error) return null;
  const lines = r.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
  if (lines.length !== POWER_MANAGERS.length) return null;
  // "activating"/"reloading" count too: they are about to write the same files.
  return POWER_MANAGERS.filter((_, i) => ['active', 'activating', 'reloading'].includes(lines[i]!)).map((m) => m.name);
}

/** NixOS wraps programs as ".name-wrapped"; the kernel truncates comm to 15 characters. */
export function commMatches(comm: string, name: string): boolean {
  const c = comm.replace(/^\./, '');
  if (c.length < 5) return false;
  return c === name.slice(0, 15) || c.startsWith(name) || (c.length >= 14 && name.startsWith(c));
}

export function viaProc(systemRoot: string): ConflictReport {
  const proc = join(systemRoot, 'proc');
  const found = new Set<string>();
  let pids: string[] = [];
  try {
    pids = readdirSync(proc).filter((p) => /^\d+$/.test(p));
  } catch {
    return { found: [], method: 'proc', note: `${proc} is not readable: conflicts unknown` };
  }
  for (const pid of pids) {
    let comm: string;
    try {
      comm = readFileSync(join(proc, pid, 'comm'), 'utf8').trim();
    } catch {
      continue; // exited meanwhile
    }
    for (const m of POWER_MANAGERS) if (m.comm.some((n) => commMatches(comm, n))) found.add(m.name);
  }
  // TLP runs no daemon; its run state directory says it has applied settings since boot.
  if (existsSync(join(systemRoot, 'run/tlp'))) found.add('tlp');
  return { found: POWER_MANAGERS.map((m) => m.name).filter((n) => found.has(n)), method: 'proc', note: null };
}

export function defaultProbe(systemRoot: string, run: Runner = defaultRunner): ConflictProbe {
  return () => {
    if (systemRoot === '/') {
      const units = viaSystemctl(run);
      if (units) return { found: units, method: 'systemctl', note: null };
      const r = viaProc(systemRoot);
      return { ...r, note: r.note ?? 'systemd did not answer: process scan (a TLP run is seen by /run/tlp)' };
    }
    return viaProc(systemRoot);
  };
}
