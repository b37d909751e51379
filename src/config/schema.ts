// The whole configuration of DESIGN.md section 4, with its defaults. Unknown keys
// are errors everywhere (strictObject), so a typo never silently means "default".
// Namespace import: lets esbuild drop the parts of zod we do not use (its locales are ~350 KB).
import * as z from 'zod';
import { DAYS_OF_WEEK, parsePreserve, parsePreserveMin, type RetentionPolicy } from '../retention/policy.js';
import { healthSettings } from '../health/settings.js';

// One parse per process: zod's JIT-compiled fast path costs more to build than it saves.
z.config({ jitless: true });

// A NUL or control character in a path is never meant: reject it before it reaches a syscall or a log line.
const NO_CONTROL = { message: 'must not contain NUL or other control characters' };
const noControl = (s: string) => !/\p{Cc}/u.test(s);

const absPath = z
  .string()
  .refine((s) => s.startsWith('/'), { message: 'must be an absolute path (start with "/")' })
  .refine((s) => !s.split('/').includes('..'), { message: 'must not contain ".."' })
  .refine(noControl, NO_CONTROL);

// Kernel pseudo-filesystems take no state: writes there fail or, worse, mean something.
const stateDirPath = absPath.refine((s) => !/^\/+(proc|sys|dev)(\/|$)/.test(s), {
  message: 'must not be under /proc, /sys or /dev: use a directory on a real filesystem such as /var/lib/pantheragent',
});

/** A subvolume path relative to the Btrfs top level, e.g. "@persist" or "@old_roots". */
const subvolPath = z
  .string()
  .min(1, { message: 'must not be empty' })
  .refine((s) => !s.startsWith('/'), { message: 'is a path from the Btrfs top level: drop the leading "/"' })
  .refine((s) => !s.replace(/^\/+/, '').split('/').some((p) => p === '..' || p === '.' || p === ''), {
    message: 'must not contain "..", "." or empty components',
  })
  .refine((s) => !/\s/.test(s), { message: 'must not contain whitespace' })
  .refine(noControl, NO_CONTROL);

const retention = z
  .strictObject({
    preserveMin: z.string().default('1d'),
    preserve: z.string().default('24h 14d 8w 6m'),
    preserveDayOfWeek: z.enum(DAYS_OF_WEEK).default('sunday'),
    preserveHourOfDay: z.number().int().min(0).max(23).default(0),
  })
  .superRefine((r, ctx) => {
    const min = parsePreserveMin(r.preserveMin);
    if (!min.ok) ctx.addIssue({ code: 'custom', path: ['preserveMin'], message: min.error });
    const p = parsePreserve(r.preserve);
    if (!p.ok) ctx.addIssue({ code: 'custom', path: ['preserve'], message: p.error });
  })
  .transform((r): RetentionPolicy => {
    const min = parsePreserveMin(r.preserveMin);
    const p = parsePreserve(r.preserve);
    // superRefine has already rejected the failures; zod does not run transform then.
    if (!min.ok || !p.ok) throw new Error('unreachable: retention validated above');
    return { preserveMin: min.value, preserve: p.value, preserveDayOfWeek: r.preserveDayOfWeek, preserveHourOfDay: r.preserveHourOfDay };
  });

function retentionWith(preserveMin: string, preserve: string) {
  return retention.prefault({ preserveMin, preserve });
}

const source = z.strictObject({ retention: retentionWith('1d', '24h 14d 8w 6m') });

const defaultSources = {
  '@persist': { retention: { preserveMin: '1d', preserve: '24h 14d 8w 6m' } },
  '@home': { retention: { preserveMin: '1d', preserve: '24h 14d 8w 6m' } },
  '@log': { retention: { preserveMin: '1d', preserve: '7d' } },
};

const profileName = z.enum(['power-saver', 'balanced', 'performance']);
export const POWER_MODELS = ['auto', 'generic', 'lenovo-yoga-7', 'asus-zephyrus-m16'] as const;
/** Knob ids of src/power/plan.ts (power.overrides keys). */
const POWER_KNOB_ID =
  /^(platform_profile|cpu\.(governor|epp|boost)|battery\.(charge_start|charge_end|charge_type)|ideapad\.conservation_mode|asus\.throttle_thermal_policy|nvidia\.runtime_pm|armoury\.[a-z0-9_]+)$/;

