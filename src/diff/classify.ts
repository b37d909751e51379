// Which paths on a root are state that a wipe erases, and which are not: declared
// persistent, ignored, or NixOS's own (regenerated at every activation). Pure: the
// walk (./walk.ts) supplies the facts it read from the filesystem, and this module
// decides. The rules are a trie keyed by path component, so the walk looks up one
// child per directory entry and never compares a path against every rule.
import { posix } from 'node:path';
import { compareStrings } from '../util/text.js';

export type EntryKind = 'file' | 'dir' | 'symlink' | 'fifo' | 'socket' | 'char-device' | 'block-device' | 'subvolume';

/** Why an entry is not state. */
export type Reason = 'declared' | 'ignored' | 'generated' | 'mount-point' | 'structure';

export type Verdict = { state: true } | { state: false; reason: Reason; rule: string };

const STATE: Verdict = { state: true };

/** The inputs of the rules; build one with ruleSpecFor(). All paths are absolute paths on the root. */
export interface RuleSpec {
  /** persistence.storage, .directories, .files: the path and everything under it. */
  declared: readonly string[];
  /** diff.ignore: the path and everything under it. */
  ignored: readonly string[];
  /** Written by NixOS activation or by pantheragent itself: the path and everything under it. */
  generated: readonly string[];
  /** Where a filesystem is (or will be) mounted: an empty directory or empty file there is only a mount point. */
  mountPoints: readonly string[];
  /** Directories NixOS activation and systemd-tmpfiles create: empty, they hold nothing. */
  skeleton: readonly string[];
}

/**
 * Files that NixOS activation writes on the root at every boot, so erasing them loses
 * nothing: the /etc bookkeeping of setup-etc.pl, the users-groups output (rebuilt from
 * the config and /var/lib/nixos), the `.updated` stamps of systemd's ConditionNeedsUpdate,
 * and pantheragent's own boot identity file (src/wipe/adopt.ts, IDENTITY_FILE).
 */
export const NIXOS_GENERATED: readonly string[] = [
  '/etc/static',
  '/etc/.clean',
  '/etc/NIXOS',
  '/etc/.updated',
  '/var/.updated',
  '/etc/mtab',
  '/etc/passwd',
  '/etc/group',
  '/etc/shadow',
  '/etc/subuid',
  '/etc/subgid',
  '/etc/.pwd.lock',
  '/var/empty',
  '/.pantheragent-boot.json',
];

/**
 * Where NixOS hosts of this fleet mount something over the root (DESIGN.md section 2
 * plus the kernel's and systemd's API file systems). Listed in addition to the live
 * mount table so that `--against` an archived root, or a host where one of them is
 * momentarily unmounted, gives the same answer.
 */
export const STANDARD_MOUNT_POINTS: readonly string[] = ['/boot', '/dev', '/home', '/nix', '/proc', '/run', '/sys', '/tmp', '/var/log'];

/** Skeleton directories (activation's mkdir -p, systemd's tmpfiles.d/home.conf). */
export const NIXOS_SKELETON: readonly string[] = ['/bin', '/etc', '/root', '/srv', '/usr', '/usr/bin', '/var', '/var/db', '/var/lib', '/var/spool'];

/** A symlink whose target lies here (after resolution on the root) is NixOS's, not state. */
export const GENERATED_LINK_PREFIXES: readonly string[] = ['/nix/store', '/etc/static'];

