// The CLI, run by ./launch.ts (the executable). Kept light: only argument parsing and
// help are loaded up front; the logger, config schema, database and the command's own
// code load when needed.
import { writeSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { AgentError, ExitCode, UsageError } from '../errors.js';
import { firstPositional, toParse } from './argv.js';
import type { CommandContext, CommandResult, OptionValues } from './command.js';
import { commandHelp, mainHelp } from './help.js';
import { findCommand, GLOBAL_OPTIONS, maxArgs } from './spec.js';
import { versionText } from './version.js';

function write(stream: NodeJS.WriteStream, text: string): void {
  if (text) stream.write(text.endsWith('\n') ? text : text + '\n');
}

/** A command's output, on fd 1 itself: making process.stdout costs a few ms of module loading. */
function writeOut(text: string): void {
  if (!text) return;
  const data = Buffer.from(text.endsWith('\n') ? text : text + '\n');
  let done = 0;
  try {
    while (done < data.length) done += writeSync(1, data, done);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EPIPE') return; // the reader is gone (e.g. `| head`): nothing to tell it
    // A pipe that another process left non-blocking: the stream waits for it, and a
    // reader gone by then is an 'error' event, not an exception.
    if (code !== 'EAGAIN') throw e;
    process.stdout.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
    });
    process.stdout.write(data.subarray(done));
  }
}

async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  // A require, not import(): a bundle loaded from its code cache has no import() (code-cache.ts).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { createInterface } = require('node:readline/promises') as typeof import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

export async function main(argv: string[]): Promise<number> {
  const name = firstPositional(argv);
  const spec = name ? findCommand(name) : undefined;
  let parsed: { values: OptionValues; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options: toParse({ ...GLOBAL_OPTIONS, ...(spec?.options ?? {}) }), strict: true, allowPositionals: true }) as typeof parsed;
  } catch (e) {
    write(process.stderr, `pantheragent: ${(e as Error).message}\nRun 'pantheragent ${spec ? `${spec.name} ` : ''}--help'.`);
    return ExitCode.usage;
  }
  const g = parsed.values;
  if (g.version && !spec) {
    write(process.stdout, versionText(g.json === true));
    return ExitCode.ok;
  }
  if (g.help || !name) {
    write(process.stdout, spec ? commandHelp(spec) : mainHelp());
    return name || g.help ? ExitCode.ok : ExitCode.usage;
  }
  if (!spec) {
    write(process.stderr, `pantheragent: unknown command "${name}". Run 'pantheragent --help' for the list.`);
    return ExitCode.usage;
  }
  const json = g.json === true;
  const args = parsed.positionals.slice(1);
  const max = maxArgs(spec);
  if (args.length > max) {
    const extra = args.slice(max).map((a) => JSON.stringify(a)).join(' ');
    write(process.stderr, `pantheragent ${spec.name}: unexpected argument(s) ${extra}: usage: pantheragent ${spec.usage}`);
    return ExitCode.usage;
  }
  const { createLogger, LOG_LEVELS } = await import('../util/log.js');
  const level = typeof g['log-level'] === 'string' ? g['log-level'] : undefined;
  for (const [what, value] of [['--log-level', level], ['PANTHERAGENT_LOG_LEVEL', process.env.PANTHERAGENT_LOG_LEVEL]] as const) {
    if (value !== undefined && !(LOG_LEVELS as readonly string[]).includes(value)) {
      write(process.stderr, `pantheragent: ${what} "${value}" is not a log level: use one of ${LOG_LEVELS.join(', ')}`);
      return ExitCode.usage;
    }
  }
  const log = createLogger(level);
  let stateDir: string | undefined;
  try {
    const wait = g.wait === undefined ? 30 : Number(g.wait);
    if (!Number.isFinite(wait) || wait < 0) throw new UsageError(`--wait takes a number of seconds, not "${String(g.wait)}"`);
    const { configPath, loadConfig } = await import('../config/load.js');
    const file = configPath(typeof g.config === 'string' ? g.config : undefined);
    let config: ReturnType<typeof loadConfig> | undefined;
    const ctx: CommandContext = {
      args,
      opts: g,
      json,
      configPath: file,
      log,
      loadConfig: () => {
        config ??= loadConfig(file);
        stateDir = config.stateDir;
        return config;
      },
      openAgent: ({ mutating }) => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { openAgent } = require('../agent.js') as typeof import('../agent.js');
        return openAgent(ctx.loadConfig(), log, { mutating, waitSeconds: wait });
      },
      confirm,
      confirmOrRefuse: async ({ plan, question, hint }) => {
        if (g.yes === true) return true;
        if (!process.stdin.isTTY) throw new UsageError(`${hint}; there is no terminal to confirm on, so pass --yes (see the plan first with --dry-run)`);
        write(json ? process.stderr : process.stdout, plan + '\n');
        return confirm(question);
      },
    };
    const mod = await spec.load();
    const result: CommandResult = await mod.run(ctx);
    writeOut(json ? JSON.stringify(result.json, null, 2) : result.human);
    return result.exitCode ?? ExitCode.ok;
  } catch (e) {
    const err = e instanceof AgentError ? e : null;
    const code = err ? err.exitCode : ExitCode.failed;
    if (json) write(process.stdout, JSON.stringify({ error: { type: err?.name ?? 'Error', message: (e as Error).message, exitCode: code, ...(err?.details ?? {}) } }, null, 2));
    if (!err) log.error({ err: e }, 'unexpected error');
    write(process.stderr, `pantheragent ${spec.name}: ${(e as Error).message}`);
    if (!err && stateDir !== undefined && /malformed|not a database/i.test((e as Error).message)) {
      // A damaged page that quick_check did not get to: the next run checks the whole file and rebuilds it.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      (require('../store/db.js') as typeof import('../store/db.js')).markSuspect(stateDir);
      write(process.stderr, `pantheragent: the index ${stateDir}/state.db is damaged; the next run moves it aside and rebuilds it from the filesystem`);
    }
    return code;
  }
}
