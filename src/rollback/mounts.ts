// Who uses a subvolume right now: its mount points (by subvolume id, in every mount
// namespace, never by path) and the systemd mount units for them. A
// rollback of a mounted subvolume takes effect at the next mount; people need to
// know which mounts and units that is.
import { spawnSync } from 'node:child_process';
import { mountedAnywhere } from '../btrfs/mounts.js';
import type { MountUse } from './plan.js';

/**
 * systemd's unit name for a mount point (systemd.unit(5), "systemd-escape --path"):
 * "/" is "-", slashes become "-", and bytes outside [A-Za-z0-9:_.] (and a leading
 * ".") become \xNN.
 */
export function mountUnitName(path: string): string {
  const trimmed = path.split('/').filter(Boolean).join('/');
  if (trimmed === '') return '-.mount';
  let out = '';
  const bytes = Buffer.from(trimmed, 'utf8');
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    const ch = String.fromCharCode(c);
    if (ch === '/') out += '-';
    else if (/[A-Za-z0-9:_]/.test(ch) || (ch === '.' && i > 0)) out += ch;
    else out += `\\x${c.toString(16).padStart(2, '0')}`;
  }
  return `${out}.mount`;
}

/**
 * Loaded mount units, or null when systemd cannot be asked (no systemctl, not booted
 * with systemd). Not src/btrfs/exec.ts `run`: this is only shown to people, so a
 * missing systemctl or a PID 1 that does not answer within 5 s means "unknown", never
 * a failed command (run has no timeout, and a missing binary there is exit 69).
 */
export function loadedMountUnits(): Set<string> | null {
  const r = spawnSync('systemctl', ['list-units', '--type=mount', '--all', '--plain', '--no-legend', '--no-pager'], {
    encoding: 'utf8',
    env: { ...process.env, LC_ALL: 'C', SYSTEMD_COLORS: '0' },
    timeout: 5000,
  });
  if (r.error || r.status !== 0) return null;
  return new Set(
    r.stdout
      .split('\n')
      .map((l) => l.trim().split(/\s+/)[0] ?? '')
      .filter((u) => u.endsWith('.mount')),
  );
}

/**
 * Mount points of subvolume `id` (of the filesystem whose top level is at `top`), in
 * every mount namespace, the agent's own top mount left out. Pass `where` (one
 * mountedAnywhere(top)) when asking for several ids: each reading visits every process.
 */
export function mountPointsOf(top: string, id: number, where: Map<number, string[]> = mountedAnywhere(top)): string[] {
  return (where.get(id) ?? []).filter((p) => p !== top);
}

/** The mounts of subvolume `id`, each with its systemd units (null when systemd is not there to ask). */
export function mountUses(top: string, id: number): MountUse[] {
  const points = mountPointsOf(top, id);
  if (points.length === 0) return [];
  const units = loadedMountUnits();
  return points.map((mountPoint) => {
    const name = mountUnitName(mountPoint);
    return { mountPoint, units: units === null ? null : units.has(name) ? [name] : [] };
  });
}
