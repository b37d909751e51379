// The pure parts of diff: classification rules (src/diff/classify.ts) and grouping and
// text (src/diff/report.ts). No filesystem: the walk's facts are given directly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  classify,
  compileRules,
  isUnder,
  lexicalTarget,
  linksIntoGenerated,
  NIXOS_GENERATED,
  normalizeAbs,
  ruleSpecFor,
  STANDARD_MOUNT_POINTS,
  type LeafFacts,
  type Reason,
  type Rules,
} from '../src/diff/classify.js';
import { groupEntries, humanReport, totalsOf, type ReportTarget } from '../src/diff/report.js';
import type { FoundEntry } from '../src/diff/walk.js';

const rules: Rules = compileRules(
  ruleSpecFor({
    persistence: { storage: '/persist', directories: ['/etc/nixos', '/var/lib/nixos', '/etc/NetworkManager/system-connections/'], files: ['/etc/machine-id', '/etc/ssh//ssh_host_ed25519_key'] },
    ignore: ['/tmp', '/var/tmp', '/var/cache', '/root/.cache', '/var/lib/nixos/cache'],
    liveMountPoints: ['/', '/mnt/backup', '/etc/hostname', '/run/user/1000'],
    etcClean: ['sudoers', '', '  pam.d/sudo  ', '../shadow-escape', 'a/../../b'],
  }),
);

const FILE: LeafFacts = { kind: 'file', size: 10 };
const EMPTY_FILE: LeafFacts = { kind: 'file', size: 0 };
const DIR: LeafFacts = { kind: 'dir' };
const link = (target: string, resolved?: string): LeafFacts => ({ kind: 'symlink', target, ...(resolved ? { resolved } : {}) });

function not(path: string, facts: LeafFacts, reason: Reason, rule?: string | RegExp): void {
  const v = classify(rules, path, facts);
  assert.equal(v.state, false, `${path} (${facts.kind}) should not be state`);
  if (v.state) return;
  assert.equal(v.reason, reason, `${path}: reason`);
  if (typeof rule === 'string') assert.equal(v.rule, rule, `${path}: rule`);
  else if (rule) assert.match(v.rule, rule, `${path}: rule`);
}
function state(path: string, facts: LeafFacts = FILE): void {
  assert.deepEqual(classify(rules, path, facts), { state: true }, `${path} (${facts.kind}) should be state`);
}

test('path helpers: normalisation, component-wise prefixes, lexical link targets', () => {
  assert.equal(normalizeAbs('/'), '/');
  assert.equal(normalizeAbs('//etc//nixos/'), '/etc/nixos');
  assert.equal(normalizeAbs('/etc/./x/../y'), '/etc/y');
  assert.equal(normalizeAbs('/../..'), '/');
  assert.ok(isUnder('/etc/nixos', '/etc/nixos'));
  assert.ok(isUnder('/etc/nixos/a', '/etc/nixos'));
  assert.ok(!isUnder('/etc/nixosx', '/etc/nixos'));
  assert.ok(!isUnder('/etc', '/etc/nixos'));
  assert.ok(isUnder('/anything', '/'));
  assert.equal(lexicalTarget('/etc/foo', 'static/foo'), '/etc/static/foo');
  assert.equal(lexicalTarget('/bin/sh', '../nix/store/x-bash/bin/sh'), '/nix/store/x-bash/bin/sh');
  assert.equal(lexicalTarget('/a/b', '/abs/../c/'), '/c');
  assert.equal(lexicalTarget('/a', '../../..'), '/');
});

