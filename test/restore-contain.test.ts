// Path containment for restore (src/rollback/contain.ts) is pure, so it is tested
// exhaustively: hand cases for each rule, then hundreds of seeded random trees of
// directories, files and links (relative, absolute, climbing, looping) with random
// requests, each checked against properties and against the kernel itself: the same
// tree is made in a temporary directory and resolved by realpath/lstat.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, realpathSync, lstatSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_LINKS, requestParts, resolveInside, type NodeKind, type TreeReader } from '../src/rollback/contain.js';
import { prng } from './helpers/prng.js';

type Node = { kind: 'dir' } | { kind: 'file' } | { kind: 'symlink'; target: string };
type Tree = Map<string, Node>;

function reader(tree: Tree): TreeReader {
  return {
    kind: (rel): NodeKind => (rel === '' ? 'dir' : (tree.get(rel)?.kind ?? 'missing')),
    readlink: (rel) => {
      const n = tree.get(rel);
      if (n?.kind !== 'symlink') throw new Error(`not a link: ${rel}`);
      return n.target;
    },
  };
}

function tree(entries: Record<string, string | null>): Tree {
  // null: directory; "->x": link to x; anything else: file.
  const t: Tree = new Map();
  for (const [p, v] of Object.entries(entries)) t.set(p, v === null ? { kind: 'dir' } : v.startsWith('->') ? { kind: 'symlink', target: v.slice(2) } : { kind: 'file' });
  return t;
}

const T = tree({
  etc: null,
  'etc/nm': null,
  'etc/nm/wifi': 'x',
  'etc/abs': '->/etc',
  'etc/up': '->../..',
  'etc/up1': '->..',
  'etc/side': '->nm',
  'etc/deep': '->../etc/side/wifi',
  'etc/loop1': '->loop2',
  'etc/loop2': '->loop1',
  'etc/file': 'x',
  'etc/resolv.conf': '->/run/resolv.conf',
});

test('hand cases: each rule, with the error people read', () => {
  const ok = (req: string) => {
    const r = resolveInside(req, reader(T), '@old_roots/@root.X');
    assert.ok(r.ok, `${req}: ${!r.ok ? r.error : ''}`);
    return r;
  };
  const no = (req: string, reason: string, re: RegExp) => {
    const r = resolveInside(req, reader(T), '@old_roots/@root.X');
    assert.ok(!r.ok, req);
    assert.equal(r.reason, reason, req);
    assert.match(r.error, re, req);
  };
  assert.deepEqual(ok('/etc/nm/wifi'), { ok: true, rel: 'etc/nm/wifi', kind: 'file', followed: [] });
  assert.equal(ok('/etc/side/wifi').rel, 'etc/nm/wifi', 'a relative link inside is followed');
  assert.equal(ok('//etc/./side//wifi').rel, 'etc/nm/wifi', 'empty and "." components are ignored');
  assert.equal(ok('/etc/up1/etc/nm').rel, 'etc/nm', 'a link to ".." that stays inside');
  assert.equal(ok('/etc/deep').kind, 'symlink', 'the last component is never followed');
  assert.equal(ok('/etc/resolv.conf').kind, 'symlink', 'an absolute link as the last component is restored as a link');
  no('/etc/../etc/nm', 'dotdot', /contains "\.\.": paths are resolved inside @old_roots\/@root\.X/);
  no('/', 'empty', /names the whole of/);
  no('/etc/abs/passwd', 'absolute-link', /\/etc\/abs is a symbolic link to the absolute path \/etc/);
  no('/etc/up/x', 'escaping-link', /the symbolic link \/etc\/up -> \.\.\/\.\. points outside/);
  no('/etc/loop1/x', 'loop', /too many symbolic links/);
  no('/etc/file/x', 'not-a-directory', /\/etc\/file is not a directory/);
  no('/etc/none', 'missing', /\/etc\/none does not exist in @old_roots\/@root\.X/);
  assert.equal(ok('/etc/up1').kind, 'symlink');
});

// ---- random trees --------------------------------------------------------------

const NAMES = ['a', 'b', 'c'];

function randomTree(rnd: () => number): Tree {
  const t: Tree = new Map();
  const pick = <X>(xs: X[]) => xs[Math.floor(rnd() * xs.length)]!;
  const fill = (dir: string, depth: number) => {
    for (const name of NAMES) {
      const r = rnd();
      const p = dir ? `${dir}/${name}` : name;
      if (r < 0.25) continue;
      if (r < 0.55 && depth < 3) {
        t.set(p, { kind: 'dir' });
        fill(p, depth + 1);
      } else if (r < 0.7) t.set(p, { kind: 'file' });
      else {
        const n = 1 + Math.floor(rnd() * 4);
        const parts = Array.from({ length: n }, () => pick([...NAMES, '..', '..', '.']));
        t.set(p, { kind: 'symlink', target: (rnd() < 0.15 ? '/' : '') + parts.join('/') });
      }
    }
  };
  fill('', 0);
  return t;
}

function randomRequest(rnd: () => number): string {
  const n = 1 + Math.floor(rnd() * 4);
  return '/' + Array.from({ length: n }, () => NAMES[Math.floor(rnd() * NAMES.length)]!).join('/');
}