/** Normalise an absolute path: no trailing slash, no ".", "..", or doubled slashes. */
export function normalizeAbs(p: string): string {
  const n = posix.normalize('/' + p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

/** True when `p` is `prefix` or lies under it (component-wise: /nix/storefoo is not under /nix/store). */
export function isUnder(p: string, prefix: string): boolean {
  return prefix === '/' || p === prefix || (p.startsWith(prefix) && p.charCodeAt(prefix.length) === 47 /* / */);
}

/** The target of the symlink at `linkPath`, resolved lexically (no filesystem access). */
export function lexicalTarget(linkPath: string, target: string): string {
  return normalizeAbs(target.startsWith('/') ? target : posix.join(posix.dirname(linkPath), target));
}

export function isGeneratedLinkTarget(resolved: string): boolean {
  return GENERATED_LINK_PREFIXES.some((p) => isUnder(resolved, p));
}

/**
 * Whether the symlink at `linkPath` with this target points into a generated prefix,
 * without touching the filesystem. The common case (an absolute target straight into
 * the store or /etc/static, as NixOS writes them) skips normalisation: it runs once
 * per NixOS link on the root, so it is the walk's hottest path.
 */
export function linksIntoGenerated(linkPath: string, target: string): boolean {
  if (target.charCodeAt(0) === 47 /* / */ && !target.includes('/.')) {
    for (const p of GENERATED_LINK_PREFIXES) if (target.startsWith(p) && target.charCodeAt(p.length) === 47) return true;
  }
  return isGeneratedLinkTarget(lexicalTarget(linkPath, target));
}

export function ruleSpecFor(opts: {
  persistence: { storage: string; directories: readonly string[]; files: readonly string[] };
  ignore: readonly string[];
  /** Mount points of the live system (<systemRoot>/proc/self/mountinfo), "/" included or not. */
  liveMountPoints: readonly string[];
  /** Lines of the root's /etc/.clean: the /etc files NixOS copied (mode set) rather than linked. */
  etcClean: readonly string[];
}): RuleSpec {
  const clean = opts.etcClean.map((l) => l.trim()).filter((l) => l !== '' && !l.split('/').includes('..'));
  return {
    declared: [opts.persistence.storage, ...opts.persistence.directories, ...opts.persistence.files],
    ignored: [...opts.ignore],
    generated: [...NIXOS_GENERATED, ...clean.map((l) => `/etc/${l}`)],
    mountPoints: [...STANDARD_MOUNT_POINTS, opts.persistence.storage, ...opts.liveMountPoints],
    skeleton: [...NIXOS_SKELETON],
  };
}

/** One trie node per path component that some rule mentions. */
export interface RuleNode {
  children: Map<string, RuleNode>;
  /** Set when this path and everything under it is not state. */
  subtree: { reason: 'declared' | 'ignored' | 'generated'; rule: string } | null;
  mountPoint: boolean;
  skeleton: boolean;
  /** The path of this node, for reasons ("/var/lib"). */
  path: string;
}

export interface Rules {
  root: RuleNode;
  spec: RuleSpec;
}

const newNode = (path: string): RuleNode => ({ children: new Map(), subtree: null, mountPoint: false, skeleton: false, path });

export function compileRules(spec: RuleSpec): Rules {
  const root = newNode('/');
  const nodeFor = (p: string): RuleNode => {
    let n = root;
    for (const part of normalizeAbs(p).split('/')) {
      if (part === '') continue;
      let c = n.children.get(part);
      if (!c) n.children.set(part, (c = newNode(n.path === '/' ? `/${part}` : `${n.path}/${part}`)));
      n = c;
    }
    return n;
  };
  // Order gives precedence when one path carries two subtree rules: declared, then
  // ignored, then generated. Nested rules need no precedence: the walk meets the
  // outer one first and never looks below it.
  for (const [reason, paths] of [['declared', spec.declared], ['ignored', spec.ignored], ['generated', spec.generated]] as const) {
    for (const p of paths) {
      const n = nodeFor(p);
      n.subtree ??= { reason, rule: n.path };
    }
  }
  for (const p of spec.mountPoints) if (normalizeAbs(p) !== '/') nodeFor(p).mountPoint = true;
  for (const p of spec.skeleton) if (normalizeAbs(p) !== '/') nodeFor(p).skeleton = true;
  return { root, spec };
}

/** What the walk knows about an entry when it asks. */
export interface LeafFacts {
  kind: EntryKind;
  /** st_size; needed only for regular files (an empty file can be a mount point). */
  size?: number;
  /** readlink() of a symlink. */
  target?: string;
  /** The symlink's target followed through the root's own symlinks (walk.ts resolveOnRoot), when the walk did that. */
  resolved?: string;
  /**
   * The path is a link in the etc tree that the root's activation installs (its
   * /etc/static): activation renames its own link (or copy) over whatever is there.
   */
  activation?: boolean;
}

const ACTIVATION: Verdict = { state: false, reason: 'generated', rule: 'installed by NixOS activation (a link in /etc/static)' };

/**
 * The verdict for a leaf at `path`, whose trie node (if any) is `node`: the walk has
 * already established that no ancestor of `path` carries a subtree rule.
 *
 * - a subtree rule on the path itself: declared / ignored / generated;
 * - anything but a directory where activation installs a link (facts.activation): generated,
 *   whatever it is or points to, so the walk need not read it;
 * - a symlink into /nix/store or /etc/static (directly or through the root's own links): generated;
 * - an empty directory at a mount point: mount-point; at a skeleton directory or above
 *   any rule path (e.g. an empty /var/lib with /var/lib/nixos declared): structure;
 * - an empty regular file at a mount point (a file bind mount's target): mount-point;
 * - anything else: state.
 */
export function leafVerdict(node: RuleNode | undefined, path: string, facts: LeafFacts): Verdict {
  if (node?.subtree) return { state: false, reason: node.subtree.reason, rule: node.subtree.rule };
  if (facts.activation && facts.kind !== 'dir') return ACTIVATION;
  switch (facts.kind) {
    case 'symlink': {
      if (facts.target !== undefined && linksIntoGenerated(path, facts.target)) {
        return { state: false, reason: 'generated', rule: `symlink into ${prefixOf(lexicalTarget(path, facts.target))}` };
      }
      if (facts.resolved !== undefined && isGeneratedLinkTarget(facts.resolved)) {
        return { state: false, reason: 'generated', rule: `symlink into ${prefixOf(facts.resolved)}` };
      }
      return STATE;
    }
    case 'dir':
      if (!node) return STATE;
      if (node.mountPoint) return { state: false, reason: 'mount-point', rule: node.path };
      if (node.skeleton) return { state: false, reason: 'structure', rule: node.path };
      // A node exists only for rule paths and their ancestors; this one is an ancestor.
      return { state: false, reason: 'structure', rule: `above ${firstRuleBelow(node)}` };
    case 'file':
      if (node?.mountPoint && facts.size === 0) return { state: false, reason: 'mount-point', rule: node.path };
      return STATE;
    default:
      return STATE;
  }
}

const prefixOf = (p: string) => GENERATED_LINK_PREFIXES.find((x) => isUnder(p, x)) ?? p;

function firstRuleBelow(node: RuleNode): string {
  let n = node;
  for (;;) {
    if (n !== node && (n.subtree || n.mountPoint || n.skeleton)) return n.path;
    const next = [...n.children.values()].sort((a, b) => compareStrings(a.path, b.path))[0];
    if (!next) return n.path;
    n = next;
  }
}

/**
 * The verdict for an entry at an absolute `path` on the root, from scratch: the same
 * decision the walk makes incrementally (it prunes at the first subtree rule on the
 * way down, then asks leafVerdict). Used by tests and by callers with single paths.
 */
export function classify(rules: Rules, path: string, facts: LeafFacts): Verdict {
  let node: RuleNode | undefined = rules.root;
  const parts = normalizeAbs(path).split('/').filter((p) => p !== '');
  for (let i = 0; i < parts.length; i++) {
    node = node?.children.get(parts[i]!);
    if (!node) break;
    if (node.subtree && i < parts.length - 1) return { state: false, reason: node.subtree.reason, rule: node.subtree.rule };
  }
  return leafVerdict(node, normalizeAbs(path), facts);
}
