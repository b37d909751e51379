// `closure`: the running system vs the toplevel the flake declares for this host. The
// declared one is drift.expectedToplevel when set (cheap), else `nix eval` of the flake
// (slow: cached in the index by the flake's commit). When both are in the store, the
// package-level difference comes from `nix store diff-closures`.
import type { Db } from '../store/db.js';
import type { KindCheck, KindContext, Verdict } from './kind.js';
import { drift, ok, unknown } from './kind.js';
import { flakeAttribute, rebuildCommand } from './flake.js';
import { linkExists, named, resolveIn } from './paths.js';
import { lastLine, runTool } from './proc.js';
import { CURRENT } from './reboot.js';
import { plural } from '../util/text.js';

const NIX_FLAGS = ['--extra-experimental-features', 'nix-command flakes'];
const STORE_PATH = /^\/nix\/store\/[0-9a-z]{32}-[^/\s]+$/;
const PACKAGES_KEPT = 50;

export interface Expected {
  toplevel: string;
  /** drift.expectedToplevel, the index's cache of an earlier evaluation, or a fresh `nix eval`. */
  from: 'config' | 'cache' | 'eval';
  /** The flake commit it was evaluated at ("<commit>+<digest>" with uncommitted changes), when known. */
  revision: string | null;
}

export interface ClosureFacts {
  current: string | null;
  expected: Expected | { why: string };
  /** `nix store diff-closures current expected`, one line per package; null with packagesWhy when not run. */
  packages: string[] | null;
  packagesWhy: string | null;
  flake: string;
  rebuild: string;
}

export function compareClosure(f: ClosureFacts): Verdict {
  if (!f.current) return unknown(`${CURRENT} does not exist: not a NixOS system`, { missing: CURRENT });
  if ('why' in f.expected) return unknown(f.expected.why, { current: f.current, flake: f.flake });
  const e = f.expected;
  const base = { current: f.current, expected: e.toplevel, from: e.from, revision: e.revision, flake: f.flake };
  if (e.toplevel === f.current) return ok(`the running system is the one the flake declares (${named(f.current, f.current)})`, base);
  const changes = f.packages ? `; ${plural(f.packages.length, 'package change')}` : '';
  return drift(`running ${named(f.current, e.toplevel)}, the flake declares ${named(e.toplevel, f.current)}${changes}`, {
    ...base,
    packages: f.packages?.slice(0, PACKAGES_KEPT) ?? null,
    packagesTotal: f.packages?.length ?? null,
    packagesWhy: f.packagesWhy,
    run: f.rebuild,
  });
}

function cached(db: Db | null, flake: string, attribute: string, revision: string): string | null {
  if (!db) return null;
  const row = db.prepare('SELECT toplevel FROM drift_eval_cache WHERE flake = ? AND attribute = ? AND revision = ?').get(flake, attribute, revision) as { toplevel: string } | undefined;
  return row?.toplevel ?? null;
}

function remember(db: Db | null, flake: string, attribute: string, revision: string, toplevel: string, at: number): void {
  db?.prepare('INSERT OR REPLACE INTO drift_eval_cache (flake, attribute, revision, toplevel, evaluated_at) VALUES (?, ?, ?, ?, ?)').run(flake, attribute, revision, toplevel, at);
}

/** What to cache an evaluation by: the commit, plus the digest of uncommitted changes (which evaluate to something else). */
async function cacheKey(ctx: KindContext): Promise<string | null> {
  try {
    const r = await ctx.flakeRevision();
    if (!r.rev) return null;
    if (!r.dirty?.length) return r.rev;
    return r.dirtyDigest ? `${r.rev}+${r.dirtyDigest}` : null;
  } catch (e) {
    ctx.log.debug({ err: e }, 'flake revision unknown: evaluating without the cache');
    return null;
  }
}

async function readExpected(ctx: KindContext): Promise<Expected | { why: string }> {
  const { drift: d, host } = ctx.config;
  if (d.expectedToplevel) return { toplevel: d.expectedToplevel, from: 'config', revision: null };
  const attribute = flakeAttribute(d, host);
  const revision = await cacheKey(ctx);
  const hit = revision ? cached(ctx.db, d.flake, attribute, revision) : null;
  if (hit) return { toplevel: hit, from: 'cache', revision };
  const target = `${d.flake}#${attribute}.config.system.build.toplevel.outPath`;
  const r = await runTool('nix', [...NIX_FLAGS, 'eval', '--raw', target], { signal: ctx.signal });
  if (r.code !== 0) return { why: `nix eval ${target} failed: ${lastLine(r.stderr)}` };
  const toplevel = r.stdout.trim();
  if (!STORE_PATH.test(toplevel)) return { why: `nix eval ${target} printed "${toplevel.slice(0, 100)}", not a store path` };
  if (revision) remember(ctx.db, d.flake, attribute, revision, toplevel, ctx.now());
  return { toplevel, from: 'eval', revision };
}

// eslint-disable-next-line no-control-regex
const stripAnsi = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');

async function readPackages(ctx: KindContext, current: string, expected: string): Promise<{ packages: string[] | null; why: string | null }> {
  const valid = await runTool('nix-store', ['--check-validity', current, expected], { signal: ctx.signal });
  if (valid.code !== 0) return { packages: null, why: `not both systems are in the Nix store (${lastLine(valid.stderr)}): build the declared one (nixos-rebuild build) to see the package difference` };
  const r = await runTool('nix', [...NIX_FLAGS, 'store', 'diff-closures', current, expected], { signal: ctx.signal });
  if (r.code !== 0) return { packages: null, why: `nix store diff-closures failed: ${lastLine(r.stderr)}` };
  return { packages: stripAnsi(r.stdout).split('\n').map((l) => l.trim()).filter(Boolean), why: null };
}

export async function readClosureFacts(ctx: KindContext): Promise<ClosureFacts> {
  const { config } = ctx;
  const base = { flake: config.drift.expectedToplevel ?? `${config.drift.flake}#${flakeAttribute(config.drift, config.host)}`, rebuild: rebuildCommand(config.drift, config.host) };
  const current = linkExists(config.systemRoot, CURRENT) ? resolveIn(config.systemRoot, CURRENT).path : null;
  if (!current) return { ...base, current, expected: { why: 'no running system' }, packages: null, packagesWhy: null };
  const expected = await readExpected(ctx);
  if ('why' in expected || expected.toplevel === current) return { ...base, current, expected, packages: null, packagesWhy: null };
  const p = await readPackages(ctx, current, expected.toplevel);
  return { ...base, current, expected, packages: p.packages, packagesWhy: p.why };
}

export const closureCheck: KindCheck = {
  kind: 'closure',
  timeoutHint: 'evaluating the flake is slow: set drift.expectedToplevel, or raise drift.timeouts.closure',
  check: async (ctx) => compareClosure(await readClosureFacts(ctx)),
};
