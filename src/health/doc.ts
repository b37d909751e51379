// Pure: the published facts and the time now -> the health document
// (application/health+json, draft-inadarei-api-health-check) and the Prometheus text.
// Verdicts are made here, at serving time, so ages keep growing when nothing publishes.
//
// The Prometheus exposition is written by hand: these are a dozen gauges rendered from
// one document, with no counters or histograms kept over time, so a client library
// (prom-client: a registry, process collectors, one more dependency to load in the
// endpoint) would buy nothing that the escaping function below does not.
import { formatAge } from '../cli/output.js';
import { DRIFT_KINDS } from '../drift/types.js';
import type { ReadState } from './publish.js';
import type { HealthState } from './state.js';

export type Status = 'pass' | 'warn' | 'fail';

export interface HealthCheck {
  componentId?: string;
  componentType?: string;
  observedValue?: number | string | null;
  observedUnit?: string;
  status: Status;
  time?: string;
  output?: string;
}

export interface HealthDocument {
  status: Status;
  version: '1';
  releaseId: string;
  serviceId: 'pantheragent';
  description: string;
  output?: string;
  checks: Record<string, HealthCheck[]>;
}

const RANK: Record<Status, number> = { pass: 0, warn: 1, fail: 2 };
const worst = (xs: Status[]): Status => xs.reduce<Status>((a, b) => (RANK[b] > RANK[a] ? b : a), 'pass');

/** Ages in outputs read as `status` and `list` show them. */
const age = (seconds: number) => formatAge(seconds * 1000);

function snapshotChecks(s: HealthState, now: number): HealthCheck[] {
  const sources = Object.keys(s.thresholds.snapshots);
  if (!s.snapshots.ok) {
    const why = s.snapshots.why;
    // Whether snapshots are being taken at all is the point of this agent: not knowing fails.
    return sources.map((source) => ({ componentId: source, componentType: 'subvolume', status: 'fail', time: s.collectedAt, output: `unknown: ${why}` }));
  }
  const facts = new Map(s.snapshots.value.map((f) => [f.source, f]));
  return sources.map((source): HealthCheck => {
    const t = s.thresholds.snapshots[source]!;
    const f = facts.get(source);
    const base = { componentId: source, componentType: 'subvolume', time: s.collectedAt };
    if (!f?.newest) return { ...base, observedValue: null, observedUnit: 's', status: 'warn', output: `no snapshot of ${source} yet (the snapshot timer makes them; or run 'pantheragent snapshot')` };
    const seconds = Math.max(0, Math.round((now - Date.parse(f.newest.time)) / 1000));
    const status: Status = seconds >= t.failSeconds ? 'fail' : seconds >= t.warnSeconds ? 'warn' : 'pass';
    const limit = status === 'fail' ? t.failSeconds : t.warnSeconds;
    return {
      ...base,
      observedValue: seconds,
      observedUnit: 's',
      status,
      ...(status === 'pass' ? {} : { output: `newest snapshot ${f.newest.name} is ${age(seconds)} old (${status} after ${age(limit)}): is pantheragent-snapshot.timer running?` }),
    };
  });
}

function wipeCheck(s: HealthState): HealthCheck {
  const base = { componentType: 'system', time: s.collectedAt };
  if (!s.wipe.ok) return { ...base, status: 'warn', output: `unknown: ${s.wipe.why}` };
  const w = s.wipe.value;
  const when = w.time ? { time: w.time } : {};
  switch (w.status) {
    case 'never':
      return { ...base, observedValue: 'never', status: 'pass', output: 'no root wipe recorded' };
    case 'ok':
      return { ...base, ...when, observedValue: 'ok', status: 'pass' };
    case 'skipped':
      return { ...base, ...when, observedValue: 'skipped', status: 'warn', output: 'the last boot skipped the root wipe (pantheragent.wipe=0 on the kernel command line)' };
    case 'failed':
      return { ...base, ...when, observedValue: 'failed', status: 'fail', output: `the last root wipe failed: ${w.error ?? 'no reason recorded'}; the root was not wiped (pantheragent status, docs/wipe.md)` };
    case 'unreadable':
      return { ...base, observedValue: 'unreadable', status: 'fail', output: `the last wipe record is unreadable: ${w.error ?? ''}` };
  }
}

function retentionCheck(s: HealthState): HealthCheck {
  const base = { componentType: 'system', time: s.collectedAt };
  if (!s.retention.ok) return { ...base, status: 'warn', output: `unknown: ${s.retention.why}` };
  const n = s.retention.value.snapshots + s.retention.value.roots;
  const limit = s.thresholds.retentionPendingWarn;
  return {
    ...base,
    observedValue: n,
    status: n > limit ? 'warn' : 'pass',
    ...(n > limit ? { output: `${n} snapshots and archived roots wait for retention (more than ${limit}): is 'snapshot --prune' running? (pantheragent prune --dry-run)` } : {}),
  };
}

