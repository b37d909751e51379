// Bundles src/ into one CommonJS file. better-sqlite3 stays external (native addon);
// pino-pretty stays external so it is only loaded on a TTY.
import { build } from 'esbuild';
import { readFileSync, chmodSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));
const out = 'dist/pantheragent.cjs';
await build({
  entryPoints: ['src/cli/main.ts'],
  outfile: out,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external: ['better-sqlite3', 'pino-pretty'],
  banner: { js: '#!/usr/bin/env node' },
  define: { __PANTHERAGENT_VERSION__: JSON.stringify(pkg.version) },
  legalComments: 'none',
  minify: process.env.PANTHERAGENT_NO_MINIFY !== '1',
  keepNames: true,
  logLevel: 'warning',
});
chmodSync(out, 0o755);
