// Argument parsing shared by the launcher (./launch.ts), which only needs to know the
// command's name, and the CLI (./main.ts).
import { parseArgs } from 'node:util';
import { GLOBAL_OPTIONS, type OptionSpec } from './spec.js';

type ParseOptions = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;
export const toParse = (o: Record<string, OptionSpec>): ParseOptions =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [k, { type: v.type, ...(v.short ? { short: v.short } : {}), ...(v.multiple ? { multiple: true } : {}) }]));

/** The command's name: the first positional, with the global options' values skipped. */
export function firstPositional(argv: string[]): string | undefined {
  const { tokens } = parseArgs({ args: argv, options: toParse(GLOBAL_OPTIONS), strict: false, allowPositionals: true, tokens: true });
  const t = tokens.find((x) => x.kind === 'positional');
  return t?.kind === 'positional' ? t.value : undefined;
}
