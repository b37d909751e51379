// Bundles src/ into CommonJS files in dist/, so that a run compiles only what it uses:
// - pantheragent.cjs, the executable: a small launcher (src/cli/launch.ts) that
//   answers --version alone and requires the CLI for everything else;
// - pantheragent-main.cjs, the CLI (src/cli/main.ts and all it imports);
// - pantheragent-pino.cjs, pino, required at the first log line actually written.
// better-sqlite3 stays external (native addon); pino-pretty stays external so it is
// only loaded on a TTY.
import { build } from 'esbuild';
import { readFileSync, chmodSync } from 'node:fs';

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
/** `require('pino')` in the CLI becomes a require of the separate pino bundle. */
const pinoApart = {
  name: 'pino-apart',
  setup(b) {
    b.onResolve({ filter: /^pino$/ }, () => ({ path: './pantheragent-pino.cjs', external: true }));
  },
};
const out = 'dist/pantheragent.cjs';
await Promise.all([
  build({ ...common, entryPoints: ['src/cli/launch.ts'], outfile: out, banner: { js: '#!/usr/bin/env node' } }),
  build({ ...common, entryPoints: ['src/cli/main.ts'], outfile: 'dist/pantheragent-main.cjs', plugins: [pinoApart] }),
  build({ ...common, stdin: { contents: "module.exports = require('pino');", resolveDir: '.', loader: 'js' }, outfile: 'dist/pantheragent-pino.cjs' }),
]);
chmodSync(out, 0o755);
