// Pins and tags live on the Btrfs top level (<top>/.pantheragent/meta.json), next to
// the snapshots they describe: a lost or rolled-back state.db must never unpin a
// snapshot. They belong to a subvolume's identity (its UUID), not its name, so a name
// that is reused later never inherits an old pin or tag. The index mirrors this file.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as z from 'zod/mini';
import '../util/zod.js';
import type { SubvolumeInfo } from '../btrfs/parse.js';
import { AgentError } from '../errors.js';
import { unlessMissing, writeFileAtomic } from '../util/fsutil.js';

/**
 * A pin or tag asked for before its snapshot exists (written first, so that a crash
 * can leave a pin without a snapshot but never a snapshot without its pin). It binds
 * to the subvolume at `rel` only if that is a snapshot of `parentUuid`.
 */
const pendingSchema = z.strictObject({
  rel: z.string(),
  parentUuid: z.string(),
  pin: z.boolean(),
  tag: z.nullable(z.string()),
  at: z.number(),
});
const v2 = z.strictObject({
  version: z.literal(2),
  pins: z.array(z.string()),
  tags: z.record(z.string(), z.string()),
  pending: z.array(pendingSchema),
});
/** Version 1 keyed pins and tags by path; read once more and converted by the next write. */
const v1 = z.strictObject({ version: z.literal(1), pins: z.array(z.string()), tags: z.record(z.string(), z.string()) });

export type Meta = z.infer<typeof v2>;

export const agentDir = (top: string) => join(top, '.pantheragent');
const metaPath = (top: string) => join(agentDir(top), 'meta.json');

/** Unbound pending marks older than this belong to snapshots that were never made. */
const PENDING_TTL_MS = 86_400_000;

/** The file as written: version 1 (by path) or 2 (by UUID). */
type Stored = { version: 1; pins: string[]; tags: Record<string, string> } | Meta;

function readStored(top: string): Stored {
  const text = unlessMissing(() => readFileSync(metaPath(top), 'utf8'), null);
  if (text === null) return { version: 2, pins: [], tags: {}, pending: [] };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new AgentError(`${metaPath(top)} is not valid JSON (${(e as Error).message}): it holds pins and tags; fix or restore it (it is safe to edit by hand).`);
  }
  const r = (parsed as { version?: unknown })?.version === 1 ? v1.safeParse(parsed) : v2.safeParse(parsed);
  if (!r.success) throw new AgentError(`${metaPath(top)} does not have the expected shape (${r.error.issues[0]?.message} at ${r.error.issues[0]?.path.join('.') || '(root)'}): fix or restore it.`);
  return r.data;
}

/**
 * Pins and tags by UUID, given the subvolumes that exist now: version-1 paths and
 * pending marks whose snapshot now exists are bound to its UUID.
 */
export function readMeta(top: string, subvolumes: readonly SubvolumeInfo[], now = Date.now()): Meta {
  const stored = readStored(top);
  const byPath = new Map(subvolumes.map((s) => [s.path, s]));
  if (stored.version === 1) {
    const uuidAt = (rel: string) => byPath.get(rel)?.uuid;
    return {
      version: 2,
      pins: stored.pins.map(uuidAt).filter((u): u is string => !!u),
      tags: Object.fromEntries(Object.entries(stored.tags).flatMap(([rel, t]) => (uuidAt(rel) ? [[uuidAt(rel)!, t]] : []))),
      pending: [],
    };
  }
  const meta: Meta = { version: 2, pins: [...stored.pins], tags: { ...stored.tags }, pending: [] };
  for (const p of stored.pending) {
    const sv = byPath.get(p.rel);
    if (sv && sv.parentUuid === p.parentUuid) {
      if (p.pin) meta.pins.push(sv.uuid);
      if (p.tag !== null) meta.tags[sv.uuid] = p.tag;
    } else if (now - p.at < PENDING_TTL_MS) meta.pending.push(p);
  }
  return meta;
}

export function writeMeta(top: string, meta: Meta): void {
  mkdirSync(agentDir(top), { recursive: true, mode: 0o700 });
  const sorted: Meta = { version: 2, pins: [...new Set(meta.pins)].sort(), tags: meta.tags, pending: meta.pending };
  writeFileAtomic(metaPath(top), JSON.stringify(sorted, null, 2) + '\n', 0o600);
}

/** Pin or unpin one subvolume by UUID; returns whether anything changed. */
export function setPinned(top: string, subvolumes: readonly SubvolumeInfo[], uuid: string, pinned: boolean): boolean {
  const meta = readMeta(top, subvolumes);
  const was = meta.pins.includes(uuid);
  if (was === pinned) return false;
  meta.pins = pinned ? [...meta.pins, uuid] : meta.pins.filter((p) => p !== uuid);
  writeMeta(top, meta);
  return true;
}
