#!/usr/bin/env bash
# SHA-256 throughput (the provenance hash) against Python's hashlib (OpenSSL) on the same files
# in the same run, both reading from memory. Prints a Markdown table for docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${EMOE_BENCH_BIN:-.build/release/emoe-bench}
[ -x "$BIN" ] || swift build -c release --product emoe-bench >/dev/null
FILES=(.cache/models/all-MiniLM-L6-v2/model.safetensors .cache/models/SmolLM2-135M-Instruct.Q4_1.gguf)
"$BIN" hash "${FILES[@]}" > .cache/bench-hash.jsonl
python3 - "${FILES[@]}" <<'PY'
import hashlib, json, sys, time
rows = [json.loads(l) for l in open(".cache/bench-hash.jsonl")]
print("| file | MB | emoe-pack MB/s | hashlib MB/s | ratio | same digest |")
print("|---|---|---|---|---|---|")
for path, row in zip(sys.argv[1:], rows):
    data = open(path, "rb").read()
    best = min(
        (lambda s: (hashlib.sha256(data).hexdigest(), time.perf_counter() - s))(time.perf_counter())[1]
        for _ in range(5))
    peer = len(data) / 1e6 / best
    same = hashlib.sha256(data).hexdigest() == row["sha256"]
    print(f"| {path.split('/')[-1]} | {len(data)/1e6:.1f} | {row['mb_per_s']:.0f} | {peer:.0f} | "
          f"{row['mb_per_s']/peer:.2f} | {same} |")
PY
