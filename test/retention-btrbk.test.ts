// The planner against the real thing: read-only snapshots with btrbk long-iso names
// on a real Btrfs, `btrbk --dry-run --print-schedule prune`, and our keep set must
// be btrbk's, for fixed scenarios (the golden ones of retention-planner.test.ts among
// them) and for seeded random sets, policies and time zones. btrbk's reason for each
// kept snapshot names the last rule that kept it and how far back ("daily: first of
// day, 3 days ago"); the last part of our reason must say the same ("daily 3").
//
// btrbk's "now" is the wall clock. For scenarios at fixed dates (DST nights, 1
// October) btrbk runs under a tiny Perl wrapper that overrides the `time` builtin
// before loading /usr/bin/btrbk unchanged (what faketime would do, without
// installing it); a few random sets also run against the real clock, unwrapped.
//
// The same snapshots sit in a snapshot_dir and in a target directory: btrbk's
// snapshot_preserve_min takes only all, latest or N >= 1, its target_preserve_min
// also takes no and 0, so the target schedule is what checks those.
//
// Our two additions, accounted for explicitly: we always keep the newest snapshot,
// btrbk does not (it drops it when no rule covers it, e.g. the second snapshot of
// today under "preserve 7d"), so our keep set is btrbk's plus the newest, and the
// newest carries a btrbk rule besides 'newest' exactly when btrbk keeps it. Pinned
// snapshots take no part in the schedule, so btrbk runs without them and our keep set
// is btrbk's plus the pinned ones.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeBtrfs, type BtrfsFixture } from './helpers/btrfs.js';
import { BTRFS_REQ, skipUnless } from './helpers/env.js';
import { parseName } from '../src/btrfs/names.js';
import { planRetention, type PlanItem } from '../src/retention/planner.js';
import { zoneFor } from '../src/retention/calendar.js';
import { DAYS_OF_WEEK, parsePreserve, parsePreserveMin, type RetentionPolicy } from '../src/retention/policy.js';
import { prng } from './helpers/prng.js';

const skip = skipUnless({ ...BTRFS_REQ, commands: [...BTRFS_REQ.commands, 'btrbk', 'perl'] });

const BASE = '@persist';
const H = 3_600_000;
const D = 24 * H;
const MIN = 60_000;

interface Spec {
  min: string;
  preserve: string;
  dow?: (typeof DAYS_OF_WEEK)[number];
  hod?: number;
}

function policyOf(s: Spec): RetentionPolicy {
  const min = parsePreserveMin(s.min);
  const p = parsePreserve(s.preserve);
  if (!min.ok || !p.ok) throw new Error(`bad test policy ${JSON.stringify(s)}`);
  return { preserveMin: min.value, preserve: p.value, preserveDayOfWeek: s.dow ?? 'sunday', preserveHourOfDay: s.hod ?? 0 };
}

// ---- names ---------------------------------------------------------------------

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** long-iso name of an instant written with a given offset (minutes east), e.g. +0530. */
function nameAt(instant: number, offsetMin = 0, seq = 0): string {
  const w = new Date(instant + offsetMin * MIN);
  const sign = offsetMin < 0 ? '-' : '+';
  const a = Math.abs(offsetMin);
  const stamp =
    `${pad(w.getUTCFullYear(), 4)}${pad(w.getUTCMonth() + 1)}${pad(w.getUTCDate())}T` +
    `${pad(w.getUTCHours())}${pad(w.getUTCMinutes())}${pad(w.getUTCSeconds())}${sign}${pad(Math.floor(a / 60))}${pad(a % 60)}`;
  return `${BASE}.${stamp}${seq ? `_${seq}` : ''}`;
}

function itemsOf(names: readonly string[]): PlanItem[] {
  return names.map((id) => {
    const p = parseName(id);
    if (!p) throw new Error(`test produced a bad name: ${id}`);
    return { id, instant: p.instant, seq: p.seq, pinned: false };
  });
}

