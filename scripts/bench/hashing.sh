#!/usr/bin/env bash
# SHA-256 throughput (the provenance hash) against coreutils' sha256sum and Python's hashlib
# (OpenSSL) on the same files in the same run, best of 5 each, every file in the page cache.
# Files: a 1.3 GB file of random bytes (made once in .cache/bench/) and the two real models, or
# the files given as arguments. Prints a Markdown table for docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${EMOE_BENCH_BIN:-.build/release/emoe-bench}
[ -x "$BIN" ] || swift build -c release --product emoe-bench >/dev/null
if [ $# -gt 0 ]; then
  FILES=("$@")
else
  BIG=.cache/bench/random-1300MB.bin
  if [ ! -f "$BIG" ]; then
    mkdir -p .cache/bench
    head -c 1300000000 /dev/urandom > "$BIG.tmp" && mv "$BIG.tmp" "$BIG"
  fi
  FILES=("$BIG" .cache/models/all-MiniLM-L6-v2/model.safetensors
    .cache/models/SmolLM2-135M-Instruct.Q4_1.gguf)
fi
"$BIN" hash "${FILES[@]}" > .cache/bench-hash.jsonl
python3 - "${FILES[@]}" <<'PY'
import hashlib, json, subprocess, sys, time

def best(run, times=5):
    result, seconds = None, float("inf")
    for _ in range(times):
        start = time.perf_counter()
        result = run()
        seconds = min(seconds, time.perf_counter() - start)
    return result, seconds

rows = [json.loads(line) for line in open(".cache/bench-hash.jsonl")]
print("| file | MB | emoe-pack, in memory | emoe-pack, file (as the commands) | sha256sum | "
      "hashlib, in memory | hashlib.file_digest | same digest |")
print("|---|---|---|---|---|---|---|---|")
for path, row in zip(sys.argv[1:], rows):
    data = open(path, "rb").read()
    mb = len(data) / 1e6
    memory, memory_s = best(lambda: hashlib.sha256(data).hexdigest())
    del data
    def from_file():
        with open(path, "rb") as f:
            return hashlib.file_digest(f, "sha256").hexdigest()
    streamed, streamed_s = best(from_file)
    coreutils, coreutils_s = best(lambda: subprocess.run(
        ["sha256sum", path], check=True, capture_output=True, text=True).stdout[:64])
    same = row["sha256"] == memory == streamed == coreutils
    print(f"| {path.split('/')[-1]} | {mb:.1f} | {row['mb_per_s']:.0f} | "
          f"{row['file_mb_per_s']:.0f} | {mb / coreutils_s:.0f} | {mb / memory_s:.0f} | "
          f"{mb / streamed_s:.0f} | {'yes' if same else 'NO'} |")
PY