/** The same tree on disk (links made as they are: the kernel resolves them). */
function materialize(t: Tree, root: string): void {
  const paths = [...t.keys()].sort((a, b) => a.split('/').length - b.split('/').length);
  for (const p of paths) {
    const n = t.get(p)!;
    if (n.kind === 'dir') mkdirSync(join(root, p));
    else if (n.kind === 'file') writeFileSync(join(root, p), 'x');
    else symlinkSync(n.target, join(root, p));
  }
}

function kernel(root: string, request: string): { ok: true; path: string; kind: NodeKind } | { ok: false; code: string } {
  const parts = request.split('/').filter(Boolean);
  try {
    const parent = realpathSync.native(join(root, ...parts.slice(0, -1)));
    const path = join(parent, parts[parts.length - 1]!);
    const st = lstatSync(path);
    return { ok: true, path, kind: st.isSymbolicLink() ? 'symlink' : st.isDirectory() ? 'dir' : 'file' };
  } catch (e) {
    return { ok: false, code: (e as NodeJS.ErrnoException).code ?? 'error' };
  }
}

const inside = (p: string, root: string) => p === root || p.startsWith(root + '/');

test('random trees: properties, and the kernel agrees wherever the path stays inside', () => {
  const rnd = prng(20261130);
  // A root whose name no link can spell: an escape can never come back in by naming it.
  const base = mkdtempSync(join(tmpdir(), 'pantheragent-contain-'));
  let checked = 0;
  const seen = new Set<string>();
  try {
    for (let i = 0; i < 300; i++) {
      const t = randomTree(rnd);
      const root = join(base, `r${i}`, 'snapshot-root-xyz');
      mkdirSync(root, { recursive: true });
      materialize(t, root);
      const rootReal = realpathSync.native(root);
      for (let j = 0; j < 12; j++) {
        const req = randomRequest(rnd);
        const r = resolveInside(req, reader(t));
        const k = kernel(rootReal, req);
        seen.add(r.ok ? 'ok' : r.reason);
        if (r.ok) {
          // Properties: a plain path inside, no link on the way, the kind of what is there.
          assert.ok(!r.rel.split('/').includes('..'), `${req}: no ".." in ${r.rel}`);
          const parts = r.rel.split('/');
          for (let d = 1; d < parts.length; d++) assert.equal(t.get(parts.slice(0, d).join('/'))?.kind, 'dir', `${req}: ${r.rel} has only directories above it`);
          assert.ok(r.followed.every((f) => !f.target.startsWith('/')), `${req}: no absolute link followed`);
          // The kernel resolves the same request to the same place and kind.
          assert.ok(k.ok, `${req} in tree ${i}: the kernel fails (${!k.ok ? k.code : ''}) where containment resolved ${r.rel}`);
          if (k.ok) {
            assert.equal(k.path, join(rootReal, r.rel), `${req} in tree ${i}`);
            assert.equal(k.kind, r.kind, `${req} in tree ${i}: kind`);
          }
        } else if (r.reason === 'escaping-link') {
          assert.ok(!k.ok || !inside(k.path, rootReal), `${req} in tree ${i}: refused as escaping, and the kernel lands outside (${k.ok ? k.path : k.code})`);
        } else if (r.reason === 'missing') {
          assert.ok(!k.ok && k.code === 'ENOENT', `${req} in tree ${i}: missing, the kernel says ${k.ok ? k.path : k.code}`);
        } else if (r.reason === 'not-a-directory') {
          assert.ok(!k.ok && k.code === 'ENOTDIR', `${req} in tree ${i}: not a directory, the kernel says ${k.ok ? k.path : k.code}`);
        } else if (r.reason === 'loop') {
          assert.ok(!k.ok && k.code === 'ELOOP', `${req} in tree ${i}: loop, the kernel says ${k.ok ? k.path : k.code}`);
        } else {
          // absolute-link: the kernel would have left the snapshot for the live system.
          assert.equal(r.reason, 'absolute-link', `${req}: ${r.error}`);
          assert.ok(r.error.includes('absolute path'));
        }
        checked++;
      }
      rmSync(join(base, `r${i}`), { recursive: true, force: true });
    }
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
  assert.equal(checked, 3600);
  for (const reason of ['ok', 'missing', 'not-a-directory', 'escaping-link', 'absolute-link', 'loop']) assert.ok(seen.has(reason), `the cases reach ${reason}`);
});

test('requests with ".." are refused whatever the tree; MAX_LINKS is the kernel\'s 40', () => {
  const rnd = prng(7);
  for (let i = 0; i < 500; i++) {
    const parts = Array.from({ length: 1 + Math.floor(rnd() * 5) }, () => ['a', '..', '.', 'b', ''][Math.floor(rnd() * 5)]!);
    const req = '/' + parts.join('/');
    const r = resolveInside(req, reader(T));
    if (parts.includes('..')) {
      assert.equal(requestParts(req), null);
      assert.ok(!r.ok && r.reason === 'dotdot', req);
    } else assert.ok(r.ok || r.reason !== 'dotdot', req);
  }
  assert.equal(MAX_LINKS, 40);
});
