// `pantheragent diff [--against blank|previous-boot|ARCHIVED_ROOT] [--all]`: undeclared
// state on a root. Exit 2 when there is any (DESIGN.md section 3), 0 when clean.
import { ExitCode, UsageError } from '../../errors.js';
import { resolveTarget, runDiff } from '../../diff/diff.js';
import { groupEntries, humanReport, totalsOf } from '../../diff/report.js';
import { isoTime } from '../output.js';
import type { CommandContext, CommandResult } from '../command.js';

export async function run(ctx: CommandContext): Promise<CommandResult> {
  if (ctx.args.length) throw new UsageError(`diff takes no arguments (got "${ctx.args.join(' ')}"); name a root with --against`);
  const against = ctx.opts.against;
  if (against !== undefined && typeof against !== 'string') throw new UsageError('--against takes one value');
  const selector = against ?? 'blank';
  if (selector === '') throw new UsageError('--against needs a value: blank, previous-boot, an age such as 2d-ago, or an archived root name');
  // Reading only: no lock, so diff works while a snapshot or prune is running.
  const agent = ctx.openAgent({ mutating: false });
  const now = Date.now();
  const target = resolveTarget(agent, selector, now);
  const res = runDiff(agent, target);
  ctx.log.debug({ root: target.fsPath, dirsRead: res.dirsRead, found: res.entries.length }, 'diff walk done');
  const totals = totalsOf(res.entries);
  return {
    exitCode: res.entries.length ? ExitCode.found : ExitCode.ok,
    json: {
      against: {
        selector,
        kind: target.kind,
        subvolume: target.subvolume,
        time: target.instant === null ? null : isoTime(target.instant),
        blank: target.blank,
      },
      entries: res.entries.map((e) => ({ path: e.path, kind: e.kind, size: e.size, mtime: isoTime(e.mtimeMs) })),
      groups: groupEntries(res.entries).map((g) => ({ path: g.path, whole: g.whole, entries: g.entries, size: g.size, newest: isoTime(g.newestMs) })),
      totals,
      skipped: res.skipped,
      warnings: res.warnings,
    },
    human: humanReport({ target, entries: res.entries, skipped: res.skipped, warnings: res.warnings, all: ctx.opts.all === true, now }),
  };
}
