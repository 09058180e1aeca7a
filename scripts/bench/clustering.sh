#!/usr/bin/env bash
# Balanced k-means: emoe-pack against k-means-constrained on the same keys, in one run.
#
#   scripts/bench/clustering.sh            MiniLM (6 layers) and SmolLM2 (30 layers): our default
#                                          fit on every layer, the reference on every MiniLM layer
#                                          and on SmolLM2 layers 0, 10, 20; the restarts sweep;
#                                          the synthetic LLaMA-7B-shaped layer.
#   CLUSTERING_FULL=1 scripts/bench/clustering.sh   the reference on all 30 SmolLM2 layers too
#                                          (about 15 minutes more).
#
# Keys: scripts/bench/clustering_keys.py extracts them from the real models (.cache/models) into
# .cache/bench/clustering. Reference results are deterministic (random_state=0) and cached there
# as reference-<keys>.json; delete them to measure again. Prints Markdown tables. EMOE_BENCH
# names an already built emoe-bench binary (default: build it in release).
set -euo pipefail
cd "$(dirname "$0")/../.."
keys=.cache/bench/clustering
mkdir -p "$keys"
[ -f "$keys/manifest.json" ] || python3 scripts/bench/clustering_keys.py extract --out "$keys"
if [ -z "${EMOE_BENCH:-}" ]; then
  swift build -c release --product emoe-bench >/dev/null
fi
bench="${EMOE_BENCH:-$(swift build -c release --show-bin-path)/emoe-bench}"
out="$keys/results"
mkdir -p "$out"

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
"$bench" clustering layers "$keys/manifest.json" > "$out/ours.jsonl"
"$bench" clustering sweep "$keys/manifest.json" --model MiniLM --restarts 1,3,10,30 > "$out/sweep-minilm.jsonl"
python3 - "$keys" > "$keys/sweep-smollm2.json" <<'PY'
import json, sys
entries = json.load(open(sys.argv[1] + "/manifest.json"))
json.dump([e for e in entries if e["model"] == "SmolLM2" and e["layer"] in (0, 10, 20)], sys.stdout)
PY
"$bench" clustering sweep "$keys/sweep-smollm2.json" --restarts 1,3,10,30 > "$out/sweep-smollm2.jsonl"
"$bench" clustering layers "$keys/manifest.json" --restarts 1 --no-local-improvement > "$out/plain.jsonl"
"$bench" clustering synthetic --rows 11008 --cols 4096 --experts 64 --write "$keys/synthetic-7b.f32" > "$out/synthetic.jsonl"
"$bench" clustering synthetic --rows 11008 --cols 4096 --experts 64 --no-local-improvement >> "$out/synthetic.jsonl"

# The reference, cached per key file.
reference() {  # file rows cols experts [n_init]
  local cache="$keys/reference-$(basename "$1" .f32)-n${5:-10}.json"
  [ -f "$cache" ] || python3 scripts/bench/clustering_keys.py reference --keys "$1" --rows "$2" \
    --cols "$3" --experts "$4" --n-init "${5:-10}" > "$cache"
}
for layer in 0 1 2 3 4 5; do reference "$keys/minilm-L$layer.f32" 1536 384 16; done
smol_layers="0 10 20"
[ "${CLUSTERING_FULL:-0}" = 1 ] && smol_layers="$(seq 0 29)"
for layer in $smol_layers; do reference "$keys/smollm2-L$layer.f32" 1536 576 64; done
reference "$keys/synthetic-7b.f32" 11008 4096 64 1

python3 scripts/bench/clustering_report.py "$keys"
