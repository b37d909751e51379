#!/usr/bin/env bash
# A sandbox host: a loop-mounted Btrfs image laid out exactly like a pantherOS host
# (DESIGN.md section 2), a matching config, and pantheragent run against it.
#   bash scripts/sandbox.sh          set up (idempotent) and show what it did
#   bash scripts/sandbox.sh clean    unmount, detach the loop device, delete it all
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
SB=$REPO/sandbox
IMG=$SB/disk.img
TOP=$SB/run/top
CFG=$SB/config.json
AGENT=(node "$REPO/dist/pantheragent.cjs" --config "$CFG")
# Logs stay on stderr; the sandbox shows the reports, not the info lines.
export PANTHERAGENT_LOG_LEVEL=${PANTHERAGENT_LOG_LEVEL:-warn}

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'sandbox: %s\n' "$*" >&2; exit 1; }

# The daemon and the endpoint run in the background; only the processes whose pid
# files we wrote, and only while they are still pantheragent, are ever stopped.
stop_bg() {
  local f pid
  for f in "$SB/daemon.pid" "$SB/serve-health.pid"; do
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    if grep -q pantheragent "/proc/$pid/cmdline" 2>/dev/null; then kill "$pid"; fi
    rm -f "$f"
  done
}

clean() {
  [ -d "$SB" ] || { echo "sandbox: nothing to clean"; return; }
  stop_bg
  # Deepest mounts first; only mounts below our own directory.
  awk -v p="$SB" '$5 == p || index($5, p "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r | while read -r mp; do
    umount "$mp" 2>/dev/null || umount -l "$mp"
  done
  losetup -j "$IMG" 2>/dev/null | cut -d: -f1 | while read -r dev; do losetup -d "$dev"; done
  rm -rf "$SB"
  say "sandbox removed"
}

if [ "${1:-}" = clean ]; then clean; exit 0; fi

[ "$(id -u)" -eq 0 ] || die "run as root: it creates a loop device and mounts Btrfs (sudo bash scripts/sandbox.sh)"
bash scripts/setup.sh
[ -e /dev/loop-control ] || die "no loop device support (/dev/loop-control missing): load the loop module (modprobe loop)"
grep -qw btrfs /proc/filesystems || die "the kernel has no Btrfs (modprobe btrfs failed)"
say "building"
npm run --silent build

mkdir -p "$SB/run" "$SB/state"
DEV=$(losetup -j "$IMG" 2>/dev/null | cut -d: -f1 | head -n1)
if [ -z "$DEV" ]; then
  if [ ! -f "$IMG" ]; then
    say "creating a 2 GiB sparse Btrfs image at $IMG"
    truncate -s 2G "$IMG"
    mkfs.btrfs -q -L pantheros-sandbox "$IMG"
  fi
  DEV=$(losetup --find --show "$IMG")
fi
mkdir -p "$TOP"
mountpoint -q "$TOP" || mount -t btrfs -o subvolid=5 "$DEV" "$TOP"

if [ ! -e "$TOP/@root-blank" ]; then
  say "laying out a pantherOS host: @root @root-blank @old_roots @persist @home @log @nix @snapshots"
  btrfs -q subvolume create "$TOP/@root"
  btrfs -q subvolume snapshot -r "$TOP/@root" "$TOP/@root-blank"
  mkdir -p "$TOP/@old_roots"
  for s in @persist @home @log @nix @snapshots; do btrfs -q subvolume create "$TOP/$s"; done
  # Persistent state, as impermanence keeps it.
  mkdir -p "$TOP/@persist/etc/nixos" "$TOP/@persist/var/lib/nixos" "$TOP/@persist/var/lib/postgresql"
  echo '{ ... }: { networking.hostName = "sandbox"; }' > "$TOP/@persist/etc/nixos/configuration.nix"
  echo 0123456789abcdef0123456789abcdef > "$TOP/@persist/etc/machine-id"
  head -c 65536 /dev/urandom > "$TOP/@persist/var/lib/postgresql/base.db"
  mkdir -p "$TOP/@home/dev/src"; echo 'hello' > "$TOP/@home/dev/src/notes.txt"
  mkdir -p "$TOP/@log/journal"; echo 'boot ok' > "$TOP/@log/journal/system.log"
  mkdir -p "$TOP/@nix/store"
  # What this boot wrote on the ephemeral root: some of it declared, some not.
  mkdir -p "$TOP/@root/etc/nixos" "$TOP/@root/etc/NetworkManager/system-connections" "$TOP/@root/var/lib/nixos" \
           "$TOP/@root/tmp" "$TOP/@root/persist" "$TOP/@root/home" "$TOP/@root/nix" "$TOP/@root/var/log"
  printf '[wifi]\nssid=home\n' > "$TOP/@root/etc/NetworkManager/system-connections/home.nmconnection"
  echo 'scratch' > "$TOP/@root/tmp/scratch"
  ln -s /nix/store/00000000000000000000000000000000-etc/etc/hosts "$TOP/@root/etc/hosts"
