// Bundles src/ into CommonJS files in dist/, so that a run compiles only what it uses
// (compiling is most of a short run's own time):
// - pantheragent.cjs, the executable: a small launcher (src/cli/launch.ts) that
//   answers --version alone and loads one of the others;
// - command-NAME.cjs, one per file src/cli/commands/NAME.ts: the CLI (src/cli/main.ts)
//   with that command's code and none of the others' (a command's name is its file's);
// - pantheragent-main.cjs, the whole CLI: help, unknown names;
// - pantheragent-pino.cjs, pino, loaded at the first log line actually written.
// better-sqlite3 stays external (native addon); pino-pretty stays external so it is
// only loaded on a TTY. Each bundle the launcher or the logger loads gets its V8 code cache,
// NAME.cjs.v8cache (src/cli/code-cache.ts), made by this Node.
import { build } from 'esbuild';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external: ['better-sqlite3', 'pino-pretty'],
  define: { __PANTHERAGENT_VERSION__: JSON.stringify(pkg.version) },
  legalComments: 'none',
  minify: process.env.PANTHERAGENT_NO_MINIFY !== '1',
  keepNames: true,
  logLevel: 'warning',
};
/** `require('pino')` in the CLI loads the separate pino bundle, from its code cache. */
const pinoApart = {
  name: 'pino-apart',
  setup(b) {
    b.onResolve({ filter: /^pino$/ }, () => ({ path: 'pino', namespace: 'pino-apart' }));
    b.onLoad({ filter: /.*/, namespace: 'pino-apart' }, () => ({
      contents: "module.exports = require('./src/cli/code-cache.ts').loadBundle(`${__dirname}/pantheragent-pino.cjs`).exports;",
      resolveDir: process.cwd(),
      loader: 'js',
    }));
  },
};
/** The command table's imports of every command but `keep` (none: null) become a module that says so. */
const onlyCommand = (keep) => ({
  name: 'only-command',
  setup(b) {
    b.onResolve({ filter: /^\.\/commands\/[^/]+\.js$/ }, (a) => {
      const name = a.path.slice('./commands/'.length, -'.js'.length);
      return a.importer.endsWith('/src/cli/spec.ts') && name !== keep ? { path: name, namespace: 'elsewhere' } : undefined;
    });
    b.onLoad({ filter: /.*/, namespace: 'elsewhere' }, (a) => ({
      contents: `export function run() { throw new Error(${JSON.stringify(`internal: the command "${a.path}" is not in this bundle (${keep === null ? 'the launcher' : `dist/command-${keep}.cjs`})`)}); }`,
      loader: 'js',
    }));
  },
});
const commands = readdirSync('src/cli/commands').filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3));
const out = 'dist/pantheragent.cjs';
const cached = await Promise.all([
  build({ ...common, metafile: true, entryPoints: ['src/cli/main.ts'], outfile: 'dist/pantheragent-main.cjs', plugins: [pinoApart] }),
  ...commands.map((c) => build({ ...common, metafile: true, entryPoints: ['src/cli/main.ts'], outfile: `dist/command-${c}.cjs`, plugins: [pinoApart, onlyCommand(c)] })),
  build({ ...common, metafile: true, stdin: { contents: "module.exports = require('pino');", resolveDir: '.', loader: 'js' }, outfile: 'dist/pantheragent-pino.cjs' }),
]);
// Node 20 loses a script's import() handler when its code comes from a cache: a bundle
// loaded from one must not keep an import() (a require does the same job).
for (const { metafile } of cached) {
  for (const [file, o] of Object.entries(metafile.outputs)) {
    const kept = o.imports.filter((i) => i.kind === 'dynamic-import' && i.external);
    if (kept.length) throw new Error(`${file} keeps import() of ${kept.map((i) => i.path).join(', ')}: use a require (src/cli/code-cache.ts)`);
  }
}
await build({ ...common, entryPoints: ['src/cli/launch.ts'], outfile: out, banner: { js: '#!/usr/bin/env node' }, plugins: [onlyCommand(null)] });
chmodSync(out, 0o755);
// A command that is gone must not leave its bundle (or cache) for the launcher to find.
for (const f of readdirSync('dist')) {
  const m = /^command-(.+)\.cjs(\.v8cache)?$/.exec(f);
  if (m && !commands.includes(m[1])) rmSync(`dist/${f}`);
}
// The cache writer is TypeScript: bundled to a temporary file to run it here.
const tmp = mkdtempSync(join(tmpdir(), 'pantheragent-build-'));
try {
  const writer = await build({ ...common, minify: false, entryPoints: ['src/cli/code-cache.ts'], write: false });
  writeFileSync(join(tmp, 'code-cache.cjs'), writer.outputFiles[0].contents);
  const { writeCodeCache } = createRequire(import.meta.url)(join(tmp, 'code-cache.cjs'));
  for (const f of ['pantheragent-main.cjs', 'pantheragent-pino.cjs', ...commands.map((c) => `command-${c}.cjs`)]) writeCodeCache(`${process.cwd()}/dist/${f}`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
