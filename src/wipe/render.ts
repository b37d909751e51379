// Executor 2: turns the wipe plan into the POSIX sh script that runs in the initrd
// (DESIGN.md section 6). The script is the plan's steps, in the plan's order, each
// rendered by the one function below for its kind; the failure path is rendered
// from plan.onFailure and the record line from record.ts RECORD_KEYS. Everything
// taken from the configuration is single-quoted, and the parts of the record that
// come from it are percent-encoded here, at render time, so the script never has to
// encode anything itself.
//
// Tools: sh (dash or bash), btrfs-progs, coreutils (stat, date, mv, mkdir, dirname,
// chmod, sync), util-linux mount/umount. No deletion anywhere. Exit status is always 0.
import { RECORD_KEYS, encodeValue } from './record.js';
import { MARKER_NAME_CHARS, WIPE_ERRORS, type WipeLayout, type WipePlan, type WipeStep } from './plan.js';

/** Mount point when PANTHERAGENT_WIPE_MOUNTPOINT is not set. */
export const DEFAULT_MOUNTPOINT = '/run/pantheragent-wipe';

/** Single-quote for sh: safe for any string. */
export function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

const lines = (...ls: string[]) => ls.join('\n');

/**
 * The layout as references to the script's own variables: log messages are built
 * from these inside double quotes, so configuration text is never spliced into code.
 * (The static wording of WIPE_ERRORS has no ", \\, ` or $.)
 */
const SH_VARS: WipeLayout = { device: '$device', root: '$root', blank: '$blank', archiveDir: '$archive' };

/** `finish failed` with the record's error (encoded now, from the real names) and the same message for the log. */
const fail = (plan: WipePlan, message: (l: WipeLayout) => string) =>
  `finish failed ${shq(encodeValue(message(plan.layout)))} "${message(SH_VARS)}"`;