function driftChecks(s: HealthState): Record<string, HealthCheck[]> {
  const out: Record<string, HealthCheck[]> = {};
  const byKind = s.drift.ok ? new Map(s.drift.value.map((d) => [d.kind, d])) : null;
  for (const kind of DRIFT_KINDS) {
    const base = { componentType: 'system' };
    let c: HealthCheck;
    if (!s.drift.ok) c = { ...base, status: 'warn', time: s.collectedAt, output: `unknown: ${s.drift.why}` };
    else {
      const d = byKind!.get(kind);
      if (!d) c = { ...base, status: 'warn', time: s.collectedAt, output: 'unknown: not measured yet (the daemon runs drift checks on a schedule; or run pantheragent drift)' };
      else if (d.status === 'ok') c = { ...base, observedValue: 'ok', status: 'pass', time: d.measuredAt };
      else c = { ...base, observedValue: d.status, status: 'warn', time: d.measuredAt, output: d.status === 'unknown' ? `unknown: ${d.summary}` : d.summary };
    }
    out[`drift:${kind}`] = [c];
  }
  return out;
}

/** Names dated after the clock: kept (and the newest by creation with them), but a person should know the clock was wrong. */
function futureCheck(s: HealthState): HealthCheck {
  const base = { componentType: 'datastore', time: s.collectedAt };
  if (!s.future.ok) return { ...base, status: 'warn', output: `unknown: ${s.future.why}` };
  const f = s.future.value;
  if (f.length === 0) return { ...base, observedValue: 0, status: 'pass' };
  return { ...base, observedValue: f.length, status: 'warn', output: `${f.length} dated in the future (e.g. ${f[0]!.path}, ${f[0]!.time}): the clock was wrong when they were made; kept, and the newest by creation is kept too` };
}

function diskCheck(s: HealthState): HealthCheck {
  const base = { componentType: 'datastore', time: s.collectedAt };
  if (!s.disk.ok) return { ...base, status: 'warn', output: `unknown: ${s.disk.why}` };
  const { freePercent, free } = s.disk.value;
  const { warnPercent, failPercent } = s.thresholds.freeSpace;
  const status: Status = freePercent < failPercent ? 'fail' : freePercent < warnPercent ? 'warn' : 'pass';
  const gib = (free / 1024 ** 3).toFixed(1);
  return {
    ...base,
    observedValue: freePercent,
    observedUnit: '%',
    status,
    ...(status === 'fail'
      ? { output: `${freePercent}% free (${gib} GiB), under snapshots.minFreePercent (${failPercent}%): snapshots are refused until space is freed` }
      : status === 'warn'
        ? { output: `${freePercent}% free (${gib} GiB), under ${warnPercent}%` }
        : {}),
  };
}

function powerCheck(s: HealthState): HealthCheck {
  const base = { componentType: 'system', time: s.collectedAt };
  if (!s.power.ok) return { ...base, status: 'warn', output: `unknown: ${s.power.why}` };
  const p = s.power.value;
  if (p === null) return { ...base, observedValue: null, status: 'pass', output: 'power management is disabled on this host (power.enable is false)' };
  const problems = [
    ...(p.conflicts.length ? [`another power manager runs: ${p.conflicts.join(', ')}`] : []),
    ...(p.knobsOk < p.knobsTotal ? [`${p.knobsTotal - p.knobsOk} of ${p.knobsTotal} knobs differ from the profile (pantheragent profile show)`] : []),
    ...(p.profile === null ? ['the active profile is unknown'] : []),
  ];
  return { ...base, observedValue: p.profile, status: problems.length ? 'warn' : 'pass', ...(problems.length ? { output: problems.join('; ') } : {}) };
}

/** How old the published state is, and whether that is past health.staleAfter: /readyz, `health` and the state:age check share it. */
export function stateAge(s: HealthState, now: number): { seconds: number; stale: boolean } {
  const seconds = Math.max(0, Math.round((now - Date.parse(s.collectedAt)) / 1000));
  return { seconds, stale: seconds > s.thresholds.staleAfterSeconds };
}

function stateCheck(s: HealthState, now: number): HealthCheck {
  const { seconds, stale } = stateAge(s, now);
  return {
    componentType: 'component',
    observedValue: seconds,
    observedUnit: 's',
    status: stale ? 'warn' : 'pass',
    time: s.collectedAt,
    ...(stale ? { output: `the health state was published ${age(seconds)} ago: is pantheragent.service running?` } : {}),
  };
}

