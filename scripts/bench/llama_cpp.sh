#!/usr/bin/env bash
# llama.cpp speed (llama-cpp-python): the dense SmolLM2 Q4_1 GGUF against its EMoE export
# (every layer converted, E = 16) at k = E/4, E/2 and E, with the default block-quantised experts
# (Q4_1 gate/up, Q5_1 down) and, for comparison, F32 down at k = 4. Prompt tok/s (256 tokens in one
# batch) and generation tok/s (64 greedy tokens), best of 3, 2 threads; load average printed.
#
# Usage: scripts/bench/llama_cpp.sh [--runs N]   (EMOE_PACK=path overrides the emoe-pack binary;
#        the exports are cached in .cache/bench-llama-cpp/, the container in .cache/derived/)
set -euo pipefail
cd "$(dirname "$0")/../.."
MODEL="${EMOE_MODELS_DIR:-.cache/models}/SmolLM2-135M-Instruct.Q4_1.gguf"
PACK=${EMOE_PACK:-$(swift build -c release --show-bin-path)/emoe-pack}
[ -x "$PACK" ] || swift build -c release --product emoe-pack >/dev/null
[ -f "$MODEL" ] || { echo "missing $MODEL (run scripts/fetch-models.sh)" >&2; exit 1; }
work=.cache/bench-llama-cpp
mkdir -p "$work" .cache/derived
# The same container GGUFQuantisedExportTests makes and caches (one clustering restart).
container=.cache/derived/SmolLM2-e16-all.emoe
if [ ! -f "$container" ]; then
  "$PACK" convert "$MODEL" "$container.$$.emoe" --experts 16 --layers all --restarts 1
  mv "$container.$$.emoe" "$container"
fi
for k in 4 8; do
  [ -f "$work/k$k.gguf" ] || "$PACK" export "$container" "$work/k$k.gguf" --to gguf --top-k "$k"
  [ "$k" = 8 ] || [ -f "$work/k$k-f32down.gguf" ] ||
    "$PACK" export "$container" "$work/k$k-f32down.gguf" --to gguf --top-k "$k" --precision f32-down
done
[ -f "$work/k16.gguf" ] || "$PACK" export "$container" "$work/k16.gguf" --to gguf
python3 scripts/bench/llama_cpp_speed.py "$@" dense="$MODEL" \
  "emoe-k4-q5_1-down=$work/k4.gguf" "emoe-k8-q5_1-down=$work/k8.gguf" \
  "emoe-k4-f32-down=$work/k4-f32down.gguf" "emoe-k16-q5_1-down=$work/k16.gguf"
