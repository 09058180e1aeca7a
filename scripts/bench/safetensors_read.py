#!/usr/bin/env python3
"""Python peer of `emoe-bench safetensors-read`: loads a safetensors file with the `safetensors`
package and sums every tensor's bytes as uint64, timing it; prints one JSON object per run and a
summary with the process's peak RSS (ru_maxrss).

Usage: safetensors_read.py FILE [--mode load_file|safe_open] [--runs N] [--cold]

  load_file  safetensors.numpy.load_file(FILE), then sum each array's bytes
  safe_open  safe_open(FILE, framework="np"), get_tensor(name) one at a time, summing each
  --cold     drop the file's cached pages before each run (posix_fadvise DONTNEED)
"""
import argparse
import json
import os
import resource
import time

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file


def byte_sum(array):
    return int(np.ascontiguousarray(array).view(np.uint8).sum(dtype=np.uint64))


def drop_cache(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fdatasync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def run_once(path, mode):
    total = 0
    count = 0
    if mode == "load_file":
        tensors = load_file(path)
        for array in tensors.values():
            total += byte_sum(array)
            count += 1
        del tensors
    else:
        with safe_open(path, framework="np") as handle:
            for name in handle.offset_keys():
                total += byte_sum(handle.get_tensor(name))
                count += 1
    return total, count


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("file")
    parser.add_argument("--mode", choices=["load_file", "safe_open"], default="safe_open")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cold", action="store_true")
    args = parser.parse_args()
    best = float("inf")
    checksum = 0
    count = 0
    for run in range(1, args.runs + 1):
        if args.cold:
            drop_cache(args.file)
        start = time.perf_counter()
        checksum, count = run_once(args.file, args.mode)
        elapsed = time.perf_counter() - start
        best = min(best, elapsed)
        print(json.dumps({"benchmark": "safetensors-read", "implementation": "python-" + args.mode,
                          "run": run, "cold": args.cold, "total_ms": elapsed * 1000,
                          "byte_sum": checksum}))
    print(json.dumps({
        "benchmark": "safetensors-read", "implementation": "python-" + args.mode, "summary": True,
        "file": args.file, "file_bytes": os.path.getsize(args.file), "tensors": count,
        "runs": args.runs, "cold": args.cold, "best_total_ms": best * 1000,
        "byte_sum": checksum,
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }))


if __name__ == "__main__":
    main()
