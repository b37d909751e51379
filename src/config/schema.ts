// The whole configuration of DESIGN.md section 4, with its defaults. Unknown keys
// are errors everywhere (strictObject), so a typo never silently means "default".
import * as z from 'zod/mini';
import { intIn, numberIn } from '../util/zod.js';
import { DAYS_OF_WEEK, parsePreserve, parsePreserveMin, type RetentionPolicy } from '../retention/policy.js';
import { healthSettings } from '../health/settings.js';

// A NUL or control character in a path is never meant: reject it before it reaches a syscall or a log line.
const NO_CONTROL = { message: 'must not contain NUL or other control characters' };
const noControl = (s: string) => !/\p{Cc}/u.test(s);

const absPath = z.string().check(
  z.refine((s) => s.startsWith('/'), { message: 'must be an absolute path (start with "/")' }),
  z.refine((s) => !s.split('/').includes('..'), { message: 'must not contain ".."' }),
  z.refine(noControl, NO_CONTROL),
);

// Kernel pseudo-filesystems take no state: writes there fail or, worse, mean something.
const stateDirPath = absPath.check(
  z.refine((s) => !/^\/+(proc|sys|dev)(\/|$)/.test(s), {
    message: 'must not be under /proc, /sys or /dev: use a directory on a real filesystem such as /var/lib/pantheragent',
  }),
);

/** A subvolume path relative to the Btrfs top level, e.g. "@persist" or "@old_roots". */
const subvolPath = z.string().check(
  z.minLength(1, { message: 'must not be empty' }),
  z.refine((s) => !s.startsWith('/'), { message: 'is a path from the Btrfs top level: drop the leading "/"' }),
  z.refine((s) => !s.replace(/^\/+/, '').split('/').some((p) => p === '..' || p === '.' || p === ''), {
    message: 'must not contain "..", "." or empty components',
  }),
  z.refine((s) => !/\s/.test(s), { message: 'must not contain whitespace' }),
  z.refine(noControl, NO_CONTROL),
);

const retention = z.pipe(
  z
    .strictObject({
      preserveMin: z._default(z.string(), '1d'),
      preserve: z._default(z.string(), '24h 14d 8w 6m'),
      preserveDayOfWeek: z._default(z.enum(DAYS_OF_WEEK), 'sunday'),
      preserveHourOfDay: z._default(intIn(0, 23), 0),
    })
    .check(
      z.superRefine((r, ctx) => {
        const min = parsePreserveMin(r.preserveMin);
        if (!min.ok) ctx.addIssue({ code: 'custom', path: ['preserveMin'], message: min.error });
        const p = parsePreserve(r.preserve);
        if (!p.ok) ctx.addIssue({ code: 'custom', path: ['preserve'], message: p.error });
      }),
    ),
  z.transform((r): RetentionPolicy => {
    const min = parsePreserveMin(r.preserveMin);
    const p = parsePreserve(r.preserve);
    // superRefine has already rejected the failures; zod does not run transform then.
    if (!min.ok || !p.ok) throw new Error('unreachable: retention validated above');
    return { preserveMin: min.value, preserve: p.value, preserveDayOfWeek: r.preserveDayOfWeek, preserveHourOfDay: r.preserveHourOfDay };
  }),
);

function retentionWith(preserveMin: string, preserve: string) {
  return z.prefault(retention, { preserveMin, preserve });
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

const hostName = z.string().check(z.regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, { message: 'must be a hostname: lowercase letters, digits and "-"' }));
const storePath = z.string().check(z.regex(/^\/nix\/store\/[0-9a-z]{32}-[^/]+$/, { message: 'must be a /nix/store path of a system toplevel' }));
const nonEmpty = () => z.string().check(z.minLength(1));
/** Seconds a drift kind may take, at most an hour. */
const timeout = (seconds: number) => z._default(z.number().check(z.positive(), z.maximum(3600)), seconds);
const knobId = z.string().check(
  z.regex(POWER_KNOB_ID, {
    message:
      'must name a knob: platform_profile, cpu.governor, cpu.epp, cpu.boost, battery.charge_start, battery.charge_end, battery.charge_type, ideapad.conservation_mode, asus.throttle_thermal_policy, nvidia.runtime_pm or armoury.<attribute>',
  }),
);
const monitorTag = z.string().check(z.regex(/^tag:[A-Za-z0-9-]+$/, { message: 'must look like "tag:monitor"' }));