// ---- running btrbk -------------------------------------------------------------

/** Overrides Perl's time() so btrbk's reference time is BTRBK_FAKE_NOW (epoch seconds), then runs btrbk unchanged. */
const SHIM = `BEGIN { my $t = $ENV{BTRBK_FAKE_NOW}; *CORE::GLOBAL::time = sub () { $t }; }
$0 = $ENV{BTRBK_PATH};
do $ENV{BTRBK_PATH};
die $@ if $@;
`;

/** btrbk's verdict per snapshot name: its reason, or null for delete. */
type Schedule = Map<string, string | null>;

/** btrbk accepts 'no' and 0 for target_preserve_min only; snapshot_preserve_min wants all, latest or N >= 1. */
const snapshotExpressible = (s: Spec) => s.min !== 'no' && !/^0+[hdwmy]$/.test(s.min);

/**
 * A source subvolume, the same set of read-only snapshots in snaps/ (btrbk's
 * snapshot_dir) and in backup/ (a btrbk target), and btrbk to prune them: the
 * snapshot schedule checks snapshot_preserve*, the target one target_preserve*,
 * which is the only way to give btrbk a preserve_min of "no" or "0d".
 */
class BtrbkBench {
  private present = new Set<string>();
  private readonly dirs: string[];
  private readonly shim: string;
  private readonly btrbkPath = execFileSync('sh', ['-c', 'command -v btrbk'], { encoding: 'utf8' }).trim();

  constructor(private readonly fx: BtrfsFixture) {
    fx.subvol(BASE);
    this.dirs = [join(fx.top, 'snaps'), join(fx.top, 'backup')];
    for (const d of this.dirs) mkdirSync(d);
    this.shim = join(fx.dir, 'btrbk-fixed-now.pl');
    writeFileSync(this.shim, SHIM);
  }

