// Typed errors. Each carries the process exit code of DESIGN.md section 3 and a
// message that names what is wrong and what to do.

export const ExitCode = {
  ok: 0,
  failed: 1,
  found: 2,
  usage: 64,
  unavailable: 69,
  locked: 75,
  config: 78,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export class AgentError extends Error {
  readonly exitCode: ExitCode;
  readonly details: Record<string, unknown>;
  constructor(message: string, exitCode: ExitCode = ExitCode.failed, details: Record<string, unknown> = {}) {
    super(message);
    this.name = new.target.name;
    this.exitCode = exitCode;
    this.details = details;
  }
}

export class UsageError extends AgentError {
  constructor(message: string) {
    super(message, ExitCode.usage);
  }
}

export class ConfigError extends AgentError {
  readonly issues: { path: string; message: string }[];
  constructor(file: string, issues: { path: string; message: string }[]) {
    const lines = issues.map((i) => `  ${i.path || '(root)'}: ${i.message}`).join('\n');
    super(`invalid configuration in ${file}:\n${lines}\nFix these fields and run 'pantheragent check-config ${file}' again.`, ExitCode.config, { file, issues });
    this.issues = issues;
  }
}

export class UnavailableError extends AgentError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(message, ExitCode.unavailable, details);
  }
}

export class LockedError extends AgentError {
  constructor(lockFile: string, holderPid: number | null, waitedSeconds: number) {
    const who = holderPid ? `pid ${holderPid}` : 'another process';
    super(
      `another pantheragent (${who}) holds ${lockFile}; waited ${waitedSeconds}s. Let it finish, or raise --wait.`,
      ExitCode.locked,
      { lockFile, holderPid },
    );
  }
}

/** A btrfs-progs (or other tool) invocation that failed. */
export class CommandError extends AgentError {
  constructor(
    readonly command: string[],
    readonly code: number | null,
    readonly stderr: string,
  ) {
    super(`${command.join(' ')} failed (exit ${code ?? 'signal'}): ${stderr.trim() || 'no error output'}`, ExitCode.failed, {
      command,
      code,
      stderr,
    });
  }
}

/** A refusal by a safety rule: nothing was changed. */
export class RefusedError extends AgentError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(message, ExitCode.failed, details);
  }
}

/** Output of an external tool that did not parse: the tool changed, or something is wrong. */
export class ParseError extends AgentError {
  constructor(what: string, line: string, why: string) {
    super(`could not parse ${what}: ${why} (line: ${JSON.stringify(line.slice(0, 200))})`, ExitCode.failed, { what, line });
  }
}
