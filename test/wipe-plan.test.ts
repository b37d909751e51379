// Pure parts of the wipe: the plan, the marker name rule, the record format and its
// parser, the status wording. No filesystem, no root.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkMarkerName, describeFailure, describeStep, layoutOf, MARKER_NAME_CHARS, planWipe, WIPE_ERRORS, WIPE_FAILPOINTS, WIPE_FILES } from '../src/wipe/plan.js';
import { decodeValue, encodeValue, formatRecord, parseRecord, RECORD_KEYS, type WipeRecord } from '../src/wipe/record.js';
import { lastWipeHuman, lastWipeJson } from '../src/cli/wipe-view.js';

const layout = { device: '/dev/mapper/cryptroot', root: '@root', blank: '@root-blank', archiveDir: '@old_roots' };

test('the plan: the steps of DESIGN.md section 6, in order, from the configuration', () => {
  const plan = planWipe(layout, Date.UTC(2026, 10, 25, 22, 0, 0, 789));
  assert.equal(plan.instant, Date.UTC(2026, 10, 25, 22, 0, 0), 'whole seconds: the stamp has no more');
  assert.deepEqual(
    plan.steps.map((s) => s.kind),
    ['mount-top', 'check-skip', 'choose-source', 'ensure-blank', 'archive-root', 'create-root', 'consume-marker', 'write-record', 'unmount'],
  );
  assert.deepEqual(plan.steps[0], { kind: 'mount-top', device: '/dev/mapper/cryptroot' });
  assert.deepEqual(plan.steps[4], { kind: 'archive-root', root: '@root', archiveDir: '@old_roots', base: '@root', failpoint: 'wipe.after-rename' });
  assert.deepEqual(plan.onFailure, { renameBack: true, record: true, initrdExitCode: 0 });
  assert.equal(plan.files, WIPE_FILES);
  // Every failpoint the executor knows is on a step (or right after the journal).
  const onSteps = plan.steps.flatMap((s) => ('failpoint' in s ? [s.failpoint] : 'failpoints' in s ? s.failpoints : []));
  assert.deepEqual(['wipe.after-journal', ...onSteps], [...WIPE_FAILPOINTS]);
  assert.match(describeStep(plan.steps[4]!, plan), /rename @root .* to @old_roots\/@root\.20261125T220000\+0000\[_N\], never onto an existing name/);
  assert.match(describeFailure(plan), /rename the archived root back to @root/);
});

test('the plan for the initrd leaves the stamp to boot time; nested names use their base name', () => {
  const plan = planWipe({ ...layout, root: 'system/@root' }, null);
  assert.equal(plan.instant, null);
  const archive = plan.steps.find((s) => s.kind === 'archive-root');
  assert.deepEqual(archive, { kind: 'archive-root', root: 'system/@root', archiveDir: '@old_roots', base: '@root', failpoint: 'wipe.after-rename' });
  assert.match(describeStep(archive!, plan), /<UTC stamp at boot>/);
  for (const s of plan.steps) assert.ok(describeStep(s, plan).length > 10, s.kind);
});

test('layoutOf takes what the wipe needs from a configuration', () => {
  assert.deepEqual(
    layoutOf({ btrfs: { device: '/dev/vda2' }, root: { subvolume: '@r', blank: '@b', archiveDir: '@a' } }),
    { device: '/dev/vda2', root: '@r', blank: '@b', archiveDir: '@a' },
  );
});

