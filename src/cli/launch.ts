// The executable (dist/pantheragent.cjs). It answers a bare `--version` itself and
// hands every other run to the full CLI (dist/pantheragent-main.cjs, ./main.ts), so
// the one run that needs nothing else does not compile the whole bundle; compiling
// it is most of a short run's own time (build.mjs makes both files).
import { writeSync } from 'node:fs';
import { ExitCode } from '../errors.js';
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
  // A computed path, so that esbuild leaves the require to run time.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { main } = require(`${__dirname}/pantheragent-main.cjs`) as typeof import('./main.js');
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
