// Command definitions: the single source for parsing, --help and shell completions.
// Each command's code is loaded only when that command runs.
import type { CommandModule } from './command.js';

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  value?: string;
  description: string;
}

/** What a command's positional arguments complete to; sources and snapshots are asked of pantheragent itself. */
export type ArgCompletion = 'sources' | 'snapshots' | 'files' | 'shells' | 'none';

export interface CommandSpec {
  name: string;
  summary: string;
  usage: string;
  options: Record<string, OptionSpec>;
  args: ArgCompletion;
  /** Most positional arguments it takes; more is a usage error (64). Default: none when args is 'none', else any number. */
  maxArgs?: number;
  examples: string[];
  load: () => Promise<CommandModule>;
}

export const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  config: { type: 'string', value: 'FILE', description: 'config file (default $PANTHERAGENT_CONFIG or /etc/pantheragent/config.json)' },
  json: { type: 'boolean', description: 'print one JSON document on stdout' },
  'log-level': { type: 'string', value: 'LEVEL', description: 'trace, debug, info, warn, error, fatal or silent' },
  wait: { type: 'string', value: 'SECONDS', description: 'how long to wait for the lock (default 30)' },
  help: { type: 'boolean', short: 'h', description: 'show help' },
  version: { type: 'boolean', short: 'V', description: 'print the version' },
};

