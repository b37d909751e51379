import type { Agent } from '../agent.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../util/log.js';

export type OptionValues = Record<string, string | boolean | string[] | undefined>;

export interface CommandContext {
  args: string[];
  opts: OptionValues;
  json: boolean;
  configPath: string;
  log: Logger;
  loadConfig(): Config;
  /** Config, lock (if mutating), top-level mount, journal recovery, reconciled index. */
  openAgent(opts: { mutating: boolean }): Agent;
  /** Ask a yes/no question on the terminal; false without a TTY. */
  confirm(question: string): Promise<boolean>;
  /**
   * The one rule for every destructive command: with --yes, go on; on a terminal,
   * show `plan` and ask `question`; without a terminal, refuse (UsageError, 64) with
   * `hint`. --json changes none of this (the plan goes to stderr then, so stdout stays
   * one document). True to go on, false when the person said no.
   */
  confirmOrRefuse(c: { plan: string; question: string; hint: string }): Promise<boolean>;
}

export interface CommandResult {
  exitCode?: number;
  /** The --json document. */
  json: unknown;
  /** The text for people. */
  human: string;
}

export interface CommandModule {
  run(ctx: CommandContext): Promise<CommandResult>;
}
