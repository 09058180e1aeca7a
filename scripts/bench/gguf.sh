#!/usr/bin/env bash
# GGUF codecs: Q4_1 / Q6_K dequantisation and Q8_0 quantisation on SmolLM2's 90 FFN tensors,
# emoe-pack (release; 1 and 2 threads) beside gguf-py's `gguf.quants` (numpy) in one run, with
# ratios and a check that both produced the same bytes (SHA-256 of all outputs).
#
# Usage: scripts/bench/gguf.sh [--runs N]    (best of N runs, 5 by default; EMOE_BENCH=path
#        overrides the emoe-bench binary, otherwise the release build's is used, built if missing)
set -euo pipefail
cd "$(dirname "$0")/../.."
MODEL="${EMOE_MODELS_DIR:-.cache/models}/SmolLM2-135M-Instruct.Q4_1.gguf"
BENCH=${EMOE_BENCH:-$(swift build -c release --show-bin-path)/emoe-bench}
if [ ! -x "$BENCH" ]; then
  swift build -c release --product emoe-bench >/dev/null
fi
[ -f "$MODEL" ] || { echo "missing $MODEL (run scripts/fetch-models.sh)" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# numpy runs without this machine's OpenBLAS overrides (they are meant for old OpenBLAS builds).
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \
  python3 scripts/bench/gguf_codecs.py --model "$MODEL" "$@" >"$tmp/python.jsonl"
"$BENCH" gguf-codecs --model "$MODEL" "$@" >"$tmp/swift.jsonl"
python3 - "$tmp/python.jsonl" "$tmp/swift.jsonl" <<'PY'
import json, sys
python = {r["op"]: r for r in map(json.loads, open(sys.argv[1]))}
swift = [json.loads(line) for line in open(sys.argv[2])]
print("| operation | gguf-py GB/s | emoe-pack 1 thread GB/s | ratio | emoe-pack 2 threads GB/s | ratio | same output |")
print("|---|---|---|---|---|---|---|")
for op, peer in python.items():
    ours = {r["threads"]: r for r in swift if r["op"] == op}
    one, two = ours[1], ours[2]
    same = "yes" if one["checksum"] == peer["checksum"] == two["checksum"] else "NO"
    print(f"| {op} | {peer['f32_gb_per_s']:.2f} | {one['f32_gb_per_s']:.2f} | "
          f"{one['f32_gb_per_s'] / peer['f32_gb_per_s']:.1f}× | {two['f32_gb_per_s']:.2f} | "
          f"{two['f32_gb_per_s'] / peer['f32_gb_per_s']:.1f}× | {same} |")
PY
