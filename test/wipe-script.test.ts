// The rendered initrd script as text: valid POSIX sh for dash and bash, shellcheck
// clean, made of the plan's steps in order, quoting whatever the configuration holds,
// and with nothing in it that deletes. (Running it on real Btrfs: wipe-executors.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasCommand, skipUnless } from './helpers/env.js';
import { cli } from './helpers/cli.js';
import { MARKER_NAME_CHARS, planWipe } from '../src/wipe/plan.js';
import { RECORD_KEYS } from '../src/wipe/record.js';
import { renderInitrdScript, shq } from '../src/wipe/render.js';

const layouts = {
  defaults: { device: '/dev/mapper/cryptroot', root: '@root', blank: '@root-blank', archiveDir: '@old_roots' },
  hostile: { device: "/dev/disk/by-label/it's $(reboot) `x` \"y\"", root: "sys/@r'$(touch${IFS}x)'", blank: '@b`l*nk"\\', archiveDir: 'old%roots;|&' },
};
const render = (l: (typeof layouts)[keyof typeof layouts]) => renderInitrdScript(planWipe(l, null), { version: 'test' });

function withFile<T>(text: string, fn: (file: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'pantheragent-script-'));
  try {
    const file = join(dir, 'wipe.sh');
    writeFileSync(file, text);
    return fn(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const [name, layout] of Object.entries(layouts)) {
  test(`${name}: sh -n, dash -n and bash -n accept it`, { skip: skipUnless({ commands: ['dash', 'bash'] }) }, () => {
    withFile(render(layout), (file) => {
      for (const sh of ['sh', 'dash', 'bash']) {
        const r = spawnSync(sh, ['-n', file], { encoding: 'utf8' });
        assert.equal(r.status, 0, `${sh} -n: ${r.stderr}`);
      }
      const posix = spawnSync('bash', ['--posix', '-n', file], { encoding: 'utf8' });
      assert.equal(posix.status, 0, posix.stderr);
    });
  });

  test(`${name}: shellcheck finds nothing, as sh, dash and bash`, { skip: hasCommand('shellcheck') ? false : 'shellcheck is not installed' }, () => {
    withFile(render(layout), (file) => {
      for (const dialect of ['sh', 'dash', 'bash']) {
        const r = spawnSync('shellcheck', ['-s', dialect, '-S', 'style', file], { encoding: 'utf8' });
        assert.equal(r.status, 0, `shellcheck -s ${dialect}:\n${r.stdout}`);
      }
    });
  });

  test(`${name}: the configuration values come out exactly as configured`, { skip: skipUnless({ commands: ['dash'] }) }, () => {
    // Run only the assignments (everything before the state section) and print them back.
    const script = render(layout);
    const head = script.slice(0, script.indexOf('# State, as the steps decide it.'));
    const r = spawnSync('dash', ['-c', `${head}\nprintf '%s\\n' "$device" "$root" "$blank" "$archive"`], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.split('\n').slice(0, 4), [layout.device, layout.root, layout.blank, layout.archiveDir]);
  });
}

test('shq quotes anything for sh', { skip: skipUnless({ commands: ['dash'] }) }, () => {
  for (const s of ['', "'", "''", "a'b", '$(id)', '`id`', '"\\', '\n', 'ü €', "--'-x"]) {
    const r = spawnSync('dash', ['-c', `printf '%s' ${shq(s)}`], { encoding: 'utf8' });
    assert.equal(r.stdout, s, JSON.stringify(s));
  }
});

test('the script is the plan: its steps in order, the record keys in order, the marker rule, no deletion', () => {
  const plan = planWipe(layouts.defaults, null);
  const script = render(layouts.defaults);
  const steps = [...script.matchAll(/^# Step (\d+): (\S+)$/gm)].map((m) => [Number(m[1]), m[2]]);
  assert.deepEqual(steps, plan.steps.map((s, i) => [i + 1, s.kind]));
  const line = /^ {2}line="(.*)"$/m.exec(script)?.[1];
  assert.deepEqual(line?.split(' ').map((p) => p.split('=')[0]), [...RECORD_KEYS]);
  assert.ok(script.includes(`*[!${MARKER_NAME_CHARS}]*`));
  assert.ok(script.startsWith('#!/bin/sh\n'));
  assert.doesNotMatch(script, /\b(rm|rmdir|unlink|shred)\b|subvolume delete|\bdelete\b/, 'nothing in it deletes');
  assert.doesNotMatch(script, /\[\[|\bfunction\b|\blocal\b|\$\(\(.*\+\+|<<<|\bdeclare\b|^\s*(source|\.) |\$'|\bpipefail\b/m, 'no bashisms');
  assert.match(script, /stat -c %i/);
  assert.match(script, /mv -T -- "\$mp\/\$root" "\$mp\/\$archive\/\$base\.\$suffix"/);
  assert.equal(render(layouts.defaults), script, 'deterministic: the same configuration renders the same script');
});

test('render-initrd prints the script, and --json gives it with the plan', { skip: skipUnless({ commands: ['node'] }) }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'pantheragent-render-'));
  try {
    const cfg = join(dir, 'config.json');
    writeFileSync(cfg, JSON.stringify({ host: 'yoga', btrfs: { device: '/dev/mapper/cryptroot' } }));
    const r = cli(['render-initrd'], { config: cfg });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^#!\/bin\/sh\n/);
    assert.match(r.stdout, /^device='\/dev\/mapper\/cryptroot'$/m);
    const doc = cli(['--json', 'render-initrd'], { config: cfg }).json();
    assert.equal(doc.script, r.stdout);
    assert.equal(doc.plan.stamp, null);
    assert.equal(doc.plan.steps.length, 9);
    assert.deepEqual(Object.keys(doc.environment), ['PANTHERAGENT_WIPE_MOUNTPOINT', 'PANTHERAGENT_WIPE_EPOCH', 'PANTHERAGENT_WIPE_CMDLINE']);
    assert.equal(cli(['render-initrd', 'extra'], { config: cfg }).code, 64);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
