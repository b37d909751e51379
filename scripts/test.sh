#!/usr/bin/env bash
# The test command: set up a fresh Debian machine if needed, then typecheck, build and
# run every test (node's test runner). PANTHERAGENT_TEST_STRICT=1 turns skips of
# real-Btrfs/Nix tests into failures (CI sets it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm test
