// The standing proof of DESIGN.md section 10 (`npm run test:faults`): every failpoint
// the code defines, found by reading src/ (so a new one is swept without editing this
// file), is hit with SIGKILL on real Btrfs; then `status`, then the interrupted command
// again; then every invariant is checked: no snapshot lost that retention did not
// condemn, no live subvolume touched, the index equal to the filesystem, a rollback
// either whole or absent.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { listSubvolumes } from '../src/btrfs/btrfs.js';
import { formatName } from '../src/btrfs/names.js';
import { makeBtrfs, layoutHost, type BtrfsFixture } from './helpers/btrfs.js';
import { cli, writeConfig } from './helpers/cli.js';
import { skipUnless, BTRFS_REQ } from './helpers/env.js';
import { makeSysfs } from './helpers/sysfs.js';

const SRC = join(__dirname, '../src');

/** Every failpoint name in src/: literal `failpoint('x')` calls and the entries of every exported *_FAILPOINTS list. */
export function discoverFailpoints(): string[] {
  const names = new Set<string>();
  const walk = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? walk(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : []));
  for (const file of walk(SRC)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/\bfailpoint\(\s*'([^']+)'\s*\)/g)) names.add(m[1]!);
    for (const m of text.matchAll(/export const \w*FAILPOINTS\s*=\s*\[([^\]]*)\]/g)) {
      for (const s of m[1]!.matchAll(/'([^']+)'/g)) names.add(s[1]!);
    }
  }
  return [...names].sort();
}

const HOUR = 3_600_000;
const skip = skipUnless(BTRFS_REQ);

interface Host {
  fx: BtrfsFixture;
  cfg: string;
  stateDir: string;
  /** A name a scenario's prepare step made, for its command. */
  ref?: string;
  settings: Record<string, unknown>;
  cleanups: (() => void)[];
}

/** A host with a day of hourly @persist snapshots (made oldest first, as the timer does), a file in every live subvolume. */
function host(): Host {
  const fx = makeBtrfs({ sizeMiB: 768 });
  layoutHost(fx);
  for (const s of ['@persist', '@home', '@log', '@root']) writeFileSync(join(fx.top, s, 'file'), `${s} v1\n`);
  const now = Math.floor(Date.now() / HOUR) * HOUR;
  for (let h = 40; h >= 1; h--) fx.btrfs('subvolume', 'snapshot', '-r', join(fx.top, '@persist'), join(fx.top, '@snapshots', formatName('@persist', now - h * HOUR)));
  const settings = {
    snapshots: {
      sources: {
        '@persist': { retention: { preserveMin: 'no', preserve: '6h' } },
        '@home': { retention: { preserveMin: '1d', preserve: '7d' } },
        '@log': { retention: { preserveMin: '1d', preserve: '7d' } },
      },
    },
  };
  const h: Host = { fx, cfg: writeConfig(fx, settings), stateDir: join(fx.dir, 'state'), settings, cleanups: [] };
  // A mutating run makes the index that the invariants compare with the filesystem.
  ok(h, ['snapshot', '@log']);
  return h;
}

interface Scenario {
  /** Run before the snapshot of the world is taken (not killed). */
  prepare?(h: Host): void;
  /** The interrupted command. */
  args: string[] | ((h: Host) => string[]);
  /** Extra invariants after recovery. */
  check?(h: Host, before: World): void;
}

const ok = (h: Host, args: string[]) => {
  const r = cli(args, { config: h.cfg });
  assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  return r;
};

/** Which command reaches a failpoint: by its whole name, else by its prefix. A new prefix must be added here, and the test says so. */
const SCENARIOS: Record<string, Scenario> = {
  // Reached only when the blank is missing and the wipe makes it.
  'wipe.after-blank-create': {
    prepare(h) {
      h.fx.btrfs('subvolume', 'delete', join(h.fx.top, '@root-blank'));
    },
    args: ['wipe', '--yes'],
  },
  snapshot: { args: ['snapshot', '--prune'] },
  prune: { args: ['prune', '--yes'] },
  wipe: {
    args: ['wipe', '--yes'],
    check(h) {
      // The root is either the old one or a fresh one; the old one's file is never lost.
      const roots = readdirSync(join(h.fx.top, '@old_roots'));
      const live = readdirSync(join(h.fx.top, '@root'));
      const archived = roots.some((r) => readdirSync(join(h.fx.top, '@old_roots', r)).includes('file'));
      assert.ok(live.includes('file') || archived, 'the old root survives, live or archived');
    },
  },
  // Power writes sysfs, not Btrfs: a fixture tree of a laptop; after the kill the
  // profile is applied in full by the next run, and nothing on the disk changed.
  power: {
    prepare(h) {
      const sys = makeSysfs('zephyrus');
      h.cleanups.push(sys.cleanup);
      const systemRoot = join(sys.dir, 'root');
      mkdirSync(join(systemRoot, 'proc'), { recursive: true });
      h.cfg = writeConfig(h.fx, { ...h.settings, host: 'zephyrus', systemRoot, power: { enable: true, model: 'auto', sysfsRoot: sys.root } });
    },
    args: ['profile', 'auto'],
    check(h) {
      const show = ok(h, ['--json', 'profile', 'show']).json();
      assert.equal(show.drift, false, 'every knob as declared');
    },
  },
  rollback: {
    prepare(h) {
      ok(h, ['snapshot', '@persist', '--tag', 'before-change']);
      writeFileSync(join(h.fx.top, '@persist', 'file'), '@persist v2\n');
    },
    args: ['rollback', '@persist', '--to', 'latest', '--yes'],
    check(h) {
      const content = readFileSync(join(h.fx.top, '@persist', 'file'), 'utf8');
      assert.ok(content === '@persist v1\n' || content === '@persist v2\n', `@persist is either rolled back or untouched, not ${JSON.stringify(content)}`);
    },
  },
  'rollback-root': {
    prepare(h) {
      ok(h, ['wipe', '--yes']);
    },
    args: ['rollback', 'root', '--to', 'previous-boot', '--yes'],
  },
  restore: {
    prepare(h) {
      h.ref = ok(h, ['--json', 'snapshot', '@persist']).json().created[0].name;
      writeFileSync(join(h.fx.top, '@persist', 'file'), '@persist v2\n');
    },
    args: (h) => ['restore', '/file', '--from', h.ref!, '--yes'],
    check(h) {
      const content = readFileSync(join(h.fx.top, '@persist', 'file'), 'utf8');
      assert.ok(content === '@persist v1\n' || content === '@persist v2\n', `the file is either restored or untouched, not ${JSON.stringify(content)}`);
    },
  },
};

