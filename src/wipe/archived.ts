// Which archived roots a wipe made: every record in the wipe log names the one it
// archived. Only those are the agent's while still writable (the initrd renames, the
// first mutating run after boot makes them read-only); any other writable subvolume
// that merely has an archive's name is foreign.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { unlessMissing } from '../util/fsutil.js';
import { WIPE_FILES } from './plan.js';
import { parseRecord } from './record.js';

export function archivedByWipes(top: string): Set<string> {
  const text = unlessMissing(() => readFileSync(join(top, WIPE_FILES.log), 'utf8'), '');
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const r = line ? parseRecord(line) : null;
    if (r?.ok && r.record.archived) out.add(r.record.archived);
  }
  return out;
}
