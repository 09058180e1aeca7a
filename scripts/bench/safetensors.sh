#!/usr/bin/env bash
# Reading safetensors: emoe-pack against the Python `safetensors` package on the MiniLM checkpoint.
#
# Each configuration runs in a fresh process (so peak RSS is its own), best of RUNS runs:
#   emoe-pack         emoe-bench safetensors-read: map, validate, stream every tensor's bytes
#   python safe_open  safe_open(framework="np"), get_tensor one at a time
#   python load_file  safetensors.numpy.load_file, then each array
# all summing every data byte as uint64 (the sums must agree), warm (page cache hot) and cold-ish
# (the file's pages dropped with posix_fadvise(DONTNEED) before each run).
#
# Usage: scripts/bench/safetensors.sh [FILE]     (RUNS=7 by default; EMOE_BENCH=path overrides
#        the emoe-bench binary, otherwise the release build's is used, built if missing)
set -euo pipefail
cd "$(dirname "$0")/../.."
FILE=${1:-.cache/models/all-MiniLM-L6-v2/model.safetensors}
RUNS=${RUNS:-7}
BENCH=${EMOE_BENCH:-$(swift build -c release --show-bin-path)/emoe-bench}
if [ ! -x "$BENCH" ]; then
  swift build -c release --product emoe-bench >/dev/null
fi
[ -f "$FILE" ] || { echo "missing $FILE (run scripts/fetch-models.sh)" >&2; exit 1; }

python3 - "$BENCH" "$FILE" "$RUNS" <<'PY'
import json
import os
import subprocess
import sys

bench, path, runs = sys.argv[1], sys.argv[2], sys.argv[3]
# numpy is measured without the OpenBLAS overrides this machine sets for old builds (they only
# slow numpy down; a byte sum does not use BLAS either way).
python_env = {k: v for k, v in os.environ.items()
              if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}

def summary(command, env=None):
    output = subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout
    return [json.loads(line) for line in output.splitlines() if line.strip()][-1]

rows = []
for cold in (False, True):
    flag = ["--cold"] if cold else []
    rows.append(("emoe-pack", cold,
                 summary([bench, "safetensors-read", path, "--runs", runs] + flag)))
    for mode in ("safe_open", "load_file"):
        rows.append((f"python {mode}", cold, summary(
            [sys.executable, "scripts/bench/safetensors_read.py", path, "--mode", mode,
             "--runs", runs] + flag, env=python_env)))

sums = {row[2]["byte_sum"] for row in rows}
if len(sums) != 1:
    sys.exit(f"byte sums disagree: {sums}")
file_bytes = os.path.getsize(path)
print(f"file: {path} ({file_bytes / 1e6:.1f} MB), best of {runs} runs, byte sum {sums.pop()}")
print()
print("| implementation | cache | best time (ms) | GB/s | peak RSS (MB) | time vs emoe-pack | RSS vs file |")
print("|---|---|---|---|---|---|---|")
for name, cold, result in rows:
    ours = next(r for n, c, r in rows if n == "emoe-pack" and c == cold)
    ms = result["best_total_ms"]
    rss = result["peak_rss_bytes"]
    print(f"| {name} | {'cold' if cold else 'warm'} | {ms:.1f} | {file_bytes / ms / 1e6:.2f} | "
          f"{rss / 1e6:.1f} | {ms / ours['best_total_ms']:.2f}x | {rss / file_bytes:.2f} |")
PY