test('declared: persistence.storage, .directories and .files, and everything under them', () => {
  not('/persist', DIR, 'declared', '/persist');
  not('/persist/etc/machine-id', FILE, 'declared', '/persist');
  not('/etc/nixos', DIR, 'declared', '/etc/nixos');
  not('/etc/nixos/configuration.nix', FILE, 'declared', '/etc/nixos');
  not('/etc/nixos/deep/er/file', EMPTY_FILE, 'declared', '/etc/nixos');
  not('/etc/nixos/link', link('/home/u/x'), 'declared');
  not('/etc/NetworkManager/system-connections/home.nmconnection', FILE, 'declared', '/etc/NetworkManager/system-connections');
  not('/etc/machine-id', FILE, 'declared', '/etc/machine-id');
  not('/etc/machine-id', EMPTY_FILE, 'declared');
  not('/etc/ssh/ssh_host_ed25519_key', FILE, 'declared', '/etc/ssh/ssh_host_ed25519_key');
  not('/var/lib/nixos', { kind: 'subvolume' }, 'declared');
  // Prefixes are whole components only.
  state('/etc/nixosx');
  state('/etc/nixos-old/configuration.nix');
  state('/etc/machine-id.old');
  state('/persistent');
  state('/etc/ssh/ssh_host_rsa_key');
});

test('ignored: diff.ignore and everything under it; an outer rule wins over an inner one', () => {
  not('/tmp', DIR, 'ignored', '/tmp');
  not('/tmp/x', FILE, 'ignored', '/tmp');
  not('/var/cache/fontconfig/a', FILE, 'ignored', '/var/cache');
  not('/root/.cache/nix/b', FILE, 'ignored', '/root/.cache');
  not('/var/tmp/sock', { kind: 'socket' }, 'ignored');
  state('/root/.cachex');
  state('/root/.bash_history');
  // /var/lib/nixos is declared, /var/lib/nixos/cache ignored: the declared outer path decides.
  not('/var/lib/nixos/cache/x', FILE, 'declared', '/var/lib/nixos');
});

test('same path declared and ignored: declared', () => {
  const r = compileRules({ declared: ['/a'], ignored: ['/a', '/b'], generated: ['/a', '/b'], mountPoints: [], skeleton: [] });
  assert.deepEqual(classify(r, '/a/x', FILE), { state: false, reason: 'declared', rule: '/a' });
  assert.deepEqual(classify(r, '/b', FILE), { state: false, reason: 'ignored', rule: '/b' });
});

test('generated: NixOS activation files, /etc/.clean entries, pantheragent identity file', () => {
  for (const p of NIXOS_GENERATED) not(p, FILE, 'generated', p);
  not('/etc/static/ssh/ssh_config', FILE, 'generated', '/etc/static');
  not('/var/empty', DIR, 'generated', '/var/empty');
  not('/var/empty/x', FILE, 'generated', '/var/empty');
  not('/.pantheragent-boot.json', FILE, 'generated');
  not('/etc/sudoers', FILE, 'generated', '/etc/sudoers');
  not('/etc/pam.d/sudo', FILE, 'generated', '/etc/pam.d/sudo');
  // /etc/.clean lines that climb out of /etc are not trusted.
  state('/shadow-escape');
  state('/b');
  state('/etc/pam.d/login');
  state('/etc/passwd-');
  state('/etc/.clean.tmp');
});

test('symlinks: into /nix/store or /etc/static, directly, relatively or through the root, are generated', () => {
  not('/bin/sh', link('/nix/store/0000-bash/bin/sh'), 'generated', 'symlink into /nix/store');
  not('/etc/ssh/ssh_config', link('/etc/static/ssh/ssh_config'), 'generated', 'symlink into /etc/static');
  not('/etc/foo', link('static/foo'), 'generated', 'symlink into /etc/static');
  not('/bin/sh', link('../nix/store/0000-bash/bin/sh'), 'generated', 'symlink into /nix/store');
  not('/etc/x', link('/nix/store'), 'generated');
  not('/etc/x', link('/nix//store/./a/../b'), 'generated');
  not('/etc/static', link('/nix/store/0000-etc/etc'), 'generated', '/etc/static');
  // /etc/localtime -> /etc/zoneinfo/Europe/Berlin, where /etc/zoneinfo -> /etc/static/zoneinfo: the walk resolves it.
  not('/etc/localtime', link('/etc/zoneinfo/Europe/Berlin', '/nix/store/0000-etc/etc/zoneinfo/Europe/Berlin'), 'generated', 'symlink into /nix/store');
  state('/etc/localtime', link('/etc/zoneinfo/Europe/Berlin'));
  state('/usr/local/bin/tool', link('/home/user/bin/tool', '/home/user/bin/tool'));
  state('/etc/x', link('/nix/storefoo/x'));
  state('/etc/x', link('/nix/store/../../etc/passwd'));
  state('/etc/x', link('relative/file'));
  state('/etc/x', link('/run/current-system/sw/bin/x', '/run/current-system/sw/bin/x'));
  assert.ok(linksIntoGenerated('/a', '/nix/store/x/.hidden'), 'a dot file in the store is still in the store');
  assert.ok(!linksIntoGenerated('/a', '/nix/store/x/../../../b'));
});

