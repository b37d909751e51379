// Pins and tags live on the Btrfs top level (<top>/.pantheragent/meta.json), next to
// the snapshots they describe: a lost or rolled-back state.db must never unpin a
// snapshot. The index mirrors this file on every reconciliation.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
// Namespace import: lets esbuild drop the parts of zod we do not use (its locales are ~350 KB).
import * as z from 'zod';
import { AgentError } from '../errors.js';
import { unlessMissing, writeFileAtomic } from '../util/fsutil.js';

const metaSchema = z.strictObject({
  version: z.literal(1),
  /** Keys are paths from the top level, e.g. "@snapshots/@persist.20261125T220000+0000". */
  pins: z.array(z.string()),
  tags: z.record(z.string(), z.string()),
});
export type Meta = z.infer<typeof metaSchema>;

export const agentDir = (top: string) => join(top, '.pantheragent');
const metaPath = (top: string) => join(agentDir(top), 'meta.json');

export function readMeta(top: string): Meta {
  const text = unlessMissing(() => readFileSync(metaPath(top), 'utf8'), null);
  if (text === null) return { version: 1, pins: [], tags: {} };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new AgentError(`${metaPath(top)} is not valid JSON (${(e as Error).message}): it holds pins and tags; fix or restore it (it is safe to edit by hand).`);
  }
  const r = metaSchema.safeParse(parsed);
  if (!r.success) throw new AgentError(`${metaPath(top)} does not have the expected shape (${r.error.issues[0]?.message}): fix or restore it.`);
  return r.data;
}

export function writeMeta(top: string, meta: Meta): void {
  mkdirSync(agentDir(top), { recursive: true, mode: 0o700 });
  const sorted: Meta = { version: 1, pins: [...new Set(meta.pins)].sort(), tags: meta.tags };
  writeFileAtomic(metaPath(top), JSON.stringify(sorted, null, 2) + '\n', 0o600);
}
