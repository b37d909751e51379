// "No unit without its command" (DESIGN.md section 11): whether the words after the
// pantheragent executable in a unit's ExecStart (or a build step) name a command of
// src/cli/spec.ts COMMANDS, with options it has and positional words its usage allows.
import { COMMANDS, GLOBAL_OPTIONS } from '../../src/cli/spec.js';

/** Why `argv` (what follows the executable) is not something the CLI has; null when it is. */
export function cliCommandProblem(argv: string[]): string | null {
  const args = [...argv];
  // Global options may come first: `--log-level error check-config FILE`.
  while (args[0]?.startsWith('--')) {
    const flag = args.shift()!.slice(2);
    const name = flag.split('=')[0]!;
    const spec = GLOBAL_OPTIONS[name];
    if (!spec) return `--${name} is not a global option`;
    if (spec.type === 'string' && !flag.includes('=')) args.shift();
  }
  const [name, ...rest] = args;
  const spec = COMMANDS.find((c) => c.name === name);
  if (!spec) return `"${name}" is not a command of src/cli/spec.ts COMMANDS (${COMMANDS.map((c) => c.name).join(', ')})`;
  const usageWords = spec.usage.split(/[\s[\]|]+/).filter(Boolean);
  const takesValues = usageWords.some((w) => /^[A-Z][A-Z_.]*$/.test(w));
  for (const a of rest) {
    if (a.startsWith('--')) {
      const o = a.slice(2).split('=')[0]!;
      if (!(o in spec.options) && !(o in GLOBAL_OPTIONS)) return `${name} has no option --${o} (usage: ${spec.usage})`;
    } else if (!usageWords.includes(a) && !takesValues) {
      return `${name} takes no argument "${a}" (usage: ${spec.usage})`;
    }
  }
  return null;
}
