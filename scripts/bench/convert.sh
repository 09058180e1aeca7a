#!/usr/bin/env bash
# The convert benchmark (docs/benchmarks.md, "Convert"), release build, on this machine:
#  1. the whole `emoe-pack convert` of MiniLM (paper defaults: last 2 layers, E = 16) against
#     `cp` of the same file, as a ratio of wall-clock times;
#  2. `convert` of SmolLM2-135M Q4_1 with its defaults (8 layers, E = 64);
#  3. peak resident memory (/usr/bin/time -v) converting a synthetic LLaMA-7B-shaped checkpoint
#     of 4 layers (F16, d = 4096, n = 11008; made by scripts/make_synthetic_llama.py into
#     .cache/bench/synthetic-llama, about 2.1 GB), its default layer (2) with E = 64.
# Set EMOE_CONVERT_BENCH_SKIP_SYNTHETIC=1 to skip part 3 (it clusters an 11008 x 4096 layer).
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${EMOE_PACK_BIN:-.build/release/emoe-pack}
[ -x "$BIN" ] || swift build -c release --product emoe-pack >/dev/null
OUT=.cache/bench/convert
mkdir -p "$OUT"
MINILM=.cache/models/all-MiniLM-L6-v2/model.safetensors
SMOL=.cache/models/SmolLM2-135M-Instruct.Q4_1.gguf

seconds() { # seconds COMMAND...: wall-clock seconds of one run
  python3 -c 'import subprocess, sys, time
start = time.perf_counter(); subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
print(time.perf_counter() - start)' "$@"
}

echo "| what | wall clock | peak RSS | notes |"
echo "|---|---|---|---|"
if [ -f "$MINILM" ]; then
  cp_time=$(seconds cp "$MINILM" "$OUT/minilm-copy.safetensors")
  /usr/bin/time -v "$BIN" convert "$MINILM" "$OUT/minilm.emoe" --json -q \
    >"$OUT/minilm.json" 2>"$OUT/minilm.time"
  python3 - "$OUT" "$cp_time" <<'PY'
import json, re, sys
out, cp = sys.argv[1], float(sys.argv[2])
summary = json.load(open(f"{out}/minilm.json"))
text = open(f"{out}/minilm.time").read()
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1)) * 1024
total = summary["totals"]["seconds"]
layers = ", ".join(f"layer {l['layer']} {l['seconds']:.2f} s (SSE {l['sse']:.1f}, {l['iterations']} it.)"
                   for l in summary["layers"])
print(f"| convert MiniLM (90.9 MB, layers 4-5, E = 16) | {total:.2f} s | {rss / 2**20:.0f} MiB | {layers} |")
print(f"| cp of the same file | {cp:.3f} s | | convert / cp = {total / cp:.0f}x |")
PY
  rm -f "$OUT/minilm-copy.safetensors"
fi
if [ -f "$SMOL" ]; then
  /usr/bin/time -v "$BIN" convert "$SMOL" "$OUT/smollm2.emoe" --json -q \
    >"$OUT/smollm2.json" 2>"$OUT/smollm2.time"
  python3 - "$OUT" <<'PY'
import json, re, sys
out = sys.argv[1]
summary = json.load(open(f"{out}/smollm2.json"))
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)",
                    open(f"{out}/smollm2.time").read()).group(1)) * 1024
per = [l["seconds"] for l in summary["layers"]]
print(f"| convert SmolLM2 Q4_1 (98.4 MB, layers {summary['layers'][0]['layer']}-{summary['layers'][-1]['layer']}/2, E = 64) "
      f"| {summary['totals']['seconds']:.1f} s | {rss / 2**20:.0f} MiB | {len(per)} layers, {min(per):.1f}-{max(per):.1f} s each |")
PY
fi
if [ "${EMOE_CONVERT_BENCH_SKIP_SYNTHETIC:-0}" != 1 ]; then
  SYNTH=.cache/bench/synthetic-llama
  [ -f "$SYNTH/config.json" ] || python3 scripts/make_synthetic_llama.py "$SYNTH" --layers 4 >/dev/null
  /usr/bin/time -v "$BIN" convert "$SYNTH" "$OUT/synthetic.emoe" --json -q \
    >"$OUT/synthetic.json" 2>"$OUT/synthetic.time"
  python3 - "$OUT" <<'PY'
import json, re, sys
out = sys.argv[1]
summary = json.load(open(f"{out}/synthetic.json"))
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)",
                    open(f"{out}/synthetic.time").read()).group(1)) * 1024
ffn_layer = 3 * 4096 * 11008 * 2
budget = 2 * ffn_layer + 256 * 2**20
print(f"| convert synthetic LLaMA-7B shape, 4 layers F16 ({summary['totals']['bytes_in'] / 1e9:.2f} GB), layer 2, E = 64 "
      f"| {summary['totals']['seconds']:.0f} s | {rss / 2**20:.0f} MiB | budget 2 FFN layers + 256 MiB = {budget / 2**20:.0f} MiB |")
PY
  rm -f "$OUT/synthetic.emoe"
fi
rm -f "$OUT/minilm.emoe" "$OUT/smollm2.emoe"
