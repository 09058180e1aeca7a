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
import hashlib, json, resource, subprocess, sys, time

def best(run, cpu_clock, times=5):
    """Runs `run` `times` times: its result, the best wall seconds, the best CPU seconds."""
    result, wall, cpu = None, float("inf"), float("inf")
    for _ in range(times):
        start, start_cpu = time.perf_counter(), cpu_clock()
        result = run()
        wall = min(wall, time.perf_counter() - start)
        cpu = min(cpu, cpu_clock() - start_cpu)
    return result, wall, cpu

def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime

rows = [json.loads(line) for line in open(".cache/bench-hash.jsonl")]
print("MB/s, wall clock (CPU time in brackets: MB per CPU second, what one unshared core does)\n")
print("| file | MB | emoe-pack, in memory | emoe-pack, file (as the commands) | sha256sum | "
      "hashlib, in memory | hashlib.file_digest | same digest |")
print("|---|---|---|---|---|---|---|---|")
for path, row in zip(sys.argv[1:], rows):
    data = open(path, "rb").read()
    mb = len(data) / 1e6
    memory, memory_s, memory_cpu = best(lambda: hashlib.sha256(data).hexdigest(), time.thread_time)
    del data
    def from_file():
        with open(path, "rb") as f:
            return hashlib.file_digest(f, "sha256").hexdigest()
    streamed, streamed_s, streamed_cpu = best(from_file, time.thread_time)
    coreutils, coreutils_s, coreutils_cpu = best(lambda: subprocess.run(
        ["sha256sum", path], check=True, capture_output=True, text=True).stdout[:64], children_cpu)
    same = row["sha256"] == memory == streamed == coreutils
    cell = lambda wall, cpu: f"{wall:.0f} ({cpu:.0f})"
    print(f"| {path.split('/')[-1]} | {mb:.1f} | {cell(row['mb_per_s'], row['cpu_mb_per_s'])} | "
          f"{cell(row['file_mb_per_s'], row['file_cpu_mb_per_s'])} | "
          f"{cell(mb / coreutils_s, mb / coreutils_cpu)} | {cell(mb / memory_s, mb / memory_cpu)} | "
          f"{cell(mb / streamed_s, mb / streamed_cpu)} | {'yes' if same else 'NO'} |")
PY
