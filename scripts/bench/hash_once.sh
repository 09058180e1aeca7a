#!/usr/bin/env bash
# "Hashing once" (docs/benchmarks.md): wall-clock times of convert and batch runs of two builds,
# EMOE_PACK_BEFORE (required; e.g. a release build of an earlier commit) and EMOE_PACK_BIN
# (default .build/release/emoe-pack), on the real models and on a 2-layer synthetic LLaMA-7B-
# shaped checkpoint (1.3 GB, made once into .cache/bench/hash-once/synth). Best of N runs.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -z "${EMOE_PACK_BEFORE:-}" ]; then
  echo "skipped: set EMOE_PACK_BEFORE to the build to compare with"
  exit 0
fi
BEFORE=$(realpath "$EMOE_PACK_BEFORE")
AFTER=$(realpath "${EMOE_PACK_BIN:-.build/release/emoe-pack}")
WORK=.cache/bench/hash-once
mkdir -p "$WORK"
ln -sfn "$(realpath .cache/models)" "$WORK/models"
[ -d "$WORK/synth" ] || python3 scripts/make_synthetic_llama.py "$WORK/synth" --layers 2 >/dev/null
cd "$WORK"
cat >batch.json <<'JSON'
{"jobs": [
  {"input": "models/all-MiniLM-L6-v2/model.safetensors", "output": "out/minilm-s0.emoe"},
  {"input": "models/all-MiniLM-L6-v2/model.safetensors", "output": "out/minilm-s1.emoe", "seed": 1},
  {"input": "models/all-MiniLM-L6-v2/model.safetensors", "output": "out/minilm-int8.emoe", "quantize": "int8"},
  {"input": "models/SmolLM2-135M-Instruct.Q4_1.gguf", "output": "out/smol-s0.emoe", "layers": "29", "restarts": 1},
  {"input": "models/SmolLM2-135M-Instruct.Q4_1.gguf", "output": "out/smol-s1.emoe", "layers": "29", "restarts": 1, "seed": 1}
]}
JSON
cat >cheap.json <<'JSON'
{"defaults": {"restarts": 1},
 "jobs": [
  {"input": "models/all-MiniLM-L6-v2/model.safetensors", "output": "cheap/minilm-s0.emoe", "layers": "5"},
  {"input": "models/all-MiniLM-L6-v2/model.safetensors", "output": "cheap/minilm-s1.emoe", "layers": "5", "seed": 1},
  {"input": "models/all-MiniLM-L6-v2/model.safetensors", "output": "cheap/minilm-s2.emoe", "layers": "5", "seed": 2},
  {"input": "models/SmolLM2-135M-Instruct.Q4_1.gguf", "output": "cheap/smol-s0.emoe", "layers": "29", "experts": 16},
  {"input": "models/SmolLM2-135M-Instruct.Q4_1.gguf", "output": "cheap/smol-s1.emoe", "layers": "29", "experts": 16, "seed": 1}
]}
JSON
cat >synth.json <<'JSON'
{"defaults": {"restarts": 1},
 "jobs": [
  {"input": "synth", "output": "synth-out/s0.emoe"},
  {"input": "synth", "output": "synth-out/s1.emoe", "seed": 1},
  {"input": "synth", "output": "synth-out/s2.emoe", "seed": 2}
]}
JSON
best() { # best N COMMAND...: the best wall-clock seconds of N runs
  python3 -c 'import subprocess, sys, time
n = int(sys.argv[1]); best = 1e9
for _ in range(n):
    s = time.perf_counter()
    subprocess.run(sys.argv[2:], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    best = min(best, time.perf_counter() - s)
print(f"{best:.2f}")' "$@"
}
row() { # row N LABEL ARGS...: one table row, before and after
  local n=$1 label=$2; shift 2
  echo "| $label | $(best "$n" "$BEFORE" "$@") | $(best "$n" "$AFTER" "$@") |"
}
"$AFTER" batch batch.json -q >/dev/null # the containers the no-op runs find
"$AFTER" batch synth.json -q >/dev/null
echo "$(date -u '+%F %H:%M') UTC, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| command | before s | after s |"
echo "|---|---|---|"
M=models/all-MiniLM-L6-v2/model.safetensors
row 3 "convert synth --restarts 1" convert synth synth.emoe --restarts 1 -q
row 3 "convert synth --restarts 1 --json" convert synth synth.emoe --restarts 1 -q --json
row 2 "batch synth.json --force --jobs 1" batch synth.json -q --force --jobs 1
row 3 "batch synth.json (no-op)" batch synth.json -q
row 3 "batch synth.json --json (no-op)" batch synth.json -q --json
row 5 "batch batch.json (no-op)" batch batch.json -q
row 5 "batch batch.json --json (no-op)" batch batch.json -q --json
row 3 "batch cheap.json --force --jobs 1" batch cheap.json -q --force --jobs 1
row 3 "convert MiniLM" convert "$M" minilm.emoe -q
row 3 "convert MiniLM --json" convert "$M" minilm.emoe -q --json
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
