import { readFileSync } from 'node:fs';
import type * as z from 'zod/mini';
import { ConfigError } from '../errors.js';
import { roleIssues } from './roles.js';
import type { Config } from './schema.js';

export const DEFAULT_CONFIG_PATH = '/etc/pantheragent/config.json';

export function configPath(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return flag ?? env.PANTHERAGENT_CONFIG ?? DEFAULT_CONFIG_PATH;
}

/** JSON path of a zod issue, e.g. snapshots.sources["@persist"].retention.preserve */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key)) out += out ? `.${key}` : key;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

function issuesOf(error: z.core.$ZodError): { path: string; message: string }[] {
  return error.issues.map((i) => {
    if (i.code === 'unrecognized_keys') {
      return { path: formatPath([...i.path]), message: `unknown key(s) ${i.keys.map((k) => JSON.stringify(k)).join(', ')}: remove them or check their spelling` };
    }
    if (i.code === 'invalid_key') {
      // A record key (a source's subvolume path) failed its own checks: say which.
      return { path: formatPath([...i.path]), message: `the key ${i.issues.map((k) => k.message).join('; ')}` };
    }
    return { path: formatPath([...i.path]), message: i.message };
  });
}

export function parseConfig(raw: unknown, file: string): Config {
  // Required here, not imported: building zod and the schema takes ~5 ms, which only a
  // run that reads a config should pay (main() imports this module for configPath()).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { configSchema } = require('./schema.js') as typeof import('./schema.js');
  const result = configSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(file, issuesOf(result.error));
  // With the schema: thresholds.ts parses durations with zod's module loaded.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { thresholdIssues } = require('../health/thresholds.js') as typeof import('../health/thresholds.js');
  const across = [...roleIssues(result.data), ...thresholdIssues(result.data)];
  if (across.length) throw new ConfigError(file, across);
  return result.data;
}

export function loadConfig(file: string): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError(file, [
      { path: '', message: code === 'ENOENT' ? 'file not found: pass --config FILE or set PANTHERAGENT_CONFIG' : `cannot read: ${(e as Error).message}` },
    ]);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(file, [{ path: '', message: `not valid JSON: ${(e as Error).message}` }]);
  }
  return parseConfig(raw, file);
}
