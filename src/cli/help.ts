import { COMMANDS, GLOBAL_OPTIONS, type CommandSpec, type OptionSpec } from './spec.js';
import { VERSION } from './version.js';

function optionLines(opts: Record<string, OptionSpec>): string[] {
  const rows = Object.entries(opts).map(([name, o]) => [`${o.short ? `-${o.short}, ` : '    '}--${name}${o.value ? ` ${o.value}` : ''}`, o.description]);
  const w = Math.max(...rows.map((r) => r[0]!.length));
  return rows.map(([a, b]) => `  ${a!.padEnd(w)}  ${b}`);
}

export function mainHelp(): string {
  const w = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    `pantheragent ${VERSION}: Btrfs impermanence, snapshots and retention for NixOS hosts`,
    '',
    'Usage: pantheragent [--config FILE] [--json] [--log-level LEVEL] COMMAND ...',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`),
    '',
    'Global options:',
    ...optionLines(GLOBAL_OPTIONS),
    '',
    'Examples:',
    '  pantheragent status',
    '  pantheragent snapshot @persist --tag pre-upgrade',
    '  pantheragent list @persist --json',
    '',
    "Run 'pantheragent COMMAND --help' for a command's options.",
  ].join('\n');
}

export function commandHelp(c: CommandSpec): string {
  return [
    `Usage: pantheragent ${c.usage}`,
    '',
    c.summary.charAt(0).toUpperCase() + c.summary.slice(1) + '.',
    ...(Object.keys(c.options).length ? ['', 'Options:', ...optionLines(c.options)] : []),
    '',
    'Global options:',
    ...optionLines(GLOBAL_OPTIONS),
    '',
    'Examples:',
    ...c.examples.map((e) => `  ${e}`),
  ].join('\n');
}
