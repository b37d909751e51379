// The knob writer: walks the ordered steps, skips what already reads as wanted, writes,
// reads back and compares. A refusal is recorded for its knob and the walk goes on;
// refusals that another write may cure are retried once at the end of the walk.
import { failpoint } from '../util/failpoint.js';
import { errnoOf, type SysfsIO } from './sysfs.js';
import { parseBracketed } from './facts.js';
import { labelOf, type KnobId, type PlannedKnob, type Step, type Target } from './plan.js';

export interface WriteError {
  code: string;
  message: string;
}

export interface StepResult {
  knob: KnobId;
  path: string;
  want: string;
  before: string | null;
  after: string | null;
  wrote: boolean;
  attempts: number;
  error: WriteError | null;
}

/** What each errno means for a sysfs knob, and what to do. */
const HINTS: Record<string, string> = {
  EBUSY: 'the kernel is busy with it (EPP under the performance governor, or firmware mid-change)',
  EINVAL: 'the kernel rejected the value (not offered, out of range, or breaks start < end)',
  EOPNOTSUPP: 'this platform does not support the value',
  ENODATA: 'the firmware returned no data for it',
  EACCES: 'not permitted: the attribute is read-only or the agent is not root',
  EPERM: 'not permitted: the firmware or kernel locks it (e.g. turbo disabled in the BIOS)',
  ENOENT: 'the attribute disappeared (driver unloaded?)',
  EIO: 'the firmware call failed',
  READBACK: 'the write was accepted but the value did not stick',
};

export function describeError(code: string, detail?: string): WriteError {
  const hint = HINTS[code] ?? 'unexpected error';
  return { code, message: detail ? `${code}: ${hint} (${detail})` : `${code}: ${hint}` };
}

/** Refusals worth one more try after the other writes: busy now, or an ordering the other threshold's write may fix. */
function retryable(step: Step, code: string): boolean {
  if (code === 'EBUSY' || code === 'EAGAIN') return true;
  return code === 'EINVAL' && (step.knob === 'battery.charge_start' || step.knob === 'battery.charge_end');
}

export function readActual(io: SysfsIO, t: Pick<Target, 'path' | 'bracketed'>): string | null {
  const raw = io.read(t.path);
  return t.bracketed ? (parseBracketed(raw)?.active ?? null) : raw;
}

function attempt(io: SysfsIO, step: Step, r: StepResult): void {
  r.attempts++;
  try {
    io.write(step.target.path, step.target.want);
    r.wrote = true;
    failpoint('power.after-write');
  } catch (e) {
    r.error = describeError(errnoOf(e));
    r.after = safeRead(io, step.target);
    return;
  }
  r.after = safeRead(io, step.target);
  r.error = r.after === step.target.want ? null : describeError('READBACK', `wrote "${step.target.want}", reads "${r.after ?? '(nothing)'}"`);
}

function safeRead(io: SysfsIO, t: Target): string | null {
  try {
    return readActual(io, t);
  } catch {
    return null;
  }
}

export function runSteps(io: SysfsIO, steps: Step[]): StepResult[] {
  const results = steps.map((step): StepResult => {
    const before = safeRead(io, step.target);
    const r: StepResult = { knob: step.knob, path: step.target.path, want: step.target.want, before, after: before, wrote: false, attempts: 0, error: null };
    if (before !== step.target.want) attempt(io, step, r);
    return r;
  });
  steps.forEach((step, i) => {
    const r = results[i]!;
    if (r.error && r.attempts === 1 && retryable(step, r.error.code)) {
      // The value may have become right meanwhile (a coupled file, the kernel's own change).
      if (safeRead(io, step.target) === step.target.want) r.error = null;
      else attempt(io, step, r);
    }
  });
  return results;
}

export interface KnobReport {
  id: KnobId;
  label: string;
  declared: string;
  why: string;
  origin: PlannedKnob['origin'];
  /** ok: every file reads as declared; drift (show) / failed (apply): some does not; skipped: not on this machine. */
  status: 'ok' | 'drift' | 'failed' | 'skipped';
  skipped: string | null;
  targets: { path: string; want: string; actual: string | null; ok: boolean; error: WriteError | null; attempts: number }[];
}

/** Reads every declared file now and compares; with step results, failures carry the kernel's refusal. */
export function verify(io: SysfsIO, knobs: PlannedKnob[], results: StepResult[] | null): KnobReport[] {
  return knobs.map((k) => {
    const targets = k.targets.map((t) => {
      let actual: string | null;
      let readError: WriteError | null = null;
      try {
        actual = readActual(io, t);
      } catch (e) {
        actual = null;
        readError = describeError(errnoOf(e), 'reading it back');
      }
      const ok = actual === t.want;
      const r = results?.find((x) => x.path === t.path && x.knob === k.id);
      const error = ok ? null : (readError ?? r?.error ?? (results ? describeError('READBACK', `reads "${actual ?? '(nothing)'}"`) : null));
      return { path: t.path, want: t.want, actual, ok, error, attempts: r?.attempts ?? 0 };
    });
    const bad = targets.some((t) => !t.ok);
    return {
      id: k.id,
      label: labelOf(k.id),
      declared: k.declared,
      why: k.why,
      origin: k.origin,
      status: k.skipped ? 'skipped' : bad ? (results ? 'failed' : 'drift') : 'ok',
      skipped: k.skipped,
      targets,
    };
  });
}
