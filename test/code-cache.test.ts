// The bundles' V8 code caches (src/cli/code-cache.ts): used when made for the exact
// bytes of the bundle, by this Node; otherwise the bundle compiles from source and runs
// the same. A cache must never make a run different.
// Each cache is made and used in separate plain node processes, as by the build and a
// run: within one process V8 finds a script it compiled before in memory and never
// reads the cached data at all.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { cacheFile } from '../src/cli/code-cache.js';
import { CLI } from './helpers/cli.js';

const DIST = join(__dirname, '..', 'dist');
const PREFIX = join(tmpdir(), 'pantheragent-code-cache-');
let dir: string;
let loader: string;

before(async () => {
  dir = mkdtempSync(PREFIX);
  loader = join(dir, 'loader.cjs');
  await build({ entryPoints: [join(__dirname, '../src/cli/code-cache.ts')], bundle: true, platform: 'node', format: 'cjs', outfile: loader, logLevel: 'warning' });
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `code` in a plain node process with the loader's exports in scope; its stdout lines. */
function node(code: string): string[] {
  const r = spawnSync(process.execPath, ['-e', `const { loadBundle, writeCodeCache } = require(${JSON.stringify(loader)});\n${code}`], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim().split('\n');
}

const bundleIn = (name: string) => join(dir, name, 'command-x.cjs');

/** Writes `text` to `file`, which must be a test bundle or its cache inside this test's directory. */
function put(file: string, text: string | Buffer): void {
  assert.ok(file.startsWith(PREFIX) && file.startsWith(dir + '/') && /\/command-x\.cjs(\.v8cache)?$/.test(file), `refusing to write ${file}`);
  writeFileSync(file, text);
}

/** A small bundle in its own directory under this test's, with its cache made by another process. */
function cachedBundle(name: string, word: string): string {
  const bundle = bundleIn(name);
  mkdirSync(join(dir, name));
  put(bundle, source(word));
  node(`writeCodeCache(${JSON.stringify(bundle)});`);
  return bundle;
}

// A bundle as esbuild writes one: require()s, never import() (build.mjs refuses one that keeps it).
const source = (word: string) =>
  `"use strict"; const path = require("node:path"); exports.word = ${JSON.stringify(word)}; exports.shout = () => exports.word.toUpperCase() + "!"; exports.base = () => path.basename(__filename);`;

/** What loading `bundle` in a fresh process gives: the cache's fate, and the bundle's answers. */
const load = (bundle: string) => node(`const r = loadBundle(${JSON.stringify(bundle)}); console.log(r.cache, r.exports.shout(), r.exports.base());`)[0]!.split(' ');

test('a cache made for these exact bytes is used, and the bundle behaves as from source', () => {
  const bundle = cachedBundle('used', 'one');
  // require and __filename as in a module.
  assert.deepEqual(load(bundle), ['used', 'ONE!', 'command-x.cjs']);
  rmSync(cacheFile(bundle));
  assert.deepEqual(load(bundle), ['none', 'ONE!', 'command-x.cjs']);
});

test('a bundle changed to the same length runs its new code, not the cached bytecode', () => {
  const bundle = cachedBundle('stale', 'one');
  put(bundle, source('two'));
  assert.equal(readFileSync(bundle).length, source('one').length, 'V8 alone would take the cache: it checks only the length');
  assert.deepEqual(load(bundle), ['stale', 'TWO!', 'command-x.cjs']);
});

test('damaged cached data is rejected by its checksum and the bundle compiles from source', () => {
  const bundle = cachedBundle('damaged', 'one');
  const cache = readFileSync(cacheFile(bundle));
  // Past the header line and the copy of the source: V8's own data.
  const v8Data = cache.indexOf('\n') + 1 + readFileSync(bundle).length;
  for (const at of [v8Data + 40, v8Data + 100, Math.floor((v8Data + cache.length) / 2)]) {
    const damaged = Buffer.from(cache);
    damaged[at]! ^= 0x5a;
    put(cacheFile(bundle), damaged);
    assert.deepEqual(load(bundle), ['rejected', 'ONE!', 'command-x.cjs'], `byte ${at - v8Data} of V8's data`);
  }
});

test('a cache made by another Node, or cut short, is not used', () => {
  const bundle = cachedBundle('other', 'one');
  const cache = readFileSync(cacheFile(bundle));
  put(cacheFile(bundle), Buffer.from(cache.toString('latin1').replace(` ${process.version} `, ' v0.0.1 '), 'latin1'));
  assert.deepEqual(load(bundle), ['stale', 'ONE!', 'command-x.cjs']);
  put(cacheFile(bundle), cache.subarray(0, cache.indexOf('\n') + 10));
  assert.deepEqual(load(bundle), ['stale', 'ONE!', 'command-x.cjs']);
});

test('the build leaves a cache for every bundle the launcher loads, and a plain node run uses it', { skip: existsSync(CLI) ? false : 'dist/ not built (npm run build)' }, () => {
  const bundles = readdirSync(DIST)
    .filter((f) => /^(command-.+|pantheragent-main|pantheragent-pino)\.cjs$/.test(f))
    .map((f) => join(DIST, f));
  assert.ok(bundles.length > 10);
  for (const b of bundles) assert.ok(existsSync(cacheFile(b)), cacheFile(b));
  const uses = node(`for (const f of ${JSON.stringify(bundles)}) console.log(loadBundle(f).cache);`);
  assert.deepEqual(uses, bundles.map(() => 'used'));
});