test('marker names: one component of safe characters, optionally prefixed by the archive directory', () => {
  const cases: [string, ReturnType<typeof checkMarkerName>][] = [
    ['@root.20261101T000000+0000', { ok: true, name: '@root.20261101T000000+0000' }],
    ['@old_roots/@root.20261101T000000+0000_2', { ok: true, name: '@root.20261101T000000+0000_2' }],
    ['anything-else_ok:1', { ok: true, name: 'anything-else_ok:1' }],
    ['', { ok: false, reason: 'bad-name' }],
    ['.', { ok: false, reason: 'bad-name' }],
    ['..', { ok: false, reason: 'bad-name' }],
    ['@old_roots/..', { ok: false, reason: 'bad-name' }],
    ['../@persist', { ok: false, reason: 'bad-name' }],
    ['@old_roots/a/b', { ok: false, reason: 'bad-name' }],
    ['/@old_roots/x', { ok: false, reason: 'bad-name' }],
    ['name with space', { ok: false, reason: 'bad-name' }],
    ["it's", { ok: false, reason: 'bad-name' }],
    ['$(reboot)', { ok: false, reason: 'bad-name' }],
    ['x\r', { ok: false, reason: 'bad-name' }],
  ];
  for (const [line, want] of cases) assert.deepEqual(checkMarkerName(line, '@old_roots'), want, JSON.stringify(line));
  assert.equal(MARKER_NAME_CHARS, 'A-Za-z0-9._+@:-', 'the sh bracket expression in render.ts is built from this');
});

const sample: WipeRecord = {
  version: 1,
  time: '2026-11-25T22:00:00Z',
  outcome: 'ok',
  executor: 'initrd',
  stamp: '20261125T220000+0000',
  source: 'blank',
  from: '@root-blank',
  root: '@root',
  archived: '@old_roots/@root.20261125T220000+0000',
  marker: { state: 'none' },
  renamedBack: false,
  error: null,
};

test('the record: one line of key=value in a fixed order; round-trips', () => {
  const line = formatRecord(sample);
  assert.equal(
    line,
    'v=1 time=2026-11-25T22:00:00Z outcome=ok executor=initrd stamp=20261125T220000+0000 source=blank from=@root-blank root=@root archived=@old_roots/@root.20261125T220000+0000 marker=none renamed_back=no error=-',
  );
  assert.deepEqual(line.split(' ').map((p) => p.split('=')[0]), [...RECORD_KEYS]);
  const variants: WipeRecord[] = [
    sample,
    { ...sample, outcome: 'failed', archived: null, renamedBack: true, error: 'could not snapshot the source as the new @root; and 100% = bad\nreally' },
    { ...sample, source: 'rollback', from: '@old_roots/@root.20261101T000000+0000', marker: { state: 'used' } },
    { ...sample, marker: { state: 'ignored', reason: 'not-a-subvolume' }, executor: 'agent' },
    { ...sample, outcome: 'skipped', archived: null, root: "odd'name $x", from: 'ünïcode/-' },
    { ...sample, error: '-' },
  ];
  for (const r of variants) {
    const l = formatRecord(r);
    assert.ok(!l.includes('\n'), 'never more than one line');
    assert.deepEqual(parseRecord(l), { ok: true, record: r });
    assert.deepEqual(parseRecord(l + '\n'), { ok: true, record: r }, 'a trailing newline is fine');
  }
});

test('the record parser rejects what it cannot trust, and says why', () => {
  const line = formatRecord(sample);
  const bad: [string, RegExp][] = [
    ['', /missing v/],
    ['garbage', /"garbage" is not key=value/],
    [line.replace('outcome=ok', 'outcome=maybe'), /outcome must be one of ok\|failed\|skipped/],
    [line.replace(' error=-', ''), /missing error/],
    [line.replace(' archived=@old_roots/@root.20261125T220000+0000', ''), /missing archived/],
    [line.replace('v=1', 'v=2'), /record version 2 is not 1/],
    [line + ' outcome=ok', /key "outcome" appears twice/],
    [line.replace('from=@root-blank', 'from=%zz'), /value of "from": bad escape/],
    [line.replace('time=2026-11-25T22:00:00Z', 'time=yesterday'), /time "yesterday"/],
    [line.replace('stamp=20261125T220000+0000', 'stamp=now'), /stamp "now"/],
    [line.replace('marker=none', 'marker=ignored:'), /marker must be none\|used\|ignored:<reason>/],
    [line.replace('renamed_back=no', 'renamed_back=maybe'), /renamed_back must be one of yes\|no/],
    [line + '\n' + line, /more than one line/],
  ];
  for (const [l, why] of bad) {
    const r = parseRecord(l);
    assert.equal(r.ok, false, l);
    if (!r.ok) assert.match(r.error, why, l);
  }
  // Unknown keys are a newer writer: ignored.
  assert.equal(parseRecord(line + ' boot=3f2a').ok, true);
});

