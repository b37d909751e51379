// `pantheragent daemon`: schedules (node-cron) for publishing the health state, drift
// refresh, power re-verification and adoption of the last boot's wipe; SIGHUP reloads
// the config (an invalid one is refused and the old one stays); SIGTERM stops at once.
// Idle it holds only the cron timers: no polling loop, no open filesystem or database
// between runs (each job opens what it needs and closes it).
import { join } from 'node:path';
import type { Agent } from '../agent.js';
import type { Config } from '../config/schema.js';
import type { DriftCheck } from '../drift/types.js';
import { AgentError, LockedError } from '../errors.js';
import { collectState, unavailableState } from '../health/collect.js';
import { publishState } from '../health/publish.js';
import type { HealthState } from '../health/state.js';
import { openDb } from '../store/db.js';
import type { Logger } from '../util/log.js';
import type { Pieces } from './pieces.js';

/** The daemon's schedules, as data (cron: minute hour day month weekday). */
export const DAEMON_JOBS = [
  { name: 'publish', cron: '* * * * *', what: 'gather the health state and publish it for the endpoint' },
  { name: 'power', cron: '*/10 * * * *', what: 're-verify the power profile against sysfs' },
  { name: 'drift', cron: '*/30 * * * *', what: 'refresh the drift report' },
  { name: 'adopt', cron: '17 * * * *', what: "take over the boot-time wipe's archived root (read-only, history, identity)" },
] as const;
export type JobName = (typeof DAEMON_JOBS)[number]['name'];

/** More than this between two minutely publishes means the machine slept. */
const RESUME_GAP_MS = 5 * 60_000;

export interface Scheduler {
  schedule(name: string, cron: string, fn: () => Promise<void>): { stop(): void };
}

export type OpenAgent = (config: Config, log: Logger, opts: { mutating: boolean; waitSeconds: number }) => Agent;

export interface DaemonOptions {
  configPath: string;
  log: Logger;
  loadConfig: (file: string) => Config;
  openAgent: OpenAgent;
  scheduler: Scheduler;
  pieces: Pieces;
  now?: () => number;
  /** Called once the first state is published (systemd readiness). */
  onReady?: () => Promise<void>;
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

export class Daemon {
  config: Config;
  private tasks: { stop(): void }[] = [];
  private queue: Promise<void> = Promise.resolve();
  private stopped = false;
  private driftRunning = false;
  lastState: HealthState | null = null;

  constructor(private readonly opts: DaemonOptions, config: Config) {
    this.config = config;
  }

  /** Loads the config (loadConfig checks it across sections too: roles, health thresholds). */
  static load(opts: DaemonOptions): Config {
    return opts.loadConfig(opts.configPath);
  }

  async start(): Promise<void> {
    const log = this.opts.log;
    await this.run('adopt');
    await this.run('publish');
    for (const job of DAEMON_JOBS) this.tasks.push(this.opts.scheduler.schedule(job.name, job.cron, () => this.run(job.name)));
    const p = this.opts.pieces;
    log.info(
      { jobs: DAEMON_JOBS.map((j) => `${j.name} (${j.cron})`), drift: p.runDrift ? 'on' : 'not in this build', power: this.config.power.enable ? 'on' : 'disabled' },
      'pantheragent daemon started',
    );
    await this.opts.onReady?.();
    // Drift can take minutes (nix eval): it starts now and publishes when done.
    void this.run('drift');
  }

  /** Jobs run one after another, so two never open the index at once; drift's slow part runs outside the queue. */
  run(name: JobName): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (name === 'drift') return this.refreshDrift();
    return this.enqueue(name, () => this.job(name));
  }

  /** The queue never rejects: a failed job is logged and the next one runs. */
  private enqueue(name: string, fn: () => Promise<void>): Promise<void> {
    const next = this.queue.then(fn).catch((e) => this.opts.log.error({ err: message(e), job: name }, `job ${name} failed: ${message(e)}`));
    this.queue = next;
    return next;
  }