fi

cat > "$CFG" <<JSON
{
  "host": "sandbox",
  "stateDir": "$SB/state",
  "runtimeDir": "$SB/run",
  "btrfs": { "device": "$DEV", "topLevel": null },
  "snapshots": {
    "sources": {
      "@persist": { "retention": { "preserveMin": "1d", "preserve": "24h 14d 8w 6m" } },
      "@home":    { "retention": { "preserveMin": "1d", "preserve": "24h 14d 8w 6m" } },
      "@log":     { "retention": { "preserveMin": "1d", "preserve": "7d" } }
    }
  },
  "persistence": { "storage": "/persist", "directories": ["/etc/nixos", "/var/lib/nixos"], "files": ["/etc/machine-id"] },
  "power": { "enable": false },
  "health": { "listen": ["loopback"], "port": 9473 },
  "timezone": "UTC"
}
JSON
"${AGENT[@]}" check-config >/dev/null

say "taking snapshots of the persistent subvolumes"
"${AGENT[@]}" snapshot --tag sandbox

say "what the next wipe will erase (undeclared state on @root)"
"${AGENT[@]}" diff || true   # exit 2: state found

say "a boot: wipe the root (archive @root to @old_roots, fresh @root from @root-blank)"
"${AGENT[@]}" wipe --yes
# What the new boot writes, so that 'diff' has something to show again.
mkdir -p "$TOP/@root/var/lib/bluetooth" && echo 'paired' > "$TOP/@root/var/lib/bluetooth/devices"

say "what that wipe erased (diff --against previous-boot)"
"${AGENT[@]}" diff --against previous-boot || true

say "status"
"${AGENT[@]}" status

say "starting the daemon and the health endpoint (loopback only; logs in $SB/*.log)"
stop_bg
"${AGENT[@]}" daemon >/dev/null 2>"$SB/daemon.log" & echo $! > "$SB/daemon.pid"
"${AGENT[@]}" serve-health >/dev/null 2>"$SB/serve-health.log" & echo $! > "$SB/serve-health.pid"
for _ in $(seq 50); do [ -f "$SB/run/health.json" ] && break; sleep 0.2; done
"${AGENT[@]}" health || true   # exit 2 when it fails

cat <<EOF

The sandbox host is ready. Its Btrfs top level is mounted at:
  $TOP
Try:
  alias pa='node $REPO/dist/pantheragent.cjs --config $CFG'
  pa list                      # snapshots with time and notes
  pa list --json               # the same as JSON
  pa snapshot @persist --pin   # a pinned snapshot
  pa prune --dry-run           # every retention decision with its reason
  pa list --roots              # archived roots, one per wipe
  pa diff --against previous-boot --all
  pa wipe --dry-run            # the boot-time wipe plan
  pa render-initrd             # the same plan as the initrd's POSIX sh script
  ls $TOP/@snapshots $TOP/@old_roots
The health endpoint (daemon pid $(cat "$SB/daemon.pid"), endpoint pid $(cat "$SB/serve-health.pid")):
  http://127.0.0.1:9473/health   http://127.0.0.1:9473/metrics   /livez   /readyz
  curl -s http://127.0.0.1:9473/health | jq .status
  curl -s http://127.0.0.1:9473/metrics | grep ^pantheragent_
  kill -HUP $(cat "$SB/daemon.pid")   # reload the config
Clean up (stop them, unmount, detach the loop device, delete the image):
  bash scripts/sandbox.sh clean
EOF