test('value encoding: safe characters stay, everything else is %XX of UTF-8; "-" is none', () => {
  assert.equal(encodeValue('@old_roots/@root.20261125T220000+0000_1'), '@old_roots/@root.20261125T220000+0000_1');
  assert.equal(encodeValue('a b=c%'), 'a%20b%3Dc%25');
  assert.equal(encodeValue(null), '-');
  assert.equal(encodeValue('-'), '%2D');
  assert.equal(decodeValue('-'), null);
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const alphabet = ' =%-\n\t\'"$`\\/@.+_:,aZ9é€😀';
  for (let i = 0; i < 500; i++) {
    const s = Array.from({ length: Math.floor(rnd() * 12) }, () => [...alphabet][Math.floor(rnd() * [...alphabet].length)]).join('');
    const e = encodeValue(s);
    assert.match(e, /^[A-Za-z0-9._+@:/,%-]*$/);
    assert.equal(decodeValue(e), s === '' ? '' : s);
  }
});

test('status wording of the last wipe; a failure is red on a terminal and not ok in JSON', () => {
  const now = Date.parse('2026-11-25T23:00:00Z');
  const ok = lastWipeJson({ state: 'recorded', line: formatRecord(sample), record: sample });
  assert.equal(ok.ok, true);
  assert.equal(lastWipeHuman(ok, now), 'wiped 1h ago (2026-11-25T22:00:00Z), archived @old_roots/@root.20261125T220000+0000');
  const failedRecord: WipeRecord = { ...sample, outcome: 'failed', archived: null, renamedBack: true, error: 'could not snapshot the source as the new @root' };
  const failed = lastWipeJson({ state: 'recorded', line: formatRecord(failedRecord), record: failedRecord });
  assert.deepEqual({ status: failed.status, ok: failed.ok }, { status: 'failed', ok: false });
  const isTTY = process.stdout.isTTY;
  const noColor = process.env.NO_COLOR;
  try {
    process.stdout.isTTY = true;
    delete process.env.NO_COLOR;
    assert.equal(lastWipeHuman(failed, now), '\x1b[31mLAST WIPE FAILED 1h ago (2026-11-25T22:00:00Z): could not snapshot the source as the new @root; the root was not wiped (see docs/wipe.md)\x1b[0m');
  } finally {
    process.stdout.isTTY = isTTY;
    if (noColor !== undefined) process.env.NO_COLOR = noColor;
  }
  const rolled: WipeRecord = { ...sample, source: 'rollback', from: '@old_roots/@root.20261101T000000+0000', marker: { state: 'used' } };
  assert.match(lastWipeHuman(lastWipeJson({ state: 'recorded', line: '', record: rolled }), now), /, rolled back to @old_roots\/@root\.20261101T000000\+0000$/);
  assert.deepEqual((({ status, ok }) => ({ status, ok }))(lastWipeJson({ state: 'unreadable', line: 'x', error: 'e' })), { status: 'unreadable', ok: false });
  assert.deepEqual((({ status, ok }) => ({ status, ok }))(lastWipeJson({ state: 'none' })), { status: 'never', ok: true });
});

test('error wording has nothing sh would interpret inside double quotes (the script logs it that way)', () => {
  for (const [name, fn] of Object.entries(WIPE_ERRORS)) {
    const text = (fn as (l: typeof layout) => string)(layout);
    assert.doesNotMatch(text, /["\\`$]/, name);
    assert.ok(!text.includes('\n'), name);
  }
});