  private async job(name: Exclude<JobName, 'drift'>): Promise<void> {
    if (this.stopped) return;
    if (name === 'publish') {
      // A minutely job that finds many minutes gone by: the machine slept. Power is
      // verified again after resume, not only on its 10-minute schedule.
      const last = this.lastState ? Date.parse(this.lastState.collectedAt) : null;
      const gap = last === null ? 0 : (this.opts.now ?? Date.now)() - last;
      if (gap > RESUME_GAP_MS) {
        this.opts.log.info({ gapSeconds: Math.round(gap / 1000) }, 'resumed after a pause (suspend?): verifying the power profile again');
        await this.verifyPower();
      }
      return this.publish();
    }
    if (name === 'adopt') return this.adopt();
    await this.verifyPower();
    await this.publish();
  }

  private async publish(): Promise<void> {
    const config = this.config;
    const deps = { now: this.opts.now, readDrift: this.opts.pieces.readDrift, powerSummary: this.opts.pieces.powerSummary };
    let state: HealthState;
    let agent: Agent | null = null;
    try {
      agent = this.opts.openAgent(config, this.opts.log, { mutating: false, waitSeconds: 0 });
    } catch (e) {
      this.opts.log.error({ err: message(e) }, `cannot open the Btrfs filesystem: ${message(e)}`);
      state = await unavailableState(config, message(e), deps);
    }
    if (agent) {
      try {
        state = await collectState(agent, deps);
      } finally {
        agent.close();
      }
    }
    publishState(config.runtimeDir, state!);
    this.lastState = state!;
    this.opts.log.debug({ collectedAt: state!.collectedAt }, 'health state published');
  }

  /** A mutating open runs journal recovery and adoption after boot (openAgent); a busy lock means try next time. */
  private async adopt(): Promise<void> {
    let agent: Agent;
    try {
      agent = this.opts.openAgent(this.config, this.opts.log, { mutating: true, waitSeconds: 0 });
    } catch (e) {
      if (e instanceof LockedError) this.opts.log.info('another pantheragent holds the lock: adoption waits for the next run');
      else {
        // openAgent gives the lock back itself when a later step throws.
        this.opts.log.error({ err: message(e) }, `adoption after boot failed: ${message(e)}`);
      }
      return;
    }
    agent.close();
  }

  private async verifyPower(): Promise<void> {
    const check = this.opts.pieces.profileDrift;
    if (!check || !this.config.power.enable) return;
    const r = await check(this.config);
    if (r.status === 'drift') this.opts.log.warn({ details: r.details }, `power profile drift: ${r.summary}`);
    else this.opts.log.debug({ status: r.status }, `power profile: ${r.summary}`);
  }

  private async refreshDrift(): Promise<void> {
    const { runDrift, storeDrift } = this.opts.pieces;
    // One run at a time: the one at start and a scheduled one may meet when nix eval is slow.
    if (!runDrift || !storeDrift || this.driftRunning) return;
    const config = this.config;
    let checks: DriftCheck[];
    this.driftRunning = true;
    try {
      checks = await runDrift(config, { log: this.opts.log });
    } catch (e) {
      this.opts.log.error({ err: message(e) }, `drift refresh failed: ${message(e)}`);
      return;
    } finally {
      this.driftRunning = false;
    }
    if (this.stopped) return;
    await this.enqueue('drift', () => {
      const db = openDb(config.stateDir);
      try {
        storeDrift(db, checks);
      } finally {
        db.close();
      }
      return this.publish();
    });
  }

  /** SIGHUP: the new config replaces the old only when it is valid in every part. */
  async reload(): Promise<boolean> {
    let next: Config;
    try {
      next = Daemon.load(this.opts);
    } catch (e) {
      const issues = e instanceof AgentError ? e.details.issues : undefined;
      this.opts.log.error({ file: this.opts.configPath, issues }, `configuration reload rejected, the previous configuration stays in force: ${message(e)}`);
      return false;
    }
    this.config = next;
    await this.run('publish');
    this.opts.log.info({ file: this.opts.configPath }, 'configuration reloaded (and the health state published with it)');
    return true;
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.tasks) t.stop();
    this.tasks = [];
  }
}
