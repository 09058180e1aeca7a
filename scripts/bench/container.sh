#!/usr/bin/env bash
# The .emoe container benchmark: writes every tensor of the real MiniLM safetensors file and of
# the SmolLM2 Q4_1 GGUF into .emoe files (uncompressed and zstd 1/3/9/19), reads each back with
# full verification, and prints a Markdown table for docs/benchmarks.md. The peer is Python
# safetensors (numpy) saving and loading the same MiniLM tensors in the same run.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${EMOE_BENCH_BIN:-.build/release/emoe-bench}
[ -x "$BIN" ] || swift build -c release --product emoe-bench >/dev/null
OUT=.cache/bench
mkdir -p "$OUT"
"$BIN" container --out "$OUT" "$@" > "$OUT/container.jsonl"
python3 - "$OUT" <<'PY'
import json, pathlib, sys, time
out = pathlib.Path(sys.argv[1])
rows = [json.loads(line) for line in (out / "container.jsonl").read_text().splitlines() if line.strip()]

peer = None
minilm = pathlib.Path(".cache/models/all-MiniLM-L6-v2/model.safetensors")
if minilm.exists():
    from safetensors.numpy import load_file, save_file
    tensors = load_file(str(minilm))
    raw = sum(t.nbytes for t in tensors.values())
    target = out / "peer.safetensors"
    start = time.perf_counter(); save_file(tensors, str(target)); write = time.perf_counter() - start
    start = time.perf_counter(); back = load_file(str(target)); read = time.perf_counter() - start
    assert sum(t.nbytes for t in back.values()) == raw
    target.unlink()
    peer = {"write": raw / 1e6 / write, "read": raw / 1e6 / read}

for row in rows:
    if row["benchmark"] == "container-checksums":
        print(f"Checksum speed over the MiniLM file ({row['bytes'] / 1e6:.1f} MB, in memory): "
              f"XXH64 {row['xxh64_mb_per_s']:.0f} MB/s, SHA-256 {row['sha256_mb_per_s']:.0f} MB/s "
              f"({row['xxh64_mb_per_s'] / row['sha256_mb_per_s']:.0f}x).\n")
print("| model | zstd level | file / source size | write MB/s | verify MB/s | stored/raw by dtype |")
print("|---|---|---|---|---|---|")
for row in rows:
    if row["benchmark"] != "container":
        continue
    level = "none" if row["zstd_level"] is None else str(row["zstd_level"])
    dtypes = ", ".join(f"{k} {v:.3f}" for k, v in row["stored_over_raw_by_dtype"].items())
    print(f"| {row['model']} | {level} | {row['size_ratio']:.3f} ({row['file_bytes'] / 1e6:.1f} MB) "
          f"| {row['write_mb_per_s']:.0f} | {row['verify_mb_per_s']:.0f} | {dtypes} |")
if peer:
    print(f"\nPeer, same run: Python safetensors (numpy) save_file {peer['write']:.0f} MB/s, "
          f"load_file {peer['read']:.0f} MB/s on the MiniLM tensors.")
PY