export function healthDocument(read: ReadState, now: number, version: string): HealthDocument {
  const head = { version: '1' as const, releaseId: version, serviceId: 'pantheragent' as const };
  if (!read.ok) {
    return { status: 'fail', ...head, description: 'pantheragent health', output: read.why, checks: { 'state:age': [{ componentType: 'component', status: 'fail', output: read.why }] } };
  }
  const s = read.state;
  const checks: Record<string, HealthCheck[]> = {
    'snapshots:age': snapshotChecks(s, now),
    'wipe:last': [wipeCheck(s)],
    'retention:pending': [retentionCheck(s)],
    'snapshots:future': [futureCheck(s)],
    ...driftChecks(s),
    'disk:free': [diskCheck(s)],
    'power:profile': [powerCheck(s)],
    'state:age': [stateCheck(s, now)],
  };
  const flat = Object.entries(checks).flatMap(([k, cs]) => cs.map((c) => ({ k, c })));
  const status = worst(flat.map((x) => x.c.status));
  const bad = flat.filter((x) => x.c.status === status && status !== 'pass');
  return {
    status,
    ...head,
    description: `pantheragent on ${s.host}`,
    ...(bad.length ? { output: bad.map((x) => `${x.k}${x.c.componentId ? ` ${x.c.componentId}` : ''}: ${x.c.output ?? x.c.status}`).join('; ') } : {}),
    checks,
  };
}

/** Number of checks per status, for one-line summaries. */
export function countChecks(doc: HealthDocument): Record<Status, number> {
  const n: Record<Status, number> = { pass: 0, warn: 0, fail: 0 };
  for (const cs of Object.values(doc.checks)) for (const c of cs) n[c.status]++;
  return n;
}

// Label values escape backslash, double quote and newline (exposition format 0.0.4).
const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const labels = (l: Record<string, string>) => {
  const e = Object.entries(l);
  return e.length ? `{${e.map(([k, v]) => `${k}="${esc(v)}"`).join(',')}}` : '';
};

class Exposition {
  private lines: string[] = [];
  family(name: string, help: string, samples: [Record<string, string>, number][]): void {
    if (samples.length === 0) return;
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
    for (const [l, v] of samples) this.lines.push(`${name}${labels(l)} ${Number.isFinite(v) ? String(v) : 'NaN'}`);
  }
  text(): string {
    return this.lines.join('\n') + '\n';
  }
}

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export function metricsText(read: ReadState, now: number, version: string): string {
  const x = new Exposition();
  const sec = (iso: string) => Date.parse(iso) / 1000;
  x.family('pantheragent_build_info', 'pantheragent version and host; always 1.', [[{ version, ...(read.ok ? { host: read.state.host } : {}) }, 1]]);
  x.family('pantheragent_state_available', '1 when the health state published by the daemon could be read.', [[{}, read.ok ? 1 : 0]]);
  if (!read.ok) return x.text();
  const s = read.state;
  const doc = healthDocument(read, now, version);
  x.family('pantheragent_health_status', 'Overall health: 1 for the current status.', (['pass', 'warn', 'fail'] as const).map((st) => [{ status: st }, doc.status === st ? 1 : 0]));
  x.family('pantheragent_state_timestamp_seconds', 'When the daemon gathered the health state.', [[{}, sec(s.collectedAt)]]);
  if (s.snapshots.ok) {
    x.family('pantheragent_last_snapshot_timestamp_seconds', 'Time of the newest snapshot of each source.', s.snapshots.value.filter((f) => f.newest).map((f) => [{ source: f.source }, sec(f.newest!.time)]));
    x.family('pantheragent_snapshots', 'Number of snapshots of each source.', s.snapshots.value.map((f) => [{ source: f.source }, f.count]));
  }
  if (s.wipe.ok && s.wipe.value.status !== 'never') {
    const w = s.wipe.value;
    x.family('pantheragent_last_wipe_success', '1 when the last root wipe succeeded, 0 when it failed, was skipped or is unreadable.', [[{}, w.status === 'ok' ? 1 : 0]]);
    if (w.time) x.family('pantheragent_last_wipe_timestamp_seconds', 'Time of the last root wipe record.', [[{}, sec(w.time)]]);
  }
  if (s.retention.ok) {
    x.family('pantheragent_retention_pending', 'Snapshots and archived roots that retention would delete now.', [
      [{ kind: 'snapshot' }, s.retention.value.snapshots],
      [{ kind: 'root' }, s.retention.value.roots],
    ]);
  }
  if (s.drift.ok) {
    // Unknown results are left out rather than reported as 0 (no drift) or 1.
    x.family('pantheragent_drift', '1 when this kind of drift was found, 0 when not (unknown kinds are absent).', s.drift.value.filter((d) => d.status !== 'unknown').map((d) => [{ kind: d.kind }, d.status === 'drift' ? 1 : 0]));
  }
  if (s.disk.ok) {
    x.family('pantheragent_free_bytes', 'Estimated free bytes on the Btrfs filesystem.', [[{}, s.disk.value.free]]);
    x.family('pantheragent_size_bytes', 'Size of the Btrfs filesystem.', [[{}, s.disk.value.size]]);
  }
  if (s.power.ok && s.power.value?.profile) {
    x.family('pantheragent_power_profile_info', 'The active power profile; always 1.', [[{ profile: s.power.value.profile }, 1]]);
  }
  return x.text();
}
