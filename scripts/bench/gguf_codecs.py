#!/usr/bin/env python3
"""The Python peer of `emoe-bench gguf-codecs`: the same workloads with gguf-py (`gguf.quants`,
numpy), printing one JSON object per measurement with the same fields and checksums.

Workloads, from SmolLM2-135M-Instruct's 90 FFN tensors (Q4_1):
  q4_1_dequantize  the tensors' Q4_1 bytes to F32, tensor by tensor;
  q6_k_dequantize  the same bytes (concatenated) cut into 210-byte Q6_K blocks, each with the
                   F16 scale 0x2000 | (block % 1024) written at bytes 208..209;
  q8_0_quantize    the tensors' F32 values to Q8_0, tensor by tensor.
Each figure is the best of --runs passes; throughput counts F32 bytes.

Usage: gguf_codecs.py [--model SMOLLM2.gguf] [--runs N]
"""
import argparse
import hashlib
import json
import time

import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q, quants


def best_of(runs, body):
    body()
    best = float("inf")
    result = None
    for _ in range(runs):
        start = time.perf_counter()
        result = body()
        best = min(best, time.perf_counter() - start)
    return best, result


def report(op, values, seconds, checksum):
    print(json.dumps({"benchmark": "gguf-codecs", "implementation": "gguf-py", "op": op,
                      "threads": 1, "values": values, "seconds": seconds,
                      "f32_gb_per_s": values * 4 / 1e9 / seconds, "checksum": checksum}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=".cache/models/SmolLM2-135M-Instruct.Q4_1.gguf")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    reader = gguf.GGUFReader(args.model)
    ffn = [t for t in reader.tensors if t.tensor_type == Q.Q4_1 and "ffn_" in t.name]
    q41 = [np.array(t.data) for t in ffn]
    values = sum(a.size for a in q41) // 20 * 32

    seconds, out = best_of(args.runs, lambda: [quants.dequantize(a, Q.Q4_1) for a in q41])
    floats = out
    digest = hashlib.sha256(b"".join(np.ascontiguousarray(f, "<f4").tobytes() for f in out))
    report("q4_1_dequantize", values, seconds, digest.hexdigest())

    raw = np.concatenate([a.reshape(-1) for a in q41])
    blocks = raw[: raw.size // 210 * 210].reshape(-1, 210).copy()
    scales = (0x2000 | (np.arange(blocks.shape[0]) % 1024)).astype("<u2")
    blocks[:, 208:210] = scales.view(np.uint8).reshape(-1, 2)
    seconds, out = best_of(args.runs, lambda: quants.dequantize(blocks, Q.Q6_K))
    report("q6_k_dequantize", blocks.shape[0] * 256, seconds,
           hashlib.sha256(np.ascontiguousarray(out, "<f4").tobytes()).hexdigest())

    seconds, out = best_of(args.runs, lambda: [quants.quantize(f, Q.Q8_0) for f in floats])
    report("q8_0_quantize", values, seconds,
           hashlib.sha256(b"".join(o.tobytes() for o in out)).hexdigest())


if __name__ == "__main__":
    main()
