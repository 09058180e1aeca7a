#!/usr/bin/env bash
# Runs every benchmark (release build) beside its Python peer, in one run on this machine.
# Each scripts/bench/*.sh prints its own table; docs/benchmarks.md records the figures.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product emoe-bench >/dev/null
for script in scripts/bench/*.sh; do
  [ -e "$script" ] || continue
  echo "== $script"
  bash "$script"
done