test('where activation installs a link, anything but a directory is generated, whatever it points to', () => {
  const installed = (facts: LeafFacts): LeafFacts => ({ ...facts, activation: true });
  not('/etc/hosts', installed(FILE), 'generated', /activation/);
  not('/etc/ssh/ssh_config', installed(link('/home/alice/my_ssh_config')), 'generated', /activation/);
  not('/etc/zoneinfo', installed({ kind: 'symlink' }), 'generated', /activation/);
  state('/etc/xdg', installed(DIR));
  // A path rule still comes first.
  not('/etc/machine-id', installed(FILE), 'declared', '/etc/machine-id');
});

test('empty directories: mount points and structure are not state; anything else is', () => {
  for (const p of STANDARD_MOUNT_POINTS) if (p !== '/tmp') not(p, DIR, 'mount-point', p);
  not('/tmp', DIR, 'ignored', '/tmp');
  not('/mnt/backup', DIR, 'mount-point', '/mnt/backup');
  not('/run/user/1000', DIR, 'mount-point');
  // Skeleton directories of a NixOS root.
  for (const p of ['/root', '/var/lib', '/srv', '/usr/bin', '/var/db']) not(p, DIR, 'structure', p);
  // Above a rule: an empty /etc/NetworkManager while system-connections is declared, /mnt above a mount point.
  not('/etc/NetworkManager', DIR, 'structure', 'above /etc/NetworkManager/system-connections');
  not('/mnt', DIR, 'structure', 'above /mnt/backup');
  not('/run/user', DIR, 'structure');
  state('/var/lib/bluetooth', DIR);
  state('/srv/www/uploads', DIR);
  state('/mnt/usb', DIR);
  state('/home2', DIR);
});

test('files at mount points: only an empty one is a mount point; non-empty ones and other kinds are state', () => {
  not('/etc/hostname', EMPTY_FILE, 'mount-point', '/etc/hostname');
  state('/etc/hostname', { kind: 'file', size: 5 });
  state('/etc/hostname', { kind: 'file' });
  // A non-empty directory at a mount point is not a leaf; a file elsewhere is state even if empty.
  state('/etc/adjtime', EMPTY_FILE);
  not('/nix', EMPTY_FILE, 'mount-point', '/nix');
  state('/home', link('/persist/home'));
});

test('special files and subvolumes outside the rules are state', () => {
  for (const kind of ['fifo', 'socket', 'char-device', 'block-device', 'subvolume'] as const) state(`/srv/x-${kind}`, { kind });
  state('/dev/console', { kind: 'char-device' });
});

test('ruleSpecFor: storage is declared and a mount point; "/" never becomes a rule', () => {
  const spec = ruleSpecFor({ persistence: { storage: '/state', directories: [], files: [] }, ignore: [], liveMountPoints: ['/'], etcClean: [] });
  assert.ok(spec.declared.includes('/state') && spec.mountPoints.includes('/state'));
  const r = compileRules(spec);
  assert.equal(r.root.mountPoint, false);
  assert.deepEqual(classify(r, '/anything', FILE), { state: true });
  assert.deepEqual(classify(compileRules({ ...spec, declared: [] }), '/state', DIR), { state: false, reason: 'mount-point', rule: '/state' });
});

// ---- report.ts