  /** Make exactly these snapshots exist (read-only, of the source). */
  setSnapshots(names: readonly string[]): void {
    const want = new Set(names);
    const gone = [...this.present].filter((n) => !want.has(n));
    const fresh = names.filter((n) => !this.present.has(n));
    // One shell per batch: spawning btrfs once per snapshot from node is the slow part.
    const script = this.dirs.flatMap((dir) => [
      ...gone.map((n) => `btrfs -q subvolume delete ${q(join(dir, n))}`),
      ...fresh.map((n) => `btrfs -q subvolume snapshot -r ${q(join(this.fx.top, BASE))} ${q(join(dir, n))}`),
    ]);
    if (script.length) execFileSync('sh', ['-ec', script.join('\n')], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.present = want;
  }

  /**
   * btrbk's keep sets for the present snapshots: the target's always, the snapshot
   * dir's when snapshot_preserve_min can express the policy. `nowSec` undefined: btrbk's own clock.
   */
  keep(spec: Spec, timezone: string, nowSec?: number): { target: Schedule; snapshot?: Schedule } {
    const conf = join(this.fx.dir, 'btrbk.conf');
    const both = snapshotExpressible(spec);
    writeFileSync(
      conf,
      [
        'timestamp_format long-iso',
        `snapshot_preserve_min ${both ? spec.min : 'all'}`,
        `snapshot_preserve ${both ? spec.preserve || 'no' : 'no'}`,
        `target_preserve_min ${spec.min}`,
        `target_preserve ${spec.preserve || 'no'}`,
        `preserve_day_of_week ${spec.dow ?? 'sunday'}`,
        `preserve_hour_of_day ${spec.hod ?? 0}`,
        'snapshot_dir snaps',
        `volume ${this.fx.top}`,
        `  subvolume ${BASE}`,
        `    target ${join(this.fx.top, 'backup')}`,
        '',
      ].join('\n'),
    );
    const env: NodeJS.ProcessEnv = { ...process.env, BTRBK_PATH: this.btrbkPath };
    if (timezone === 'local') {
      if (process.env.TZ === undefined) delete env.TZ;
    } else env.TZ = timezone;
    const args = ['-c', conf, '--dry-run', '--print-schedule', 'prune'];
    const r =
      nowSec === undefined
        ? spawnSync(this.btrbkPath, args, { env, encoding: 'utf8' })
        : spawnSync('perl', [this.shim, ...args], { env: { ...env, BTRBK_FAKE_NOW: String(nowSec) }, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`btrbk failed (${r.status}): ${r.stderr}`);
    const target = parseSchedule(r.stdout, 'BACKUP SCHEDULE');
    return both ? { target, snapshot: parseSchedule(r.stdout, 'SNAPSHOT SCHEDULE') } : { target };
  }
}

const NONE: ReadonlySet<string> = new Set();

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * One table of --print-schedule output:
 *   ACTION  SUBVOLUME             SCHEME              REASON
 *   delete  /…/@persist.2025…     2d (sunday, 00:00)  -
 *   -       /…/@persist.2025…     2d (sunday, 00:00)  preserve daily: first of day, 1 days ago, …
 * Columns are separated by two or more spaces; paths here never contain spaces.
 */
function parseSchedule(out: string, title: 'SNAPSHOT SCHEDULE' | 'BACKUP SCHEDULE'): Schedule {
  const result: Schedule = new Map();
  const lines = out.split('\n');
  const start = lines.indexOf(title);
  if (start < 0) return result;
  assert.match(lines[start + 2] ?? '', /^ACTION\s+SUBVOLUME\s+SCHEME\s+REASON$/, 'btrbk schedule table header');
  for (const line of lines.slice(start + 3)) {
    if (line.trim() === '') break;
    const m = /^(delete|-)\s+(\S+)\s{2,}.+?\s{2,}(\S.*)$/.exec(line);
    if (!m) throw new Error(`unparsable btrbk schedule line: ${line}`);
    const name = m[2]!.slice(m[2]!.lastIndexOf('/') + 1);
    result.set(name, m[1] === 'delete' ? null : m[3]!);
  }
  return result;
}

/** btrbk's reason, as the text our planner gives for the same rule: the last part of our reason. */
function ourText(btrbkReason: string): string {
  const unit: Record<string, string> = { hours: 'h', days: 'd', weeks: 'w', months: 'm', years: 'y' };
  const patterns: [RegExp, (m: RegExpExecArray) => string][] = [
    [/^preserve forced: (\d+) hours in the future$/, (m) => `future +${m[1]}h`],
    [/^preserve min: all$/, () => 'min all'],
    [/^preserve min: latest$/, () => 'latest'],
    [/^preserve min: (-?\d+) (hours|days|weeks|months|years) ago$/, (m) => `min ${m[1]}${unit[m[2]!]}`],
    [/^preserve hourly: first of hour, (-?\d+) hours ago$/, (m) => `hourly ${m[1]}`],
    [/^preserve daily: first of day.*?, (-?\d+) days ago/, (m) => `daily ${m[1]}`],
    [/^preserve weekly: (-?\d+) weeks ago,/, (m) => `weekly ${m[1]}`],
    [/^preserve monthly: first weekly of month -?\d+-\d+ \((-?\d+) months ago,/, (m) => `monthly ${m[1]}`],
    [/^preserve yearly: first weekly of year -?\d+ \((-?\d+) years ago,/, (m) => `yearly ${m[1]}`],
  ];
  for (const [re, f] of patterns) {
    const m = re.exec(btrbkReason);
    if (m) return f(m);
  }
  throw new Error(`unknown btrbk reason: ${btrbkReason}`);
}

// ---- comparison ----------------------------------------------------------------

interface Case {
  names: readonly string[];
  /** Pinned names: btrbk ran without them (pinned snapshots take no part in the schedule). */
  pinned: ReadonlySet<string>;
  spec: Spec;
  timezone: string;
  nowMs: number;
  label: string;
}

/** Both of btrbk's schedules (target, and snapshot dir where it applies) against ours. */
function assertAgrees(c: Case, btrbk: { target: Schedule; snapshot?: Schedule }): void {
  if (btrbk.snapshot) assertAgreesWith({ ...c, label: `${c.label} [snapshot_preserve]` }, btrbk.snapshot);
  else assert.ok(!snapshotExpressible(c.spec), `${c.label}: btrbk printed no snapshot schedule`);
  assertAgreesWith({ ...c, label: `${c.label} [target_preserve]` }, btrbk.target);
}

/** Ours = btrbk's keep set over the unpinned snapshots, plus the pinned ones, plus the newest. */
function assertAgreesWith({ names, pinned, spec, timezone, nowMs, label }: Case, btrbk: Schedule): void {
  const unpinned = names.filter((n) => !pinned.has(n));
  assert.deepEqual([...btrbk.keys()].sort(), [...unpinned].sort(), `${label}: btrbk saw a different snapshot set`);
  const btrbkKeep = new Set([...btrbk].filter(([, reason]) => reason !== null).map(([name]) => name));
  const items = itemsOf(names).map((it) => ({ ...it, pinned: pinned.has(it.id) }));
  const decisions = planRetention(items, policyOf(spec), nowMs, timezone);
  const newest = decisions.find((d) => d.rules.includes('newest'));
  assert.ok(newest, `${label}: no newest`);
  const ours = decisions.filter((d) => d.action === 'keep').map((d) => d.id);
  const expected = new Set([...btrbkKeep, ...pinned, newest.id]);
  const detail = () =>
    decisions
      .filter((d) => (d.action === 'keep') !== expected.has(d.id))
      .map((d) => `${d.id}: ours ${d.action} (${d.reason}), btrbk ${btrbk.get(d.id) ?? 'delete'}`)
      .join('\n');
  assert.deepEqual(ours.sort(), [...expected].sort(), `${label}: keep sets differ\n${detail()}`);
  if (!pinned.has(newest.id)) {
    const newestByBtrbkRule = newest.rules.some((r) => r !== 'newest');
    assert.equal(newestByBtrbkRule, btrbkKeep.has(newest.id), `${label}: newest ${newest.id} (${newest.reason}) vs btrbk ${btrbk.get(newest.id) ?? 'delete'}`);
  }
  for (const d of decisions) {
    const reason = btrbk.get(d.id);
    if (reason) assert.equal(d.reason.split(', ').at(-1), ourText(reason), `${label}: ${d.id}: our reason "${d.reason}" vs btrbk "${reason}"`);
  }
}

// ---- fixed scenarios (the golden ones in retention-planner.test.ts) -------------

interface Scenario {
  label: string;
  names: string[];
  timezone: string;
  now: number;
  specs: Spec[];
}

function every(fromMs: number, toMs: number, stepMs: number, skipIf: (t: number) => boolean = () => false): number[] {
  const out: number[] = [];
  for (let t = fromMs; t <= toMs; t += stepMs) if (!skipIf(t)) out.push(t);
  return out;
}

const utc = (s: string) => Date.parse(s);

const FIXED: Scenario[] = [
  {
    label: 'daily snapshots over six months',
    names: every(utc('2025-01-01T03:00:00Z'), utc('2025-06-30T03:00:00Z'), D).map((t) => nameAt(t)),
    timezone: 'UTC',
    now: utc('2025-06-30T12:00:00Z'),
    specs: [
      { min: 'latest', preserve: '20d 10w *m' },
      { min: 'no', preserve: '20d 10w *m' },
    ],
  },
  {
    label: 'hourly snapshots with downtime',
    names: every(
      utc('2025-03-10T00:15:00Z'),
      utc('2025-03-14T20:15:00Z'),
      H,
      (t) => (t >= utc('2025-03-12T00:00:00Z') && t < utc('2025-03-13T09:00:00Z')) || (t >= utc('2025-03-11T04:00:00Z') && t < utc('2025-03-11T07:00:00Z')),
    ).map((t) => nameAt(t)),
    timezone: 'UTC',
    now: utc('2025-03-14T22:40:00Z'),
    specs: [
      { min: 'latest', preserve: '5h 3d' },
      { min: 'no', preserve: '5h 3d' },
    ],
  },
  {
    label: 'Tuesday 1 October',
    names: ['2024-09-15', '2024-09-20', '2024-10-01', '2024-10-03', '2024-10-08', '2024-10-15'].map((d) => nameAt(utc(`${d}T12:00:00Z`))),
    timezone: 'UTC',
    now: utc('2024-10-20T12:00:00Z'),
    specs: [
      { min: 'latest', preserve: '*m', dow: 'sunday' },
      { min: 'latest', preserve: '*m', dow: 'tuesday' },
      { min: 'latest', preserve: '*m', dow: 'monday' },
    ],
  },
  {
    label: 'now is Tuesday 1 October',
    names: every(utc('2024-08-01T12:00:00Z'), utc('2024-10-01T12:00:00Z'), D).map((t) => nameAt(t)),
    timezone: 'UTC',
    now: utc('2024-10-01T18:00:00Z'),
    specs: [
      { min: 'latest', preserve: '1m', dow: 'sunday' },
      { min: 'latest', preserve: '2m', dow: 'sunday' },
      { min: '1m', preserve: '', dow: 'sunday' },
    ],
  },
  {
    label: 'Berlin fall-back night',
    names: every(utc('2024-10-26T23:00:00Z'), utc('2024-10-27T03:00:00Z'), 20 * MIN).map((t) => nameAt(t)),
    timezone: 'Europe/Berlin',
    now: utc('2024-10-27T04:30:00Z'),
    specs: [
      { min: 'latest', preserve: '*h' },
      { min: 'latest', preserve: '3h' },
      { min: '2h', preserve: '' },
      { min: 'latest', preserve: '*d', hod: 2 },
    ],
  },
  {
    label: 'Berlin spring-forward night',
    names: every(utc('2025-03-29T23:00:00Z'), utc('2025-03-30T03:00:00Z'), 30 * MIN).map((t) => nameAt(t, 60)),
    timezone: 'Europe/Berlin',
    now: utc('2025-03-30T03:10:00Z'),
    specs: [
      { min: 'latest', preserve: '*h' },
      { min: 'latest', preserve: '3h' },
      { min: 'latest', preserve: '*d', hod: 2 },
      { min: 'latest', preserve: '1d', hod: 3 },
    ],
  },
  {
    label: 'same second, _N and mixed offsets',
    names: [
      nameAt(utc('2025-05-01T10:00:00Z'), 0),
      nameAt(utc('2025-05-01T10:00:00Z'), 0, 1),
      nameAt(utc('2025-05-01T10:00:00Z'), 0, 2),
      nameAt(utc('2025-05-01T10:30:00Z'), 120),
      nameAt(utc('2025-05-01T10:30:00Z'), -300, 1),
      nameAt(utc('2025-05-01T11:00:00Z'), 330, 3),
      nameAt(utc('2025-05-01T11:00:00Z'), 0, 1),
    ],
    timezone: 'Asia/Kathmandu',
    now: utc('2025-05-01T12:00:00Z'),
    specs: [
      { min: 'latest', preserve: '*h' },
      { min: 'latest', preserve: '' },
      { min: 'latest', preserve: '1d' },
    ],
  },
  {
    // Weeks from Wednesday 16:00; 30 April 2025 is a Wednesday. btrbk counts Tue 6 May
    // 10:00 (still in the week of 30 April) to May, but Fri 2 May 19:00 to April.
    label: 'a week across a month end, preserveHourOfDay 16',
    names: ['20250416T080000', '20250502T190000', '20250506T100000', '20250512T100000', '20250515T180000'].map((s) => `${BASE}.${s}+0000`),
    timezone: 'UTC',
    now: utc('2025-05-17T20:00:00Z'),
    specs: [{ min: 'no', preserve: '*m', dow: 'wednesday', hod: 16 }],
  },
  {
    label: 'the same without Fri 2 May',
    names: ['20250416T080000', '20250506T100000', '20250512T100000', '20250515T180000'].map((s) => `${BASE}.${s}+0000`),
    timezone: 'UTC',
    now: utc('2025-05-17T20:00:00Z'),
    specs: [{ min: 'no', preserve: '*m', dow: 'wednesday', hod: 16 }],
  },
  {
    label: 'snapshots dated after now',
    names: [-50, -26, -3, -0.5, 0.2, 1.5, 30].map((h) => nameAt(utc('2025-07-10T09:30:00Z') + h * H)),
    timezone: 'Europe/Berlin',
    now: utc('2025-07-10T09:30:00Z'),
    specs: [
      { min: 'latest', preserve: '' },
      { min: '1h', preserve: '1d' },
    ],
  },
];

// ---- random scenarios ----------------------------------------------------------


const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

/** Random rounds at fixed times (3 policies each); raise for a deeper check, e.g. PANTHERAGENT_BTRBK_ROUNDS=200. */
const ROUNDS = Number(process.env.PANTHERAGENT_BTRBK_ROUNDS ?? 12);

const ZONES = ['UTC', 'Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kathmandu', 'America/St_Johns', 'Pacific/Chatham'];
const OFFSETS = [0, 0, 0, 60, 120, -300, 330, 765, -570];
/** DST changes (UTC) to cluster snapshots around. */
const TRANSITIONS = ['2024-10-27T01:00:00Z', '2025-03-30T01:00:00Z', '2024-11-03T06:00:00Z', '2025-03-09T07:00:00Z', '2025-04-05T15:00:00Z', '2024-10-05T15:30:00Z'];

function randomSpec(r: () => number): Spec {
  const min = pick(r, ['latest', 'latest', 'no', 'no', '0h', '0d', '1h', '3h', '1d', '2d', '1w', '1m', '1y', 'all']);
  const units = ['h', 'd', 'w', 'm', 'y'].filter(() => r() < 0.55);
  const preserve = units.map((u) => `${pick(r, ['0', '1', '2', '3', '5', '8', '14', '*'])}${u}`).join(' ');
  return { min, preserve, dow: pick(r, DAYS_OF_WEEK), hod: r() < 0.5 ? 0 : Math.floor(r() * 24) };
}

/** Snapshot instants around `now`: mostly recent, some old, a few in the future, some on the same second. */
function randomNames(r: () => number, now: number, dense: boolean): string[] {
  const names = new Set<string>();
  const count = 15 + Math.floor(r() * 90);
  const instants: number[] = [];
  for (let i = 0; i < count; i++) {
    const scale = dense ? pick(r, [3 * H, 12 * H, 2 * D]) : pick(r, [5 * H, 3 * D, 20 * D, 120 * D, 900 * D]);
    const ahead = r() < 0.04 ? -r() * 6 * H : 0;
    instants.push(Math.floor((now - r() * scale - ahead) / 1000) * 1000);
  }
  for (const t of instants) {
    const off = pick(r, OFFSETS);
    names.add(nameAt(t, off));
    // Collisions: btrbk appends _N when the name is taken.
    if (r() < 0.08) names.add(nameAt(t, off, 1 + Math.floor(r() * 3)));
  }
  return [...names];
}

/** What of "now" btrbk's scheduler reads: the local wall-clock hour, month and year. */
function hourOf(t: number, tz: string): string {
  const f = zoneFor(tz).fields(t);
  return `${f.hourIndex} ${f.month} ${f.year}`;
}

// ---- tests ---------------------------------------------------------------------

describe('planner agrees with real btrbk', { skip }, () => {
  let fx: BtrfsFixture | undefined;
  let bench: BtrbkBench;
  before(() => {
    fx = makeBtrfs({ sizeMiB: 256 });
    bench = new BtrbkBench(fx);
  });
  after(() => fx?.cleanup());

  for (const sc of FIXED) {
    test(`${sc.label} (${sc.timezone})`, () => {
      bench.setSnapshots(sc.names);
      for (const spec of sc.specs) {
        const btrbk = bench.keep(spec, sc.timezone, sc.now / 1000);
        assertAgrees({ names: sc.names, pinned: NONE, spec, timezone: sc.timezone, nowMs: sc.now, label: `${sc.label} ${JSON.stringify(spec)}` }, btrbk);
      }
    });
  }

  test('random sets, policies and zones at fixed times', () => {
    const r = prng(0x5eed);
    for (let round = 0; round < ROUNDS; round++) {
      const dense = round % 3 === 0;
      const now = dense ? utc(pick(r, TRANSITIONS)) + (r() - 0.3) * 10 * H : utc('2021-01-01T00:00:00Z') + r() * 8 * 365 * D;
      const nowSec = Math.floor(now / 1000);
      const names = randomNames(r, nowSec * 1000, dense);
      bench.setSnapshots(names);
      for (let k = 0; k < 3; k++) {
        const spec = randomSpec(r);
        const tz = pick(r, ZONES);
        const btrbk = bench.keep(spec, tz, nowSec);
        assertAgrees({ names, pinned: NONE, spec, timezone: tz, nowMs: nowSec * 1000, label: `round ${round} now=${new Date(nowSec * 1000).toISOString()} ${tz} ${JSON.stringify(spec)}` }, btrbk);
      }
    }
  });

  test('with pinned snapshots, the plan for the rest is btrbk\'s plan without them', () => {
    const r = prng(0x919);
    for (let round = 0; round < 5; round++) {
      const nowSec = Math.floor((utc('2024-06-01T00:00:00Z') + r() * 400 * D) / 1000);
      const names = randomNames(r, nowSec * 1000, round % 2 === 0);
      // Round 0 pins the newest: then preserveMin latest applies to the newest unpinned one.
      const newestName = [...itemsOf(names)].sort((a, b) => a.instant - b.instant || a.seq - b.seq).at(-1)!.id;
      const pinned = new Set(names.filter((n) => (round === 0 && n === newestName) || r() < 0.2));
      bench.setSnapshots(names.filter((n) => !pinned.has(n)));
      for (let k = 0; k < 2; k++) {
        const spec = k === 0 ? { ...randomSpec(r), min: 'latest' } : randomSpec(r);
        const tz = pick(r, ZONES);
        const btrbk = bench.keep(spec, tz, nowSec);
        assertAgrees({ names, pinned, spec, timezone: tz, nowMs: nowSec * 1000, label: `pinned round ${round} ${tz} ${JSON.stringify(spec)}` }, btrbk);
      }
    }
  });

  test('random sets against btrbk on the real clock (no time override), including the local zone', () => {
    const r = prng(0xc10c);
    for (let round = 0; round < 4; round++) {
      const names = randomNames(r, Date.now(), round % 2 === 1);
      bench.setSnapshots(names);
      for (const tz of ['local', pick(r, ZONES)]) {
        const spec = randomSpec(r);
        // btrbk reads the clock itself; only its local hour, month and year matter,
        // so the run counts when our clock reading agrees with btrbk's on those.
        for (let attempt = 0; ; attempt++) {
          const before = Date.now();
          const btrbk = bench.keep(spec, tz);
          const afterT = Date.now();
          if (hourOf(before, tz) !== hourOf(afterT, tz) && attempt < 2) continue; // an hour boundary passed during the run
          assertAgrees({ names, pinned: NONE, spec, timezone: tz, nowMs: before, label: `real clock round ${round} ${tz} ${JSON.stringify(spec)}` }, btrbk);
          break;
        }
      }
    }
  });
});
