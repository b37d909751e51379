// The executable (dist/pantheragent.cjs). It answers a bare `--version` itself and
// hands every other run to the CLI (./main.ts) bundled with that command's code alone
// (dist/command-NAME.cjs), or to the whole CLI (dist/pantheragent-main.cjs) for help
// and unknown names: compiling a bundle is most of a short run's own time, so a run
// compiles only what it can use (build.mjs makes the files), and starts from the
// bytecode the build cached for it.
import { existsSync, writeSync } from 'node:fs';
import { ExitCode } from '../errors.js';
import { firstPositional } from './argv.js';
import { versionText } from './version.js';

/** The output for `--version` / `-V` with at most `--json` beside it, as main() prints it; null for anything else. */
export function versionOnly(argv: readonly string[]): string | null {
  let version = false;
  let json = false;
  for (const a of argv) {
    if (a === '--version' || a === '-V') version = true;
    else if (a === '--json') json = true;
    else return null;
  }
  return version ? versionText(json) : null;
}

const argv = process.argv.slice(2);
const text = versionOnly(argv);
if (text !== null) {
  // fd 1 directly: creating process.stdout loads the stream machinery, ~3 ms.
  writeSync(1, text + '\n');
} else {
  const name = firstPositional(argv);
  const own = name !== undefined && /^[a-z][a-z0-9-]*$/.test(name) ? `${__dirname}/command-${name}.cjs` : null;
  // From its V8 code cache when the build left one for these exact bytes. Required
  // here: --version alone loads nothing more.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { loadBundle } = require('./code-cache.js') as typeof import('./code-cache.js');
  const { main } = loadBundle(own && existsSync(own) ? own : `${__dirname}/pantheragent-main.cjs`).exports as typeof import('./main.js');
  main(argv).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(`pantheragent: ${(e as Error).stack ?? String(e)}\n`);
      process.exitCode = ExitCode.failed;
    },
  );
}
