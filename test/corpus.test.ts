// The bad-input corpus (test/corpus/*.json): configs, arguments, names and
// btrfs-progs output that must be refused or survived. Each entry runs the CLI
// against one real Btrfs host layout and asserts its exit code, that the message
// names the field, path or argument, and that nothing on disk changed: the
// subvolume list and the whole tree under the top level are compared before and after.
//
// An entry: { about, args, exit, mentions, config?, rawConfig?, files?, btrfs?, maxSeconds? }
//   config     overrides merged into the fixture's config ($DIR: the fixture directory)
//   rawConfig  the config file's text as is (for text that is not JSON)
//   files      files to create first ({ "$DIR/x": "content" })
//   btrfs      btrfs-progs output to fake: { "subvolume list": { replace | append: text } }
//              (a wrapper on PATH runs the real btrfs and replaces or extends its stdout)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeBtrfs, layoutHost, type BtrfsFixture } from './helpers/btrfs.js';
import { cli, CLI, writeConfig } from './helpers/cli.js';
import { skipUnless, BTRFS_REQ } from './helpers/env.js';

interface Entry {
  about: string;
  args: string[];
  exit: number;
  mentions: string[];
  config?: Record<string, unknown>;
  rawConfig?: string;
  files?: Record<string, string>;
  btrfs?: Record<string, { replace?: string; append?: string }>;
  maxSeconds?: number;
}

const DIR = join(__dirname, 'corpus');
const corpus = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => ({ name: f.replace(/\.json$/, ''), entry: JSON.parse(readFileSync(join(DIR, f), 'utf8')) as Entry }));

const skip = skipUnless(BTRFS_REQ) || (existsSync(CLI) ? false : 'dist/ not built (npm run build)');
let fx: BtrfsFixture;
let wrapperDir: string;

/** A btrfs on PATH that runs the real one, then replaces or extends the stdout of the faked subcommands. */
function writeWrapper(dir: string): void {
  const real = execFileSync('sh', ['-c', 'command -v btrfs'], { encoding: 'utf8' }).trim();
  mkdirSync(dir, { recursive: true });
  const script = `#!${process.execPath}
const { spawnSync } = require('node:child_process');
const args = process.argv.slice(2);
const r = spawnSync(${JSON.stringify(real)}, args, { stdio: ['inherit', 'pipe', 'inherit'] });
const fakes = JSON.parse(process.env.CORPUS_BTRFS || '{}');
const key = Object.keys(fakes).find((k) => args.join(' ').startsWith(k));
let out = r.stdout;
if (key && r.status === 0) {
  const f = fakes[key];
  out = f.replace !== undefined ? Buffer.from(f.replace) : Buffer.concat([out, Buffer.from(f.append || '')]);
}
process.stdout.write(out);
process.exitCode = r.status === null ? 1 : r.status;
`;
  writeFileSync(join(dir, 'btrfs'), script);
  chmodSync(join(dir, 'btrfs'), 0o755);
}

/** Everything a command could change: the subvolumes and every file's type, size, mode and times. */
function diskState(): string {
  const lines = [execFileSync('btrfs', ['subvolume', 'list', '-a', '-p', '-c', '-u', '-q', '-R', fx.top], { encoding: 'latin1' })];
  const walk = (rel: string) => {
    const st = lstatSync(join(fx.top, rel));
    lines.push(`${JSON.stringify(rel)} ${st.mode.toString(8)} ${st.isDirectory() ? '-' : st.size} ${st.mtimeMs} ${st.ctimeMs} ${st.ino}`);
    if (st.isDirectory()) for (const n of readdirSync(join(fx.top, rel)).sort()) walk(rel ? `${rel}/${n}` : n);
  };
  walk('');
  return lines.join('\n');
}

const expand = (v: unknown): unknown =>
  typeof v === 'string' ? v.replaceAll('$DIR', fx.dir) : Array.isArray(v) ? v.map(expand) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [expand(k) as string, expand(x)])) : v;

before(() => {
  if (skip) return;
  fx = makeBtrfs();
  layoutHost(fx);
  wrapperDir = join(fx.dir, 'bin');
  writeWrapper(wrapperDir);
});
after(() => fx?.cleanup());

test('the corpus has entries of every kind', () => {
  const kinds = new Set(corpus.map((c) => c.name.split('-')[0]));
  assert.deepEqual([...kinds].sort(), ['args', 'btrfs', 'config']);
  assert.ok(corpus.length >= 30, `${corpus.length} entries`);
});

for (const { name, entry } of corpus) {
  test(`corpus ${name}: exit ${entry.exit}, names ${entry.mentions.map((m) => JSON.stringify(m)).join(', ') || 'nothing'}, changes nothing`, { skip }, () => {
    for (const [path, content] of Object.entries(entry.files ?? {})) writeFileSync(expand(path) as string, content);
    const cfg = writeConfig(fx, (expand(entry.config ?? {}) as Record<string, unknown>) ?? {});
    if (entry.rawConfig !== undefined) writeFileSync(cfg, entry.rawConfig);
    const env: Record<string, string> = entry.btrfs ? { PATH: `${wrapperDir}:${process.env.PATH}`, CORPUS_BTRFS: JSON.stringify(entry.btrfs) } : {};
    const before = diskState();
    const started = Date.now();
    try {
      const r = cli(entry.args, { config: cfg, env });
      const said = r.stdout + r.stderr;
      assert.equal(r.code, entry.exit, `${entry.about}\n${said}`);
      for (const m of entry.mentions) assert.ok(said.includes(expand(m) as string), `the message names ${JSON.stringify(m)}:\n${said}`);
      assert.doesNotMatch(r.stderr, /\n\s+at .*\(.*:\d+:\d+\)/, 'no stack trace');
      if (entry.maxSeconds) assert.ok(Date.now() - started < entry.maxSeconds * 1000, 'fails at once, never spins');
      assert.equal(diskState(), before, 'nothing on disk changed');
    } finally {
      for (const path of Object.keys(entry.files ?? {})) rmSync(expand(path) as string, { force: true });
    }
  });
}
