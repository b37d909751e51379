// A complete health state for tests of the document, the metrics and the endpoint,
// with every fact present; tests change what they look at.
import type { HealthState } from '../../src/health/state.js';

export function sampleState(now: number, over: Partial<HealthState> = {}): HealthState {
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    version: 1,
    agentVersion: '0.1.0',
    host: 'testhost',
    collectedAt: iso(now),
    thresholds: {
      snapshots: { '@persist': { warnSeconds: 3 * 3600, failSeconds: 24 * 3600 }, '@home': { warnSeconds: 3 * 3600, failSeconds: 24 * 3600 } },
      freeSpace: { warnPercent: 20, failPercent: 10 },
      retentionPendingWarn: 50,
      staleAfterSeconds: 300,
    },
    snapshots: {
      ok: true,
      value: [
        { source: '@persist', count: 3, newest: { name: '@persist.20261130T010000+0000', time: iso(now - 600_000) } },
        { source: '@home', count: 2, newest: { name: '@home.20261130T010000+0000', time: iso(now - 600_000) } },
      ],
    },
    wipe: { ok: true, value: { status: 'ok', time: iso(now - 3_600_000), archived: '@old_roots/@root.20261130T000000+0000', error: null } },
    retention: { ok: true, value: { snapshots: 1, roots: 0 } },
    future: { ok: true, value: [] },
    disk: { ok: true, value: { size: 100 * 2 ** 30, free: 60 * 2 ** 30, freePercent: 60 } },
    drift: {
      ok: true,
      value: (['reboot', 'nextboot', 'revision', 'closure', 'state', 'persistence', 'profile', 'units'] as const).map((kind) => ({ kind, status: 'ok' as const, summary: `${kind}: as declared`, measuredAt: iso(now - 60_000) })),
    },
    power: { ok: true, value: { profile: 'balanced', onBattery: false, batteryPercent: 80, knobsOk: 6, knobsTotal: 6, conflicts: [] } },
    ...over,
  };
}
