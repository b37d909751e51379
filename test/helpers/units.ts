// A small systemd unit-file reader for tests: section -> directive -> values.
import assert from 'node:assert/strict';

export type Ini = Record<string, Record<string, string[]>>;

export function parseUnit(text: string): Ini {
  const out: Ini = {};
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const m = /^\[(.+)\]$/.exec(line);
    if (m) {
      section = m[1]!;
      out[section] ??= {};
      continue;
    }
    assert.ok(section, `a directive before any section: ${line}`);
    const eq = line.indexOf('=');
    assert.ok(eq > 0, `not a directive: ${line}`);
    (out[section]![line.slice(0, eq).trim()] ??= []).push(line.slice(eq + 1).trim());
  }
  return out;
}