function validTimezone(tz: string): boolean {
  // Building an Intl formatter loads ICU zone data (~10 ms): not for the common zones.
  if (tz === 'local' || tz === 'UTC') return true;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export const configSchema = z.strictObject({
  host: z
    .string()
    .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, { message: 'must be a hostname: lowercase letters, digits and "-"' }),
  stateDir: stateDirPath.default('/var/lib/pantheragent'),
  btrfs: z
    .strictObject({
      device: absPath.default('/dev/mapper/cryptroot'),
      topLevel: absPath.nullable().default(null),
    })
    .prefault({}),
  root: z
    .strictObject({
      subvolume: subvolPath.default('@root'),
      blank: subvolPath.default('@root-blank'),
      archiveDir: subvolPath.default('@old_roots'),
      retention: retentionWith('3d', '14d 4w'),
    })
    .prefault({}),
  snapshots: z
    .strictObject({
      dir: subvolPath.default('@snapshots'),
      sources: z
        .record(subvolPath, source)
        .refine((s) => Object.keys(s).length > 0, { message: 'must name at least one source subvolume (e.g. "@persist")' })
        .prefault(defaultSources),
      minFreePercent: z.number().min(0).max(100).default(10),
    })
    .prefault({}),
  persistence: z
    .strictObject({
      storage: absPath.default('/persist'),
      directories: z.array(absPath).default(['/etc/nixos', '/var/lib/nixos']),
      files: z.array(absPath).default(['/etc/machine-id']),
    })
    .prefault({}),
  diff: z
    .strictObject({ ignore: z.array(absPath).default(['/tmp', '/var/tmp', '/var/cache', '/root/.cache']) })
    .prefault({}),
  drift: z
    .strictObject({
      flake: z.string().min(1).default('git+file:///etc/pantherOS'),
      attribute: z.string().min(1).nullable().default(null),
      expectedToplevel: z
        .string()
        .regex(/^\/nix\/store\/[0-9a-z]{32}-[^/]+$/, { message: 'must be a /nix/store path of a system toplevel' })
        .nullable()
        .default(null),
      // Seconds a kind may take before it is reported unknown ("timed out"); each kind has its
      // own, so a slow one never holds up the others. closure may evaluate a whole NixOS system.
      timeouts: z
        .strictObject({
          reboot: z.number().positive().max(3600).default(5),
          nextboot: z.number().positive().max(3600).default(5),
          revision: z.number().positive().max(3600).default(30),
          closure: z.number().positive().max(3600).default(300),
          state: z.number().positive().max(3600).default(60),
          persistence: z.number().positive().max(3600).default(5),
          profile: z.number().positive().max(3600).default(10),
          units: z.number().positive().max(3600).default(10),
        })
        .prefault({}),
    })
    .prefault({}),
  power: z
    .strictObject({
      enable: z.boolean().default(true),
      model: z.enum(POWER_MODELS).default('auto'),
      onAC: profileName.default('balanced'),
      onBattery: profileName.default('power-saver'),
      chargeLimit: z.number().int().min(20).max(100).nullable().default(80),
      sysfsRoot: absPath.default('/sys'),
      // Single knobs per profile, over the model table: a value, or null to leave the knob alone.
      overrides: z
        .partialRecord(
          profileName,
          z.record(
            z.string().regex(POWER_KNOB_ID, { message: 'must name a knob: platform_profile, cpu.governor, cpu.epp, cpu.boost, battery.charge_start, battery.charge_end, battery.charge_type, ideapad.conservation_mode, asus.throttle_thermal_policy, nvidia.runtime_pm or armoury.<attribute>' }),
            z.union([z.string().min(1), z.number(), z.null()]),
          ),
        )
        .default({}),
    })
    .prefault({}),
  health: z
    .strictObject({
      port: z.number().int().min(1).max(65535).default(9473),
      listen: z.array(z.enum(['loopback', 'tailscale'])).default(['loopback', 'tailscale']),
      allow: z
        .strictObject({
          tags: z.array(z.string().regex(/^tag:[A-Za-z0-9-]+$/, { message: 'must look like "tag:monitor"' })).default(['tag:monitor']),
          users: z.array(z.string().min(1)).default([]),
        })
        .prefault({}),
      tailscaleSocket: absPath.default('/run/tailscale/tailscaled.sock'),
      ...healthSettings,
    })
    .prefault({}),
  rollback: z
    .strictObject({
      /** Days that safety snapshots and rolled-back subvolumes are kept before retention applies to them. */
      graceDays: z.number().int().min(0).max(3650).default(7),
    })
    .prefault({}),
  runtimeDir: absPath.default('/run/pantheragent'),
  timezone: z
    .string()
    .refine(validTimezone, { message: 'must be "local" or an IANA time zone such as "Europe/Berlin"' })
    .default('local'),
  systemRoot: absPath.default('/'),
});

export type Config = z.output<typeof configSchema>;
export type SourceConfig = Config['snapshots']['sources'][string];
