#!/usr/bin/env python3
"""Key extraction and the k-means-constrained reference for scripts/bench/clustering.sh.

  extract --out DIR            writes every FFN key matrix of the two real models as raw
                               little-endian F32 (rows = keys) plus DIR/manifest.json:
                               MiniLM intermediate.dense.weight (E = 16) and SmolLM2's Q4_1
                               blk.N.ffn_gate.weight dequantised with gguf (E = 64).
  reference --keys F --rows N --cols D --experts E [--n-init 10] [--max-iter 1000]
                               runs KMeansConstrained(n_clusters=E, size_min=size_max=N/E,
                               random_state=0, max_iter, n_init, n_jobs=1) on the L2-normalised
                               keys; prints JSON with the SSE (sum of squared distances of the
                               normalised keys to their cluster means) and the seconds taken.
"""
import argparse
import json
import pathlib
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]


def extract(out: pathlib.Path, models: pathlib.Path):
    from safetensors.numpy import load_file
    import gguf

    out.mkdir(parents=True, exist_ok=True)
    entries = []
    tensors = load_file(str(models / "all-MiniLM-L6-v2" / "model.safetensors"))
    for layer in range(6):
        keys = tensors[f"encoder.layer.{layer}.intermediate.dense.weight"].astype(np.float32)
        name = f"minilm-L{layer}.f32"
        keys.tofile(out / name)
        entries.append({"model": "MiniLM", "layer": layer, "file": name,
                        "rows": keys.shape[0], "cols": keys.shape[1], "experts": 16})
    reader = gguf.GGUFReader(str(models / "SmolLM2-135M-Instruct.Q4_1.gguf"))
    by_name = {t.name: t for t in reader.tensors}
    layer = 0
    while f"blk.{layer}.ffn_gate.weight" in by_name:
        t = by_name[f"blk.{layer}.ffn_gate.weight"]
        keys = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32)
        keys = keys.reshape(int(t.shape[1]), int(t.shape[0]))  # ne = [d, n]: n rows of d
        name = f"smollm2-L{layer}.f32"
        keys.tofile(out / name)
        entries.append({"model": "SmolLM2", "layer": layer, "file": name,
                        "rows": keys.shape[0], "cols": keys.shape[1], "experts": 64})
        layer += 1
    (out / "manifest.json").write_text(json.dumps(entries, indent=1) + "\n")


def normalised(path, rows, cols):
    keys = np.fromfile(path, dtype=np.float32).reshape(rows, cols).astype(np.float64)
    norms = np.linalg.norm(keys, axis=1, keepdims=True)
    return keys / np.where(norms == 0, 1, norms)


def sse(x, labels):
    total = 0.0
    for label in np.unique(labels):
        members = x[labels == label]
        total += float(((members - members.mean(axis=0)) ** 2).sum())
    return total


def reference(args):
    from k_means_constrained import KMeansConstrained

    x = normalised(args.keys, args.rows, args.cols)
    size = args.rows // args.experts
    model = KMeansConstrained(n_clusters=args.experts, size_min=size, size_max=size,
                              random_state=0, max_iter=args.max_iter, n_init=args.n_init,
                              n_jobs=1)
    started = time.perf_counter()
    labels = model.fit_predict(x)
    seconds = time.perf_counter() - started
    print(json.dumps({"sse": sse(x, labels), "seconds": seconds, "n_init": args.n_init}))


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    e = sub.add_parser("extract")
    e.add_argument("--out", type=pathlib.Path, required=True)
    e.add_argument("--models", type=pathlib.Path, default=ROOT / ".cache" / "models")
    r = sub.add_parser("reference")
    r.add_argument("--keys", required=True)
    r.add_argument("--rows", type=int, required=True)
    r.add_argument("--cols", type=int, required=True)
    r.add_argument("--experts", type=int, required=True)
    r.add_argument("--n-init", type=int, default=10)
    r.add_argument("--max-iter", type=int, default=1000)
    args = parser.parse_args()
    if args.command == "extract":
        extract(args.out, args.models)
    else:
        reference(args)


if __name__ == "__main__":
    sys.exit(main())