/** An assignment of a configuration value, with the shellcheck note that its $ or ` is literal on purpose. */
const assign = (name: string, value: string) =>
  (/[$`\\]/.test(value) ? '# shellcheck disable=SC2016,SC1003 # a literal configuration value\n' : '') + `${name}=${shq(value)}`;

interface Fragment {
  /** Shell functions this step contributes (defined before the main sequence). */
  functions?: string;
  /** What runs at this step's place in the main sequence. */
  main: string;
}

/** sh expression for each record key; the line is assembled in RECORD_KEYS order. */
const RECORD_SH: Record<(typeof RECORD_KEYS)[number], string> = {
  v: '1',
  time: '$now',
  outcome: '$1',
  executor: 'initrd',
  stamp: '$stamp',
  source: '$source_kind',
  from: '$from_enc',
  root: '$root_enc',
  archived: '$archived_enc',
  marker: '$marker_state',
  renamed_back: '$renamed_back',
  error: '$2',
};

function renderStep(step: WipeStep, plan: WipePlan): Fragment {
  const l = plan.layout;
  switch (step.kind) {
    case 'mount-top':
      return {
        main: lines(
          'case $mp in',
          '  /*) ;;',
          '  *) say "PANTHERAGENT_WIPE_MOUNTPOINT must be an absolute path, not $mp: root not wiped"; exit 0 ;;',
          'esac',
          'if ! mkdir -p -- "$mp" || ! mount -t btrfs -o subvolid=5 "$device" "$mp"; then',
          '  say "could not mount the top level of $device at $mp: root not wiped, nothing recorded"',
          '  exit 0',
          'fi',
          'mounted=yes',
        ),
      };
    case 'check-skip':
      return {
        main: lines(
          'words=',
          'if [ -r "$cmdline" ]; then',
          '  read -r words < "$cmdline" || :',
          'fi',
          'case " $words " in',
          `  *${shq(` ${step.flag} `)}*)`,
          `    say ${shq(`${step.flag} on the kernel command line: root not wiped`)}`,
          "    finish skipped - ''",
          '    ;;',
          'esac',
        ),
      };
    case 'choose-source':
      return {
        main: lines(
          'if taken "$mp/$marker"; then',
          '  name=',
          '  IFS= read -r name < "$mp/$marker" 2>/dev/null || :',
          '  case $name in',
          '    "$archive"/*) name=${name#"$archive"/} ;;',
          '  esac',
          '  case $name in',
          `    ''|.|..|*[!${MARKER_NAME_CHARS}]*) marker_state=ignored:bad-name ;;`,
          '    *)',
          '      if is_subvol "$mp/$archive/$name"; then',
          '        source_kind=rollback',
          '        from="$archive/$name"',
          '        from_enc="$archive_enc/$name"',
          '        marker_state=used',
          '      else',
          '        marker_state=ignored:not-a-subvolume',
          '      fi',
          '      ;;',
          '  esac',
          '  if [ "$marker_state" = used ]; then',
          '    say "rollback: the new root is a snapshot of $from"',
          '  else',
          '    say "ignoring the rollback marker $marker ($marker_state): the new root comes from $blank"',
          '  fi',
          'fi',
        ),
      };
    case 'ensure-blank':
      return {
        main: lines(
          'if [ "$source_kind" = blank ]; then',
          '  if ! taken "$mp/$blank"; then',
          '    say "creating the empty read-only $blank"',
          '    if ! mkdir -p -- "$(dirname -- "$mp/$blank")" || ! btrfs subvolume create "$mp/$blank" >&2; then',
          `      ${fail(plan, WIPE_ERRORS.blankCreate)}`,
          '    fi',
          '    # Its root directory becomes "/" of every fresh root.',
          `    chmod 0755 "$mp/$blank" || ${fail(plan, WIPE_ERRORS.blankCreate)}`,
          '  fi',
          `  is_subvol "$mp/$blank" || ${fail(plan, WIPE_ERRORS.blankNotSubvolume)}`,
          '  if [ "$(btrfs property get -ts "$mp/$blank" ro 2>/dev/null)" != ro=true ]; then',
          `    btrfs property set -ts "$mp/$blank" ro true || ${fail(plan, WIPE_ERRORS.blankReadonly)}`,
          '  fi',
          'fi',
        ),
      };
    case 'archive-root':
      return {
        main: lines(
          'if taken "$mp/$root"; then',
          `  is_subvol "$mp/$root" || ${fail(plan, WIPE_ERRORS.rootNotSubvolume)}`,
          `  mkdir -p -- "$mp/$archive" || ${fail(plan, WIPE_ERRORS.archiveDir)}`,
          '  # The first free name: never onto an existing one.',
          '  suffix=$stamp',
          '  n=0',
          '  while taken "$mp/$archive/$base.$suffix"; do',
          '    n=$((n + 1))',
          '    suffix="${stamp}_$n"',
          '  done',
          '  # A subvolume root moves by rename(2) within one Btrfs mount, nested subvolumes',
          '  # with it; the kernel never answers EXDEV for it, so mv never falls back to copying.',
          '  if ! mv -T -- "$mp/$root" "$mp/$archive/$base.$suffix"; then',
          `    ${fail(plan, WIPE_ERRORS.rename)}`,
          '  fi',
          '  renamed=yes',
          '  archived="$archive/$base.$suffix"',
          '  archived_enc="$archive_enc/$base_enc.$suffix"',
          '  say "archived $root as $archived"',
          'fi',
        ),
      };
    case 'create-root':
      return {
        main: lines(
          `if taken "$mp/$root"; then ${fail(plan, WIPE_ERRORS.rootInTheWay)}; fi`,
          'if ! mkdir -p -- "$(dirname -- "$mp/$root")" || ! btrfs subvolume snapshot "$mp/$from" "$mp/$root" >&2; then',
          `  ${fail(plan, WIPE_ERRORS.snapshot)}`,
          'fi',
        ),
      };
    case 'consume-marker':
      return {
        main: lines(
          'if [ "$marker_state" != none ] && taken "$mp/$marker"; then',
          `  mv -f -T -- "$mp/$marker" "$mp/$marker_used" || ${fail(plan, WIPE_ERRORS.consume)}`,
          'fi',
        ),
      };
    case 'write-record':
      return {
        functions: lines(
          '# write_record OUTCOME ERROR_ENCODED: the result line, atomically, and appended to the log.',
          'write_record() {',
          `  line="${RECORD_KEYS.map((k) => `${k}=${RECORD_SH[k]}`).join(' ')}"`,
          '  say "$line"',
          '  if { [ -d "$mp/$agent_dir" ] || mkdir -m 0700 -- "$mp/$agent_dir"; } && printf \'%s\\n\' "$line" > "$mp/$result.tmp" && mv -f -T -- "$mp/$result.tmp" "$mp/$result"; then',
          '    :',
          '  else',
          '    say "could not write $result"',
          '  fi',
          '  printf \'%s\\n\' "$line" >> "$mp/$wipelog" || say "could not append to $wipelog"',
          '}',
        ),
        main: 'write_record ok -',
      };
    case 'unmount':
      return {
        functions: lines(
          'unmount_top() {',
          '  [ "$mounted" = yes ] || return 0',
          '  sync',
          '  umount -- "$mp" || umount -l -- "$mp" || say "could not unmount $mp"',
          '  mounted=no',
          '}',
        ),
        main: lines('unmount_top', 'exit 0'),
      };
  }
}

/** plan.onFailure: put the old root back if no new root took its place, record, unmount, exit 0. */
function renderFinish(plan: WipePlan): string {
  const l = plan.layout;
  const alsoFailed =
    encodeValue('; and renaming ') + '$archived_enc' + encodeValue(' back to ') + '$root_enc' + encodeValue(' failed too');
  return lines(
    '# finish OUTCOME ERROR_ENCODED MESSAGE: the one way out after the mount. On failure',
    '# the old root goes back if it was moved and no new root took its place, so boot',
    '# continues on the unwiped root; then the record; then exit 0, always.',
    'finish() {',
    '  if [ "$1" = failed ]; then',
    '    say "wipe failed: $3"',
    `    if [ "$renamed" = yes ] && ! taken "$mp/$root"; then`,
    '      if mv -T -- "$mp/$archived" "$mp/$root"; then',
    '        say "renamed $archived back to $root: booting the unwiped root"',
    '        renamed_back=yes',
    '        archived=',
    '        archived_enc=-',
    '      else',
    '        say "could not rename $archived back to $root: rename it by hand from a rescue shell"',
    `        set -- "$1" "$2${alsoFailed}" "$3"`,
    '      fi',
    '    fi',
    '  fi',
    '  write_record "$1" "$2"',
    '  unmount_top',
    '  exit 0',
    '}',
  );
}

export interface RenderOptions {
  version: string;
  /** Shown in the header, e.g. the config file it was rendered from. */
  origin?: string;
}

export function renderInitrdScript(plan: WipePlan, opts: RenderOptions): string {
  const l = plan.layout;
  const f = plan.files;
  const base = l.root.split('/').pop()!;
  const fragments = plan.steps.map((s) => ({ step: s, ...renderStep(s, plan) }));
  const defaultEpoch = plan.instant === null ? '' : String(plan.instant / 1000);
  return (
    lines(
      '#!/bin/sh',
      `# pantheragent ${opts.version}: root wipe for the initrd (DESIGN.md section 6).`,
      `# Rendered by 'pantheragent render-initrd'${opts.origin ? ` from ${opts.origin}` : ''}: the same plan that`,
      "# 'pantheragent wipe' executes. Change the configuration, not this file.",
      '# Needs sh, btrfs-progs, coreutils and mount/umount. It never deletes anything;',
      '# whatever fails, it leaves a bootable root, records why, and exits 0.',
      '#',
      '# Environment (tests, rescue shells):',
      `#   PANTHERAGENT_WIPE_MOUNTPOINT  where to mount the top level (default ${DEFAULT_MOUNTPOINT})`,
      '#   PANTHERAGENT_WIPE_EPOCH       seconds since the epoch to use as "now"',
      '#   PANTHERAGENT_WIPE_CMDLINE     the kernel command line file (default /proc/cmdline)',
      'set -u',
      'umask 022',
      '',
      '# From the configuration.',
      assign('device', l.device),
      assign('root', l.root),
      assign('blank', l.blank),
      assign('archive', l.archiveDir),
      assign('base', base),
      `agent_dir=${shq(f.dir)}`,
      `marker=${shq(f.marker)}`,
      `marker_used=${shq(f.markerUsed)}`,
      `result=${shq(f.result)}`,
      `wipelog=${shq(f.log)}`,
      '# The same, percent-encoded for the record.',
      `root_enc=${shq(encodeValue(l.root))}`,
      `blank_enc=${shq(encodeValue(l.blank))}`,
      `archive_enc=${shq(encodeValue(l.archiveDir))}`,
      `base_enc=${shq(encodeValue(base))}`,
      '',
      `mp=\${PANTHERAGENT_WIPE_MOUNTPOINT:-${DEFAULT_MOUNTPOINT}}`,
      'cmdline=${PANTHERAGENT_WIPE_CMDLINE:-/proc/cmdline}',
      `epoch=\${PANTHERAGENT_WIPE_EPOCH:-${defaultEpoch}}`,
      '',
      '# State, as the steps decide it.',
      'source_kind=blank',
      'from=$blank',
      'from_enc=$blank_enc',
      'marker_state=none',
      'archived=',
      'archived_enc=-',
      'renamed=no',
      'renamed_back=no',
      'mounted=no',
      '',
      "say() { printf 'pantheragent-wipe: %s\\n' \"$*\" >&2; }",
      '# Btrfs gives every subvolume root inode 256.',
      'is_subvol() { [ -d "$1" ] && [ ! -L "$1" ] && [ "$(stat -c %i -- "$1" 2>/dev/null)" = 256 ]; }',
      'taken() { [ -e "$1" ] || [ -L "$1" ]; }',
      '',
      ...fragments.filter((x) => x.functions).map((x) => x.functions + '\n'),
      renderFinish(plan),
      '',
      '# One instant for the stamp and the record.',
      'case $epoch in',
      "  '') epoch=$(date -u +%s) ;;",
      '  *[!0-9]*) say "ignoring PANTHERAGENT_WIPE_EPOCH=$epoch: not a number of seconds"; epoch=$(date -u +%s) ;;',
      'esac',
      'stamp="$(date -u -d "@$epoch" +%Y%m%dT%H%M%S)+0000"',
      'now=$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)',
      '',
      ...fragments.map((x, i) => `# Step ${i + 1}: ${x.step.kind}\n${x.main}\n`),
    ) + '\n'
  ).replace(/\n{3,}/g, '\n\n');
}