interface World {
  uuids: Map<string, string>;
  condemned: Set<string>;
  live: Map<string, { uuid: string; file: string }>;
}

const LIVE_KEPT = ['@home', '@log', '@nix', '@root-blank'];

function world(h: Host): World {
  const subs = listSubvolumes(h.fx.top);
  const plan = cli(['--json', 'prune', '--dry-run'], { config: h.cfg }).json();
  const live = new Map<string, { uuid: string; file: string }>();
  for (const rel of LIVE_KEPT) {
    const sv = subs.find((s) => s.path === rel);
    if (!sv) continue;
    let file = '';
    try {
      file = readFileSync(join(h.fx.top, rel, 'file'), 'utf8');
    } catch {
      /* @nix and the blank hold no file */
    }
    live.set(rel, { uuid: sv.uuid, file });
  }
  return { uuids: new Map(subs.map((s) => [s.uuid, s.path])), condemned: new Set(plan.condemned as string[]), live };
}

function checkInvariants(h: Host, before: World): void {
  const subs = listSubvolumes(h.fx.top);
  const now = new Set(subs.map((s) => s.uuid));
  for (const [uuid, path] of before.uuids) {
    if (!now.has(uuid)) assert.ok(before.condemned.has(path), `${path} was lost although retention did not condemn it`);
  }
  for (const [rel, was] of before.live) {
    const sv = subs.find((s) => s.path === rel);
    assert.equal(sv?.uuid, was.uuid, `${rel} is the same subvolume`);
    if (was.file) assert.equal(readFileSync(join(h.fx.top, rel, 'file'), 'utf8'), was.file, `${rel} unchanged`);
  }
  // The index equals the filesystem: every read-only, well-named subvolume in the
  // snapshot and archive directories is indexed, and nothing else is.
  const inv = cli(['--json', 'list'], { config: h.cfg }).json();
  const roots = cli(['--json', 'list', '--roots'], { config: h.cfg }).json();
  const onDisk = new Set([...inv.entries, ...roots.entries].map((e: any) => e.uuid as string));
  const db = new Database(join(h.stateDir, 'state.db'), { readonly: true, fileMustExist: true });
  try {
    const indexed = new Set((db.prepare('SELECT uuid FROM subvolumes').all() as { uuid: string }[]).map((r) => r.uuid));
    assert.deepEqual([...indexed].sort(), [...onDisk].sort(), 'the index equals the filesystem');
    const open = db.prepare("SELECT op FROM journal WHERE state = 'open'").all();
    assert.deepEqual(open, [], 'no journal entry is left open');
  } finally {
    db.close();
  }
}

const failpoints = discoverFailpoints();
let covered = 0;
after(() => {
  if (!skip) process.stderr.write(`failpoints covered: ${covered} of ${failpoints.length} (${failpoints.join(', ')})\n`);
});

test('the sweep finds the failpoints of every mutating capability', () => {
  for (const p of ['snapshot.', 'prune.', 'wipe.']) assert.ok(failpoints.some((f) => f.startsWith(p)), `a ${p}* failpoint`);
  for (const f of failpoints) assert.ok(scenarioFor(f), `no scenario reaches failpoint ${f}: add one for "${f.split('.')[0]}" to SCENARIOS`);
});

function scenarioFor(point: string): Scenario | undefined {
  return SCENARIOS[point] ?? SCENARIOS[point.split('.')[0]!];
}

for (const point of failpoints) {
  const scenario = scenarioFor(point);
  test(`SIGKILL at ${point}: the next run restores every invariant`, { skip: skip || !scenario }, () => {
    const h = host();
    try {
      scenario!.prepare?.(h);
      const before = world(h);
      const args = typeof scenario!.args === 'function' ? scenario!.args(h) : scenario!.args;
      const killed = cli(args, { config: h.cfg, env: { PANTHERAGENT_FAILPOINT: point } });
      assert.equal(killed.code, 137, `${point} was reached (exit ${killed.code}: ${killed.stderr})`);
      ok(h, ['status']);
      // The interrupted command again; a scenario whose work was finished by the
      // recovery may find nothing left to do, which is success too.
      ok(h, args);
      checkInvariants(h, before);
      scenario!.check?.(h, before);
      covered++;
    } finally {
      for (const c of h.cleanups) c();
      h.fx.cleanup();
    }
  });
}
