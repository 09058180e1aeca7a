#!/usr/bin/env bash
# The verify benchmark: converts the real MiniLM (default: last two layers, E = 16) and SmolLM2
# (default: every second layer from 15, E = 64) once, then times `emoe-pack verify` on each
# (best and median of RUNS runs, plain and with --model) and prints a Markdown table for
# docs/benchmarks.md. Usage: scripts/bench/verify.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${EMOE_PACK_BIN:-.build/release/emoe-pack}
[ -x "$BIN" ] || swift build -c release --product emoe-pack >/dev/null
RUNS=${1:-5}
OUT=.cache/bench
mkdir -p "$OUT"
MINILM=.cache/models/all-MiniLM-L6-v2/model.safetensors
SMOL=.cache/models/SmolLM2-135M-Instruct.Q4_1.gguf

echo "| model | container | verify | best s | median s | checks |"
echo "|---|---|---|---|---|---|"
for pair in "minilm:$MINILM" "smollm2:$SMOL"; do
  name=${pair%%:*}
  source=${pair#*:}
  [ -f "$source" ] || { echo "missing $source (scripts/fetch-models.sh)" >&2; continue; }
  container="$OUT/$name.emoe"
  [ -f "$container" ] || "$BIN" convert "$source" "$container" --quiet
  size=$(python3 -c "import os,sys; print(f'{os.path.getsize(sys.argv[1]) / 1e6:.1f} MB')" "$container")
  for flags in "" "--model"; do
    times=()
    for _ in $(seq "$RUNS"); do
      start=$(date +%s.%N)
      "$BIN" verify "$container" --source "$source" $flags --json > "$OUT/verify-$name.json"
      end=$(date +%s.%N)
      times+=("$(awk "BEGIN {print $end - $start}")")
    done
    read -r best median < <(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[1], a[int((NR+1)/2)]}')
    checks=$(python3 -c "import json,sys; c=json.load(open(sys.argv[1]))['counts']; print(f\"{c['passed']} passed, {c['failed']} failed\")" "$OUT/verify-$name.json")
    printf '| %s | %s | `verify --source%s` | %.2f | %.2f | %s |\n' \
      "$name" "$size" "${flags:+ $flags}" "$best" "$median" "$checks"
  done
done