const T = Date.UTC(2026, 10, 25, 12, 0, 0);
const fe = (path: string, kind: FoundEntry['kind'], size: number | null, ageMin: number, group: string, whole: boolean): FoundEntry => ({
  path,
  kind,
  size,
  mtimeMs: T - ageMin * 60_000,
  group,
  wholeGroup: whole,
});
const found: FoundEntry[] = [
  fe('/etc/NetworkManager/system-connections/home.nmconnection', 'file', 300, 120, '/etc/NetworkManager/system-connections', true),
  fe('/etc/NetworkManager/system-connections/work.nmconnection', 'file', 500, 60, '/etc/NetworkManager/system-connections', true),
  fe('/etc/adjtime', 'file', 0, 5, '/etc', false),
  fe('/var/lib/machines', 'subvolume', null, 30, '/var/lib/machines', true),
  fe('/srv/www/current', 'symlink', 18, 10, '/srv', true),
];

test('totals: entries, bytes (subvolumes count 0), per kind', () => {
  assert.deepEqual(totalsOf(found), { entries: 5, size: 818, byKind: { file: 3, subvolume: 1, symlink: 1 } });
  assert.deepEqual(totalsOf([]), { entries: 0, size: 0, byKind: {} });
});

test('groups: one per reporting directory, sorted, with counts, sizes and the newest mtime', () => {
  assert.deepEqual(groupEntries(found), [
    { path: '/etc', whole: false, entries: 1, size: 0, newestMs: T - 5 * 60_000 },
    { path: '/etc/NetworkManager/system-connections', whole: true, entries: 2, size: 800, newestMs: T - 60 * 60_000 },
    { path: '/srv', whole: true, entries: 1, size: 18, newestMs: T - 10 * 60_000 },
    { path: '/var/lib/machines', whole: true, entries: 1, size: 0, newestMs: T - 30 * 60_000 },
  ]);
});

const live: ReportTarget = { kind: 'live', subvolume: '@root', selector: 'blank', instant: null, blank: '@root-blank' };
const archived: ReportTarget = { kind: 'archived', subvolume: '@old_roots/@root.20261125T090000+0000', selector: 'previous-boot', instant: T - 3 * 3_600_000, blank: '@root-blank' };

test('human report, live root: summary, one row per group, persistence and restore hints', () => {
  const text = humanReport({ target: live, entries: found, skipped: [], warnings: [], all: false, now: T });
  const lines = text.split('\n');
  assert.match(lines[0]!, /^The next wipe will erase 5 undeclared entries \(818 B\) in 4 directories, on the live root @root \(compared with the empty @root-blank\)\.$/);
  assert.match(text, /^DIRECTORY +ENTRIES +SIZE +NEWEST +PERSIST AS$/m);
  assert.match(text, /^\/etc\/NetworkManager\/system-connections +2 +800 B +1h ago +directory$/m);
  assert.match(text, /^\/etc +1 +0 B +5m ago +files$/m);
  assert.match(text, /persistence\.directories/);
  assert.match(text, /persistence\.files \(--all lists them\)/);
  assert.match(text, /pantheragent diff --against previous-boot/);
  assert.match(text, /pantheragent restore PATH --from previous-boot/);
  assert.ok(!text.includes('home.nmconnection'), 'grouped view does not list files');
});

test('human report --all lists every entry; archived root names its selector in the restore hint', () => {
  const text = humanReport({ target: archived, entries: found, skipped: [{ path: '/mnt/x', why: 'a mount point' }], warnings: ['careful'], all: true, now: T });
  assert.match(text, /^The wipe 3h ago erased 5 undeclared entries .* on the archived root @old_roots\/@root\.20261125T090000\+0000\.$/m);
  assert.match(text, /^PATH +KIND +SIZE +MODIFIED$/m);
  for (const e of found) assert.ok(text.includes(e.path), e.path);
  assert.match(text, /^\/var\/lib\/machines +subvolume +- +30m ago$/m);
  assert.match(text, /pantheragent restore PATH --from previous-boot/);
  assert.ok(!text.includes('--all lists them'));
  assert.match(text, /^warning: careful$/m);
  assert.match(text, /^ {2}\/mnt\/x {2}a mount point$/m);
});

test('human report, clean: one line saying so', () => {
  assert.match(humanReport({ target: live, entries: [], skipped: [], warnings: [], all: false, now: T }), /^Nothing undeclared on the live root @root .*the next wipe erases nothing/);
  assert.match(humanReport({ target: archived, entries: [], skipped: [], warnings: [], all: false, now: T }), /^Nothing undeclared on the archived root .*that wipe erased nothing/);
});
