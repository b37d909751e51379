// V8 code caches for the bundles in dist/: compiling a command's bundle is a large
// part of a short run, and V8 can start from bytecode it compiled before. `npm run
// build` writes <bundle>.v8cache beside each bundle; the launcher loads bundles
// through loadBundle(). Two checks stand between a cache and a run:
// - V8 accepts cached data when its version, its flags and the *length* of the source
//   match: a bundle edited to the same length would run the old bytecode. So a cache
//   holds the exact source bytes it was made from (and the Node version and CPU
//   architecture), compared with the bundle's before use: a byte compare, where
//   hashing would load node:crypto (~3 ms).
// - A release build of V8 does not checksum cached data: a damaged cache (a bad disk
//   block) runs as damaged bytecode; seen here as a segmentation fault. Both the build
//   and every run switch on --verify-snapshot-checksum, so V8 writes a checksum and
//   rejects data that does not match it.
// A cache that is missing, unreadable, stale or rejected only means compiling from
// source, as without one: a cache can make a run faster, never different.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { Script } from 'node:vm';

/** What became of a bundle's cache: used; rejected by V8; made for other bytes or another Node; none there. */
export type CacheUse = 'used' | 'rejected' | 'stale' | 'none';

export const cacheFile = (bundle: string) => `${bundle}.v8cache`;

/** CommonJS's own wrapper, so the bundle sees the usual module variables. */
const wrap = (source: string) => `(function (exports, require, module, __filename, __dirname) { ${source}\n})`;
/**
 * The bundle as code, named by its file in stack traces. Without import(): Node 20
 * loses a script's import() handler when V8 takes its code from a cache, so build.mjs
 * refuses a bundle that keeps an import() of its own.
 */
const compile = (bundle: string, source: Buffer, cachedData?: Buffer) => new Script(wrap(source.toString('utf8')), { filename: bundle, cachedData });

/** The cache file: this header line, the source bytes it was made from, V8's data. */
const header = (source: Buffer) => Buffer.from(`pantheragent-v8cache 1 ${process.version} ${process.arch} ${source.length}\n`);

/** The cached bytecode for exactly these source bytes, or why there is none. */
function cachedFor(bundle: string, source: Buffer): { data?: Buffer; use: CacheUse } {
  let stored: Buffer;
  try {
    stored = readFileSync(cacheFile(bundle));
  } catch {
    return { use: 'none' };
  }
  const head = header(source);
  const data = head.length + source.length;
  if (stored.length <= data || !stored.subarray(0, head.length).equals(head) || !stored.subarray(head.length, data).equals(source)) return { use: 'stale' };
  return { data: stored.subarray(data), use: 'used' };
}

/** V8 makes and checks a checksum of cached data. Part of V8's flag hash: set on both sides. */
const checksummed = () => setFlagsFromString('--verify-snapshot-checksum');

/** require(bundle), from its cache when there is one for its exact bytes. */
export function loadBundle(bundle: string): { exports: unknown; cache: CacheUse } {
  const source = readFileSync(bundle);
  const cached = cachedFor(bundle, source);
  checksummed();
  const script = compile(bundle, source, cached.data);
  const cache = cached.data && script.cachedDataRejected ? 'rejected' : cached.use;
  const module = { exports: {} as unknown };
  const fn = script.runInThisContext() as (...args: unknown[]) => void;
  fn.call(module.exports, module.exports, createRequire(bundle), module, bundle, dirname(bundle));
  return { exports: module.exports, cache };
}

/**
 * Writes <bundle>.v8cache with every function compiled, not only the top level: which
 * ones a run calls depends on the command and the host, and a function missing from
 * the cache is compiled at its first call as usual. Run by build.mjs, with the Node
 * that will run the bundle (another version rejects the cache: compiled as usual).
 */
export function writeCodeCache(bundle: string): void {
  const source = readFileSync(bundle);
  // V8's flag hash is part of the cache: eager compilation is switched on for this
  // compile only, so the cache's flags are those a run has.
  checksummed();
  setFlagsFromString('--no-lazy');
  let script: Script;
  try {
    script = compile(bundle, source);
  } finally {
    setFlagsFromString('--lazy');
  }
  writeFileSync(cacheFile(bundle), Buffer.concat([header(source), source, script.createCachedData()]));
}
