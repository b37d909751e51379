// Where the declared configuration lives (drift.flake) and which commit it is at: shared
// by `revision` (is the running system that commit?) and `closure` (its evaluation is
// cached by that commit). Reading only: git never changes the checkout here.
import { createHash } from 'node:crypto';
import { runTool, lastLine, type ToolResult } from './proc.js';

export type FlakeSource =
  | { type: 'git-local'; path: string; ref: string | null; rev: string | null }
  | { type: 'git-remote'; url: string; ref: string | null; rev: string | null }
  | { type: 'path'; path: string }
  | { type: 'unsupported'; why: string };

const FULL_REV = /^[0-9a-f]{40}$/;

function hosted(base: string, rest: string, query: URLSearchParams): FlakeSource {
  const [owner, repo, ref, ...more] = rest.split('/');
  if (!owner || !repo || more.length) return { type: 'unsupported', why: `"${rest}" is not OWNER/REPO[/REF]` };
  const r = query.get('ref') ?? (ref && !FULL_REV.test(ref) ? ref : null);
  const rev = query.get('rev') ?? (ref && FULL_REV.test(ref) ? ref : null);
  return { type: 'git-remote', url: `${base}/${owner}/${repo}.git`, ref: r, rev };
}

/** The parts of a flake reference that say where its git history is. Pure. */
export function parseFlakeRef(flake: string): FlakeSource {
  const q = flake.indexOf('?');
  const base = q < 0 ? flake : flake.slice(0, q);
  const query = new URLSearchParams(q < 0 ? '' : flake.slice(q + 1));
  const ref = query.get('ref');
  const rev = query.get('rev');
  if (base.startsWith('git+file://')) {
    const path = decodeURIComponent(base.slice('git+file://'.length));
    if (!path.startsWith('/')) return { type: 'unsupported', why: `git+file needs an absolute path, not "${path}"` };
    return { type: 'git-local', path, ref, rev };
  }
  const remote = /^git\+(https?|ssh|git):\/\//.exec(base);
  if (remote) return { type: 'git-remote', url: base.slice(4), ref, rev };
  if (base.startsWith('github:')) return hosted('https://github.com', base.slice(7), query);
  if (base.startsWith('gitlab:')) return hosted('https://gitlab.com', base.slice(7), query);
  const path = base.startsWith('path:') ? base.slice(5) : base;
  if (path.startsWith('/')) return { type: 'path', path };
  const scheme = /^([a-z+]+):/.exec(base)?.[1] ?? base;
  return { type: 'unsupported', why: `a flake reference of type "${scheme}" has no git history to compare: use git+file://, git+https://, github: or a path` };
}

export interface FlakeRevision {
  source: FlakeSource;
  /** The commit the flake is at: a pinned ?rev=, the ref's commit, or the checkout's HEAD. */
  rev: string | null;
  /** Local checkouts only: tracked files changed since that commit (Nix evaluates them too); null when not known. */
  dirty: string[] | null;
  /** With dirty files: a digest of those changes (`git diff HEAD`), so the same edits are recognised again. */
  dirtyDigest?: string;
  /** Why rev is null. */
  why: string | null;
}

/** git, reading a checkout that another user may own (the agent runs as root). */
export function git(path: string, args: string[], signal: AbortSignal): Promise<ToolResult> {
  return runTool('git', ['-c', `safe.directory=${path}`, '-C', path, ...args], { signal, env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_OPTIONAL_LOCKS: '0' } });
}

async function localRevision(source: FlakeSource & { path: string }, ref: string | null, pinned: string | null, signal: AbortSignal): Promise<FlakeRevision> {
  const inside = await git(source.path, ['rev-parse', '--is-inside-work-tree'], signal);
  if (inside.code !== 0) {
    return { source, rev: null, dirty: null, why: `${source.path} is not a git checkout (${lastLine(inside.stderr)}): there is no revision to compare` };
  }
  if (pinned) return { source, rev: pinned, dirty: null, why: null };
  // A ref names a branch or a tag, as git itself resolves it.
  const head = await git(source.path, ['rev-parse', '--verify', '--quiet', `${ref ?? 'HEAD'}^{commit}`], signal);
  if (head.code !== 0) return { source, rev: null, dirty: null, why: ref ? `${source.path} has no branch or tag "${ref}"` : `${source.path} has no commit yet` };
  const rev = head.stdout.trim();
  if (ref) return { source, rev, dirty: null, why: null };
  // Untracked files are not part of a git flake; changed tracked ones are.
  const st = await git(source.path, ['status', '--porcelain=v1', '--untracked-files=no'], signal);
  const dirty = st.code === 0 ? st.stdout.split('\n').filter(Boolean).map((l) => l.slice(3)) : null;
  if (!dirty?.length) return { source, rev, dirty, why: null };
  const diff = await git(source.path, ['diff', 'HEAD', '--binary'], signal);
  return { source, rev, dirty, why: null, ...(diff.code === 0 ? { dirtyDigest: createHash('sha256').update(diff.stdout).digest('hex').slice(0, 16) } : {}) };
}

async function remoteRevision(source: FlakeSource & { type: 'git-remote' }, signal: AbortSignal): Promise<FlakeRevision> {
  if (source.rev) return { source, rev: source.rev, dirty: null, why: null };
  const want = source.ref ?? 'HEAD';
  const r = await runTool('git', ['ls-remote', source.url, want], { signal, env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_SSH_COMMAND: process.env.GIT_SSH_COMMAND ?? 'ssh -o BatchMode=yes' } });
  if (r.code !== 0) return { source, rev: null, dirty: null, why: `git ls-remote ${source.url} failed (no network?): ${lastLine(r.stderr)}` };
  const refs = r.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split('\t') as [string, string]);
  const hit = refs.find(([, name]) => name === want || name === `refs/heads/${want}` || name === `refs/tags/${want}`) ?? refs[0];
  if (!hit) return { source, rev: null, dirty: null, why: `${source.url} has no ref "${want}"` };
  return { source, rev: hit[0], dirty: null, why: null };
}

export function readFlakeRevision(flake: string, signal: AbortSignal): Promise<FlakeRevision> {
  const source = parseFlakeRef(flake);
  switch (source.type) {
    case 'git-local':
      return localRevision(source, source.ref, source.rev, signal);
    case 'path':
      return localRevision(source, null, null, signal);
    case 'git-remote':
      return remoteRevision(source, signal);
    case 'unsupported':
      return Promise.resolve({ source, rev: null, dirty: null, why: source.why });
  }
}

/** The attribute drift evaluates: drift.attribute, else nixosConfigurations.<host>. */
export const flakeAttribute = (drift: { attribute: string | null }, host: string): string => drift.attribute ?? `nixosConfigurations.${host}`;

/** What a person runs to make the host what the flake declares. */
export function rebuildCommand(drift: { flake: string; attribute: string | null }, host: string): string {
  const attr = flakeAttribute(drift, host);
  const name = /^nixosConfigurations\.([^.]+)$/.exec(attr)?.[1];
  return name ? `nixos-rebuild switch --flake '${drift.flake}#${name}'` : `nixos-rebuild switch (the system of ${drift.flake}#${attr})`;
}
