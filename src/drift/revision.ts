// `revision`: the commit the running system was built from (its configurationRevision)
// vs the commit the flake is at now: a local checkout (ahead, behind, dirty) or a
// remote branch (`git ls-remote`).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as z from 'zod/mini';
import '../util/zod.js';
import type { KindCheck, Verdict } from './kind.js';
import { drift, ok, unknown } from './kind.js';
import { git, rebuildCommand, type FlakeRevision } from './flake.js';
import { resolveIn } from './paths.js';
import { lastLine, runTool } from './proc.js';
import { CURRENT } from './reboot.js';
import { plural } from '../util/text.js';

export interface RunningRevision {
  /** The commit (full or abbreviated); null when the system only says "dirty". */
  rev: string | null;
  /** Built from a checkout with uncommitted changes (self.dirtyRev: "<rev>-dirty"). */
  dirty: boolean;
  /** Where it was read. */
  from: string;
}

export interface RevisionFacts {
  running: RunningRevision | { why: string };
  flake: FlakeRevision;
  /** Local checkouts holding both commits: commits only in the running one (ahead) and only in the flake's (behind). */
  distance: { ahead: number; behind: number } | null;
  /** Local checkouts: whether the running commit is in it at all; null when not asked. */
  runningInCheckout: boolean | null;
  /** What to run to rebuild from the flake. */
  rebuild: string;
}

/** configurationRevision as flakes set it: self.rev, self.shortRev, self.dirtyRev ("<rev>-dirty") or "dirty". Pure. */
export function parseConfigurationRevision(raw: string): { rev: string | null; dirty: boolean } | null {
  const s = raw.trim();
  if (s === 'dirty') return { rev: null, dirty: true };
  const m = /^([0-9a-f]{7,40})(-dirty)?$/.exec(s);
  return m ? { rev: m[1]!, dirty: m[2] !== undefined } : null;
}

const nixosVersionJson = z.object({ configurationRevision: z.optional(z.string()) });

const FILE = `${CURRENT}/configuration-revision`;
const NIXOS_VERSION = `${CURRENT}/sw/bin/nixos-version`;

export async function readRunningRevision(systemRoot: string, signal: AbortSignal): Promise<RunningRevision | { why: string }> {
  let raw: string | null = null;
  let from = FILE;
  const file = resolveIn(systemRoot, FILE);
  if (file.exists) raw = readFileSync(join(systemRoot, file.path), 'utf8');
  else {
    const tool = resolveIn(systemRoot, NIXOS_VERSION);
    if (!tool.exists) return { why: `the running system has neither ${FILE} nor ${NIXOS_VERSION}: its configuration revision is not known` };
    from = `${NIXOS_VERSION} --json`;
    const r = await runTool(join(systemRoot, tool.path), ['--json'], { signal });
    if (r.code !== 0) return { why: `${from} failed: ${lastLine(r.stderr)}` };
    let parsed;
    try {
      parsed = nixosVersionJson.safeParse(JSON.parse(r.stdout));
    } catch (e) {
      return { why: `${from} printed no JSON: ${(e as Error).message}` };
    }
    if (!parsed.success) return { why: `${from}: configurationRevision is not a string` };
    raw = parsed.data.configurationRevision ?? null;
  }
  if (raw === null || raw.trim() === '') {
    return { why: "the running system records no configurationRevision: set system.configurationRevision = self.rev or self.dirtyRev or \"dirty\" in the flake" };
  }
  const rev = parseConfigurationRevision(raw);
  if (!rev) return { why: `the running configurationRevision "${raw.trim().slice(0, 80)}" (${from}) is not a git commit` };
  return { ...rev, from };
}

const DIRTY_KEPT = 20;
const short = (rev: string) => rev.slice(0, 7);
const sameCommit = (a: string, b: string) => a.startsWith(b) || b.startsWith(a);

