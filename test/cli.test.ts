// The command line itself: help, version, usage errors, completions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { COMMANDS } from '../src/cli/spec.js';
import { cli, CLI } from './helpers/cli.js';
import { skipUnless } from './helpers/env.js';

const built = existsSync(CLI) ? false : 'dist/ not built (npm run build)';

test('--version and --help', { skip: built }, () => {
  const v = cli(['--version']);
  assert.equal(v.code, 0);
  assert.match(v.stdout, /^pantheragent \d+\.\d+\.\d+\n$/);
  const h = cli(['--help']);
  assert.equal(h.code, 0);
  for (const c of COMMANDS) assert.match(h.stdout, new RegExp(`^  ${c.name} `, 'm'));
  assert.equal(cli([]).code, 64, 'no command is a usage error');
});

test('the launcher answers --version as the full CLI does', { skip: built }, () => {
  // `--version --json` alone is answered by the launcher; with --log-level beside it, by main().
  for (const json of [false, true]) {
    const fast = cli(json ? ['-V', '--json'] : ['--version']);
    const full = cli(['--log-level', 'warn', '--version', ...(json ? ['--json'] : [])]);
    assert.equal(fast.code, 0);
    assert.equal(full.code, 0);
    assert.equal(fast.stdout, full.stdout);
  }
  assert.deepEqual(Object.keys(JSON.parse(cli(['--json', '--version']).stdout)), ['version']);
});

test('every command has its own bundle, which the launcher finds by the command name', { skip: built }, () => {
  // A command whose module is not src/cli/commands/<name>.ts would still run, from the
  // whole CLI's bundle, but every run would compile all the other commands too.
  for (const c of COMMANDS) assert.ok(existsSync(join(dirname(CLI), `command-${c.name}.cjs`)), `dist/command-${c.name}.cjs`);
  const r = cli(['completions', 'fish']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /complete -c pantheragent/);
});

test('every command has help with its usage and an example', { skip: built }, () => {
  for (const c of COMMANDS) {
    const r = cli([c.name, '--help']);
    assert.equal(r.code, 0, c.name);
    assert.ok(r.stdout.includes(`Usage: pantheragent ${c.usage}`), c.name);
    assert.ok(c.examples.length > 0 && r.stdout.includes(c.examples[0]!), `${c.name} shows an example`);
  }
});

test('usage errors exit 64 and point at help', { skip: built }, () => {
  const unknown = cli(['frobnicate']);
  assert.equal(unknown.code, 64);
  assert.match(unknown.stderr, /unknown command "frobnicate"/);
  const badOpt = cli(['status', '--frob']);
  assert.equal(badOpt.code, 64);
  assert.match(badOpt.stderr, /pantheragent status --help/);
  const badWait = cli(['--wait', 'soon', 'status'], { config: '/nonexistent' });
  assert.equal(badWait.code, 64);
  const comp = cli(['completions', 'powershell']);
  assert.equal(comp.code, 64);
});

test('completions name every command and option, and parse in their shells', { skip: built }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'pantheragent-completions-'));
  try {
    for (const shell of ['fish', 'bash', 'zsh']) {
      const r = cli(['completions', shell]);
      assert.equal(r.code, 0);
      for (const c of COMMANDS) {
        assert.ok(r.stdout.includes(c.name), `${shell}: ${c.name}`);
        for (const o of Object.keys(c.options)) assert.ok(r.stdout.includes(o), `${shell}: ${c.name} --${o}`);
      }
      const file = join(dir, `pantheragent.${shell}`);
      writeFileSync(file, r.stdout);
      const skip = skipUnless({ commands: [shell] });
      if (skip) continue;
      const check = spawnSync(shell, ['-n', file], { encoding: 'utf8' });
      assert.equal(check.status, 0, `${shell} -n: ${check.stderr}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bash completion offers commands, then that command\'s options', { skip: skipUnless({ commands: ['bash'] }) || built }, () => {
  const script = cli(['completions', 'bash']).stdout;
  const ask = (words: string) =>
    spawnSync('bash', ['-c', `${script}\nCOMP_WORDS=(${words}); COMP_CWORD=$((\${#COMP_WORDS[@]}-1)); _pantheragent; printf '%s\\n' "\${COMPREPLY[@]}"`], { encoding: 'utf8' }).stdout.split('\n');
  assert.ok(ask("pantheragent sn").includes('snapshot'));
  assert.ok(ask("pantheragent snapshot --p").includes('--pin'));
  assert.ok(!ask("pantheragent list --p").includes('--pin'));
});

test('completion of sources asks pantheragent for this host\'s names', { skip: skipUnless({ commands: ['bash'] }) || built }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'pantheragent-completions-'));
  try {
    const bin = join(dir, 'pantheragent');
    writeFileSync(bin, `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`, { mode: 0o755 });
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({ host: 'yoga', snapshots: { sources: { '@persist': {}, '@photos': {}, '@log': {} } } }));
    const values = cli(['completions', '--values', 'sources'], { config });
    assert.deepEqual(values.stdout.trim().split('\n'), ['@persist', '@photos', '@log']);
    const script = cli(['completions', 'bash']).stdout;
    const r = spawnSync('bash', ['-c', `${script}\nCOMP_WORDS=(pantheragent snapshot @p); COMP_CWORD=2; _pantheragent; printf '%s\\n' "\${COMPREPLY[@]}"`], {
      encoding: 'utf8',
      env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, PANTHERAGENT_CONFIG: config },
    });
    assert.deepEqual(r.stdout.trim().split('\n').sort(), ['@persist', '@photos']);
    assert.equal(cli(['completions', '--values', 'colours'], { config }).code, 64);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
