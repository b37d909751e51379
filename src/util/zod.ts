// How the agent uses zod. Parsers import `zod/mini`, the functional build of the same
// parser core as zod's chained API: a chained schema gets some fifty methods bound at
// construction, which for the config schema alone cost ~10 ms of every command's
// start-up; zod/mini schemas have none. (Namespace imports of 'zod/mini' in each
// parser, not a re-export from here: esbuild then drops what is not used.)
// Each parser module imports this one, which configures zod once per process:
// - English messages, as the chained build has them by default;
// - no JIT-compiled object parsers: a command parses each schema once or twice, and
//   compiling the fast path costs more than it saves.
import { config, int, maximum, minimum, number } from 'zod/mini';
import en from 'zod/v4/locales/en.js';

config({ ...en(), jitless: true });

/** An integer in [min, max]. */
export const intIn = (lo: number, hi: number) => int().check(minimum(lo), maximum(hi));
/** A number in [min, max]. */
export const numberIn = (lo: number, hi: number) => number().check(minimum(lo), maximum(hi));
