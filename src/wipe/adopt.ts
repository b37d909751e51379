// After boot, the first mutating run takes over what the initrd wipe did (DESIGN.md
// section 6): archived roots become read-only (the initrd only renames), the wipe's
// record goes into the history once, and the live root gets an identity file so
// that, once archived, it says which boot(s) it was. Every part is idempotent, and
// none may break the command that triggered it: problems are logged, not thrown.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Agent } from '../agent.js';
import { setReadonly } from '../btrfs/btrfs.js';
import { run } from '../btrfs/exec.js';
import { mountedAnywhere } from '../btrfs/mounts.js';
import { recordEvent } from '../store/db.js';
import { exists, writeFileAtomic } from '../util/fsutil.js';
import { readLastWipe } from './files.js';
import type { WipeRecord } from './record.js';

/** At the top of the root subvolume ("/.pantheragent-boot.json" on the running system). */
export const IDENTITY_FILE = '.pantheragent-boot.json';

export interface BootEntry {
  bootId: string;
  /** When the agent first saw this boot on this root. */
  time: string;
  configurationRevision: string | null;
  /** The wipe record this boot started from, if any. */
  wipe: { time: string; outcome: WipeRecord['outcome']; archived: string | null; from: string } | null;
}

export interface BootIdentity {
  version: 1;
  /** Every boot that ran on this root, oldest first: one after a good wipe, more when a wipe failed or was skipped. */
  boots: BootEntry[];
}

const NOTED_KEY = 'wipe.noted-record';

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return null;
  }
}

function configurationRevision(systemRoot: string): string | null {
  const fromFile = readText(join(systemRoot, 'run/current-system/configuration-revision'));
  if (fromFile) return fromFile;
  if (systemRoot !== '/') return null;
  try {
    const r = run('nixos-version', ['--configuration-revision'], { allowFail: true });
    return r.code === 0 && r.stdout.trim() ? r.stdout.trim() : null;
  } catch {
    return null; // not NixOS, or no nixos-version on PATH
  }
}

function readIdentity(path: string): BootIdentity | 'absent' | 'unreadable' {
  const text = readText(path);
  if (text === null) return exists(path) ? 'unreadable' : 'absent';
  try {
    const v = JSON.parse(text) as BootIdentity;
    return v && v.version === 1 && Array.isArray(v.boots) ? v : 'unreadable';
  } catch {
    return 'unreadable';
  }
}

/** Read-only for every writable archived root that a wipe made and that nothing has mounted. */
function markArchivesReadonly(agent: Agent, mounted: () => Set<number>): number {
  let n = 0;
  // The inventory lists a writable archived root only when a wipe's record names it.
  for (const e of agent.inventory.roots) {
    if (e.readonly || e.source !== agent.config.root.subvolume || mounted().has(e.btrfsId)) continue;
    try {
      setReadonly(e.path, true, e.btrfsId);
      recordEvent(agent.db, 'adopted', e.rel, { readonly: true });
      agent.log.info({ root: e.rel }, 'archived root made read-only');
      n++;
    } catch (err) {
      agent.log.warn({ err, root: e.rel }, `could not make the archived root ${e.rel} read-only`);
    }
  }
  return n;
}

function noteRecord(agent: Agent): WipeRecord | null {
  const last = readLastWipe(agent.top);
  if (last.state === 'none') return null;
  if (last.state === 'unreadable') {
    agent.log.error({ line: last.line }, `the last wipe record is unreadable (${last.error})`);
    return null;
  }
  const row = agent.db.prepare('SELECT value FROM kv WHERE key = ?').get(NOTED_KEY) as { value: string } | undefined;
  if (row?.value !== last.line) {
    // The agent's own wipes were put into the history when they ran.
    if (last.record.executor === 'initrd') recordEvent(agent.db, 'wipe', last.record.root, { ...last.record, marker: last.record.marker.state }, Date.parse(last.record.time));
    if (last.record.outcome === 'failed') agent.log.error({ record: last.line }, `the last root wipe failed: ${last.record.error ?? 'no reason recorded'}`);
    agent.db.prepare('INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(NOTED_KEY, last.line);
  }
  return last.record;
}

/** Adds this boot to the identity file of the live root; only when the root subvolume is mounted (it is this boot's root). */
function writeIdentity(agent: Agent, mounted: () => Set<number>, record: WipeRecord | null): void {
  const rootRel = agent.config.root.subvolume;
  const sv = agent.inventory.subvolumes.find((s) => s.path === rootRel);
  if (!sv) return;
  const bootId = readText(join(agent.config.systemRoot, 'proc/sys/kernel/random/boot_id'));
  if (!bootId) return;
  const path = join(agent.top, rootRel, IDENTITY_FILE);
  const current = readIdentity(path);
  // A boot already written down is the hourly case: it needs no look at the mounts.
  if (current !== 'absent' && current !== 'unreadable' && current.boots.some((b) => b.bootId === bootId)) return;
  if (!mounted().has(sv.id)) return;
  if (current === 'unreadable') {
    agent.log.warn({ path }, `${path} is not a pantheragent identity file: left as it is`);
    return;
  }
  const identity: BootIdentity = current === 'absent' ? { version: 1, boots: [] } : current;
  identity.boots.push({
    bootId,
    time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    configurationRevision: configurationRevision(agent.config.systemRoot),
    wipe: record ? { time: record.time, outcome: record.outcome, archived: record.archived, from: record.from } : null,
  });
  writeFileAtomic(path, JSON.stringify(identity, null, 2) + '\n', 0o644);
  agent.log.info({ bootId, root: rootRel }, 'boot identity written into the root');
}

/**
 * Takes over what the boot-time wipe did. Called by openAgent for mutating runs,
 * after journal recovery and with a fresh inventory. Returns true when it changed
 * subvolume flags (the caller then re-scans).
 */
export function adoptAfterBoot(agent: Agent): boolean {
  try {
    // Every mount namespace is read only when an answer depends on it (rarely, after the first run of a boot).
    let seen: Set<number> | undefined;
    const mounted = () => (seen ??= new Set(mountedAnywhere(agent.top).keys()));
    const changed = markArchivesReadonly(agent, mounted) > 0;
    const record = noteRecord(agent);
    writeIdentity(agent, mounted, record);
    return changed;
  } catch (err) {
    agent.log.warn({ err }, 'adopting the last boot-time wipe failed; the next mutating run tries again');
    return false;
  }
}