export const configSchema = z.strictObject({
  host: hostName,
  stateDir: z._default(stateDirPath, '/var/lib/pantheragent'),
  btrfs: z.prefault(
    z.strictObject({
      device: z._default(absPath, '/dev/mapper/cryptroot'),
      topLevel: z._default(z.nullable(absPath), null),
    }),
    {},
  ),
  root: z.prefault(
    z.strictObject({
      subvolume: z._default(subvolPath, '@root'),
      blank: z._default(subvolPath, '@root-blank'),
      archiveDir: z._default(subvolPath, '@old_roots'),
      retention: retentionWith('3d', '14d 4w'),
    }),
    {},
  ),
  snapshots: z.prefault(
    z.strictObject({
      dir: z._default(subvolPath, '@snapshots'),
      sources: z.prefault(
        z.record(subvolPath, source).check(z.refine((s) => Object.keys(s).length > 0, { message: 'must name at least one source subvolume (e.g. "@persist")' })),
        defaultSources,
      ),
      minFreePercent: z._default(numberIn(0, 100), 10),
    }),
    {},
  ),
  persistence: z.prefault(
    z.strictObject({
      storage: z._default(absPath, '/persist'),
      directories: z._default(z.array(absPath), ['/etc/nixos', '/var/lib/nixos']),
      files: z._default(z.array(absPath), ['/etc/machine-id']),
    }),
    {},
  ),
  diff: z.prefault(z.strictObject({ ignore: z._default(z.array(absPath), ['/tmp', '/var/tmp', '/var/cache', '/root/.cache']) }), {}),
  drift: z.prefault(
    z.strictObject({
      flake: z._default(nonEmpty(), 'git+file:///etc/pantherOS'),
      attribute: z._default(z.nullable(nonEmpty()), null),
      expectedToplevel: z._default(z.nullable(storePath), null),
      // Seconds a kind may take before it is reported unknown ("timed out"); each kind has its
      // own, so a slow one never holds up the others. closure may evaluate a whole NixOS system.
      timeouts: z.prefault(
        z.strictObject({
          reboot: timeout(5),
          nextboot: timeout(5),
          revision: timeout(30),
          closure: timeout(300),
          state: timeout(60),
          persistence: timeout(5),
          profile: timeout(10),
          units: timeout(10),
        }),
        {},
      ),
    }),
    {},
  ),
  power: z.prefault(
    z.strictObject({
      enable: z._default(z.boolean(), true),
      model: z._default(z.enum(POWER_MODELS), 'auto'),
      onAC: z._default(profileName, 'balanced'),
      onBattery: z._default(profileName, 'power-saver'),
      chargeLimit: z._default(z.nullable(intIn(20, 100)), 80),
      sysfsRoot: z._default(absPath, '/sys'),
      // Single knobs per profile, over the model table: a value, or null to leave the knob alone.
      overrides: z._default(z.partialRecord(profileName, z.record(knobId, z.union([nonEmpty(), z.number(), z.null()]))), {}),
    }),
    {},
  ),
  health: z.prefault(
    z.strictObject({
      port: z._default(intIn(1, 65535), 9473),
      listen: z._default(z.array(z.enum(['loopback', 'tailscale'])), ['loopback', 'tailscale']),
      allow: z.prefault(
        z.strictObject({
          tags: z._default(z.array(monitorTag), ['tag:monitor']),
          users: z._default(z.array(nonEmpty()), []),
        }),
        {},
      ),
      tailscaleSocket: z._default(absPath, '/run/tailscale/tailscaled.sock'),
      ...healthSettings,
    }),
    {},
  ),
  rollback: z.prefault(
    z.strictObject({
      /** Days that safety snapshots and rolled-back subvolumes are kept before retention applies to them. */
      graceDays: z._default(intIn(0, 3650), 7),
    }),
    {},
  ),
  runtimeDir: z._default(absPath, '/run/pantheragent'),
  timezone: z._default(z.string().check(z.refine(validTimezone, { message: 'must be "local" or an IANA time zone such as "Europe/Berlin"' })), 'local'),
  systemRoot: z._default(absPath, '/'),
});

export type Config = z.output<typeof configSchema>;
export type SourceConfig = Config['snapshots']['sources'][string];