export const COMMANDS: CommandSpec[] = [
  {
    name: 'status',
    summary: 'one screen: newest snapshot per source and its age, disk space',
    usage: 'status',
    options: {},
    args: 'none',
    examples: ['pantheragent status', 'pantheragent status --json | jq .sources'],
    load: () => import('./commands/status.js'),
  },
  {
    name: 'snapshot',
    summary: 'read-only snapshot of each configured source (or those named)',
    usage: 'snapshot [SOURCE...] [--tag T] [--pin]',
    options: {
      tag: { type: 'string', value: 'T', description: 'label the snapshots (shown by list)' },
      pin: { type: 'boolean', description: 'exempt the new snapshots from retention' },
      prune: { type: 'boolean', description: 'then apply retention, as prune does (the timer runs this)' },
    },
    args: 'sources',
    examples: ['pantheragent snapshot', 'pantheragent snapshot @persist --tag pre-upgrade --pin', 'pantheragent snapshot --prune'],
    load: () => import('./commands/snapshot.js'),
  },
  {
    name: 'list',
    summary: 'snapshots (or archived roots) with time and what is known of each',
    usage: 'list [SOURCE] [--roots]',
    maxArgs: 1,
    options: { roots: { type: 'boolean', description: 'list archived roots instead of snapshots' } },
    args: 'sources',
    examples: ['pantheragent list @persist', 'pantheragent list --roots --json'],
    load: () => import('./commands/list.js'),
  },
  {
    name: 'prune',
    summary: 'apply retention to snapshots and archived roots, with the reason for every decision',
    usage: 'prune [--dry-run] [--yes]',
    options: {
      'dry-run': { type: 'boolean', description: 'show every decision and delete nothing' },
      yes: { type: 'boolean', short: 'y', description: 'do not ask for confirmation on a terminal' },
    },
    args: 'none',
    examples: ['pantheragent prune --dry-run', 'pantheragent prune --yes --json'],
    load: () => import('./commands/prune.js'),
  },
  {
    name: 'pin',
    summary: 'exempt a snapshot or archived root from retention',
    usage: 'pin SNAPSHOT',
    maxArgs: 1,
    options: {},
    args: 'snapshots',
    examples: ['pantheragent pin @persist.20261125T220000+0000', 'pantheragent pin previous-boot'],
    load: () => import('./commands/pin.js'),
  },
  {
    name: 'unpin',
    summary: 'let retention apply to a pinned snapshot again',
    usage: 'unpin SNAPSHOT',
    maxArgs: 1,
    options: {},
    args: 'snapshots',
    examples: ['pantheragent unpin @persist.20261125T220000+0000'],
    load: () => import('./commands/unpin.js'),
  },
  {
    name: 'check-config',
    summary: 'validate a config file; used at build time by the Nix module',
    usage: 'check-config [FILE]',
    maxArgs: 1,
    options: {},
    args: 'files',
    examples: ['pantheragent check-config /etc/pantheragent/config.json'],
    load: () => import('./commands/check-config.js'),
  },
  {
    name: 'completions',
    summary: 'print shell completions (fish, bash or zsh)',
    usage: 'completions fish|bash|zsh',
    maxArgs: 1,
    options: { values: { type: 'string', value: 'KIND', description: 'print the names the completions offer: sources or snapshots' } },
    args: 'shells',
    examples: ['pantheragent completions fish > ~/.config/fish/completions/pantheragent.fish'],
    load: () => import('./commands/completions.js'),
  },
  {
    name: 'diff',
    summary: 'undeclared state on the ephemeral root: what the next wipe will erase (or what the last one erased)',
    usage: 'diff [--against blank|previous-boot|ARCHIVED_ROOT] [--all]',
    options: {
      against: { type: 'string', value: 'ROOT', description: 'blank (default: the live root), previous-boot, an age like 2d-ago, or an archived root name' },
      all: { type: 'boolean', description: 'list every entry instead of grouping by directory' },
    },
    args: 'none',
    examples: ['pantheragent diff', 'pantheragent diff --against previous-boot', 'pantheragent diff --json | jq .totals'],
    load: () => import('./commands/diff.js'),
  },
  {
    name: 'wipe',
    summary: 'the boot-time root wipe, run by the agent on an unmounted root (recovery, tests)',
    usage: 'wipe [--dry-run] [--yes]',
    options: {
      'dry-run': { type: 'boolean', description: 'show the plan and what it would do on this disk; change nothing' },
      yes: { type: 'boolean', short: 'y', description: 'do not ask for confirmation (required without a terminal)' },
    },
    args: 'none',
    examples: ['pantheragent wipe --dry-run', 'pantheragent wipe --yes --json'],
    load: () => import('./commands/wipe.js'),
  },
  {
    name: 'render-initrd',
    summary: 'print the POSIX sh root-wipe script for the initrd, rendered from the same plan as wipe',
    usage: 'render-initrd',
    options: {},
    args: 'none',
    examples: ['pantheragent render-initrd > wipe.sh', 'pantheragent render-initrd --json | jq -r .script'],
    load: () => import('./commands/render-initrd.js'),
  },
  {
    name: 'profile',
    summary: 'power profiles: show every knob declared vs actual, apply one (no NAME: what should be in force), or the one for the power source (auto)',
    usage: 'profile [show|apply [NAME]|auto]',
    maxArgs: 2,
    options: {},
    args: 'none',
    examples: ['pantheragent profile show', 'pantheragent profile apply performance', 'pantheragent profile auto --json | jq .failed'],
    load: () => import('./commands/profile.js'),
  },
  {
    name: 'health',
    summary: 'the health document the endpoint serves (exit 2 when it fails)',
    usage: 'health',
    options: {},
    args: 'none',
    examples: ['pantheragent health', "pantheragent health --json | jq '.checks[\"snapshots:age\"]'"],
    load: () => import('./commands/health.js'),
  },
  {
    name: 'daemon',
    summary: 'long-running (systemd): schedules, power re-verification, drift, the health state',
    usage: 'daemon',
    options: {},
    args: 'none',
    examples: ['pantheragent daemon', 'systemctl reload pantheragent   # SIGHUP: reload the config'],
    load: () => import('./commands/daemon.js'),
  },
  {
    name: 'serve-health',
    summary: 'the read-only HTTP health endpoint on loopback and the tailnet (unprivileged)',
    usage: 'serve-health',
    options: {},
    args: 'none',
    examples: ['pantheragent serve-health', 'curl http://127.0.0.1:9473/health'],
    load: () => import('./commands/serve-health.js'),
  },
  {
    name: 'drift',
    summary: 'how this host differs from its flake: reboot, nextboot, revision, closure, state, persistence, profile, units (exit 2 on drift)',
    usage: 'drift [--check KIND,...] [--history]',
    options: {
      check: { type: 'string', multiple: true, value: 'KIND,...', description: 'only these kinds: reboot, nextboot, revision, closure, state, persistence, profile, units' },
      history: { type: 'boolean', description: 'show when each kind last changed, from the index (runs no check)' },
    },
    args: 'none',
    examples: ['pantheragent drift', 'pantheragent drift --check revision,closure', 'pantheragent drift --history', 'pantheragent drift --json | jq .drifting'],
    load: () => import('./commands/drift.js'),
  },
  {
    name: 'rollback',
    summary: 'roll a persistent subvolume back to a snapshot, or the next boot to an archived root; --undo, --list',
    usage: 'rollback SOURCE --to SNAPSHOT | rollback root --to ARCHIVED_ROOT | rollback root --cancel | rollback --undo | rollback --list',
    maxArgs: 1,
    options: {
      to: { type: 'string', value: 'SNAPSHOT', description: 'what to go back to: a name, latest, previous-boot (root), or an age such as 3h-ago' },
      undo: { type: 'boolean', description: 'put back what the last rollback replaced (itself undoable)' },
      cancel: { type: 'boolean', description: 'with root: take back a pending root rollback' },
      list: { type: 'boolean', description: 'the history of rollbacks, undos and restores, and a pending root rollback' },
      'dry-run': { type: 'boolean', description: 'show the plan; change nothing' },
      yes: { type: 'boolean', short: 'y', description: 'do not ask for confirmation (required without a terminal)' },
    },
    args: 'sources',
    examples: [
      'pantheragent rollback @persist --to 3h-ago --dry-run',
      'pantheragent rollback @persist --to @persist.20261125T220000+0000 --yes',
      'pantheragent rollback root --to previous-boot',
      'pantheragent rollback --undo',
      'pantheragent rollback --list',
    ],
    load: () => import('./commands/rollback.js'),
  },
  {
    name: 'restore',
    summary: 'restore files from a snapshot or archived root (cp -a --reflink), after a safety snapshot',
    usage: 'restore PATH... --from SNAPSHOT|ARCHIVED_ROOT [--to DIR] [--persist] [--dry-run] [--yes]',
    options: {
      from: { type: 'string', value: 'SNAPSHOT', description: 'a name, latest, previous-boot, or an age such as 3h-ago' },
      to: { type: 'string', value: 'DIR', description: 'restore below DIR (DIR/PATH) instead of into place' },
      persist: { type: 'boolean', description: 'from an archived root: copy into persistence.storage and print the persistence declaration' },
      'dry-run': { type: 'boolean', description: 'show the plan; change nothing' },
      yes: { type: 'boolean', short: 'y', description: 'do not ask for confirmation (required without a terminal)' },
    },
    args: 'files',
    examples: [
      'pantheragent restore /etc/NetworkManager/system-connections --from previous-boot --persist',
      'pantheragent restore /persist/var/lib/app/db.sqlite --from 3h-ago --dry-run',
      'pantheragent restore /home/me/notes --from latest --to /tmp/recovered',
    ],
    load: () => import('./commands/restore.js'),
  },
];

export function maxArgs(spec: CommandSpec): number {
  return spec.maxArgs ?? (spec.args === 'none' ? 0 : Infinity);
}

export function findCommand(name: string): CommandSpec | undefined {
  return COMMANDS.find((c) => c.name === name);
}