export function compareRevision(f: RevisionFacts): Verdict {
  if ('why' in f.running) return unknown(f.running.why);
  if (!f.flake.rev) return unknown(f.flake.why ?? 'the flake revision is not known');
  const running = f.running;
  const flakeRev = f.flake.rev;
  const where = f.flake.source.type === 'git-remote' ? `${f.flake.source.url}${f.flake.source.ref ? ` (${f.flake.source.ref})` : ''}` : 'path' in f.flake.source ? f.flake.source.path : 'the flake';
  const base = { running: running.rev, runningDirty: running.dirty, runningFrom: running.from, flake: flakeRev, where, dirtyFiles: (f.flake.dirty ?? []).slice(0, DIRTY_KEPT) };
  if (!running.rev) {
    return drift('the running system was built from uncommitted changes (configurationRevision "dirty"): commit them and rebuild', { ...base, run: f.rebuild });
  }
  if (sameCommit(running.rev, flakeRev)) {
    if (running.dirty) {
      return drift(`the running system was built from uncommitted changes on top of ${short(running.rev)}: commit them and rebuild`, { ...base, run: f.rebuild });
    }
    if (f.flake.dirty?.length) {
      return drift(`${where} has ${plural(f.flake.dirty.length, 'uncommitted change')} on top of the running ${short(running.rev)}`, {
        ...base,
        run: `git -C ${where} diff; commit, then ${f.rebuild}`,
      });
    }
    return ok(`running ${short(running.rev)}, the flake's revision`, base);
  }
  const pair = `running ${short(running.rev)}${running.dirty ? ' (dirty)' : ''}`;
  if (f.runningInCheckout === false) {
    return drift(`${pair} is not in ${where} (at ${short(flakeRev)}): fetch, or it was built from another clone`, { ...base, run: `git -C ${where} fetch` });
  }
  if (f.distance) {
    const { ahead, behind } = f.distance;
    const d = { ...base, ahead, behind };
    if (ahead === 0) return drift(`${pair} is ${plural(behind, 'commit')} behind ${where} (${short(flakeRev)})`, { ...d, run: f.rebuild });
    if (behind === 0) return drift(`${pair} is ${plural(ahead, 'commit')} ahead of ${where} (${short(flakeRev)}): the checkout is behind what runs`, { ...d, run: `git -C ${where} pull` });
    return drift(`${pair} and ${where} (${short(flakeRev)}) have diverged: ${ahead} ahead, ${behind} behind`, { ...d, run: `git -C ${where} log --oneline --left-right ${short(running.rev)}...${short(flakeRev)}` });
  }
  return drift(`${pair}, but ${where} is at ${short(flakeRev)}`, { ...base, run: f.rebuild });
}

export async function readRevisionFacts(ctx: Parameters<KindCheck['check']>[0]): Promise<RevisionFacts> {
  const { config, signal } = ctx;
  const rebuild = rebuildCommand(config.drift, config.host);
  const [running, flake] = await Promise.all([readRunningRevision(config.systemRoot, signal), ctx.flakeRevision()]);
  const facts: RevisionFacts = { running, flake, distance: null, runningInCheckout: null, rebuild };
  const src = flake.source;
  if ('why' in running || !running.rev || !flake.rev || sameCommit(running.rev, flake.rev)) return facts;
  if (src.type !== 'git-local' && src.type !== 'path') return facts;
  const known = await git(src.path, ['cat-file', '-e', `${running.rev}^{commit}`], signal);
  facts.runningInCheckout = known.code === 0;
  if (!facts.runningInCheckout) return facts;
  const counts = await git(src.path, ['rev-list', '--left-right', '--count', `${running.rev}...${flake.rev}`], signal);
  const m = /^(\d+)\s+(\d+)\s*$/.exec(counts.stdout);
  if (counts.code === 0 && m) facts.distance = { ahead: Number(m[1]), behind: Number(m[2]) };
  return facts;
}

export const revisionCheck: KindCheck = {
  kind: 'revision',
  check: async (ctx) => compareRevision(await readRevisionFacts(ctx)),
};
