#!/usr/bin/env bash
# Reproduces the figures of docs/quality.md: SmolLM2-135M (the Q4_1 GGUF that scripts/setup.sh
# fetches), the paper-default layers (15, 17, ..., 29), evaluated on the first 512 tokens of the
# GPL-3 text and calibrated on the first 512 tokens of the Apache-2.0 text (never the same text).
# Usage: scripts/quality-figures.sh [OUT_DIR]   (needs a release build: swift build -c release)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-.build/quality}"
mkdir -p "$out"
pack=".build/release/emoe-pack"
model=".cache/models/SmolLM2-135M-Instruct.Q4_1.gguf"
eval_text=/usr/share/common-licenses/GPL-3
cal_text=/usr/share/common-licenses/Apache-2.0
cal=(--calibration "$cal_text" --calibration-tokens 512)
evaluate() { # NAME CONTAINER [evaluate options...]
  local name="$1" container="$2"; shift 2
  "$pack" evaluate "$container" --text "$eval_text" --max-tokens 512 --json "$@" >"$out/$name.json"
  echo "$name: $(python3 -c 'import json,sys
d=json.load(open(sys.argv[1])); print("dense %.2f" % d["dense"]["perplexity"], "|", "; ".join(
"%s k=%s %.1f%% active: %.2f (%+.1f%%)" % (r["router"], r["top_k"] if r["top_k"] is not None else "per-layer",
100*r["active_fraction"]["converted_layers"], r["perplexity"], 100*r["increase"]) for r in d["results"]))' "$out/$name.json")"
}
convert() { # CONTAINER [convert options...]
  local container="$1"; shift
  [ -f "$container" ] || "$pack" convert "$model" "$container" "$@"
}

convert "$out/keys.emoe"
evaluate keys "$out/keys.emoe" --top-k 48,32,16 --router average-key,up,up-abs,inter,inter-abs \
  --baseline random
convert "$out/shared25.emoe" "${cal[@]}" --shared-neurons 25% --experts 48
evaluate shared25 "$out/shared25.emoe" --top-k 32,16 --router average-key,inter-abs
convert "$out/shared12.emoe" "${cal[@]}" --shared-neurons 12.5% --experts 48
evaluate shared12 "$out/shared12.emoe" --top-k 7,20 --router average-key,inter-abs
convert "$out/activations.emoe" "${cal[@]}" --cluster-on activations
evaluate activations "$out/activations.emoe" --top-k 48,32,16
convert "$out/shared25-activations.emoe" "${cal[@]}" --shared-neurons 25% --experts 48 \
  --cluster-on activations
evaluate shared25-activations "$out/shared25-activations.emoe" --top-k 32,16
convert "$out/calibrated.emoe" "${cal[@]}" --shared-neurons 25% --experts 48 \
  --max-ppl-increase 0.3
evaluate calibrated "$out/calibrated.emoe"
