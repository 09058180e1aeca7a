#!/usr/bin/env python3
"""Writes the balanced k-means golden under --out (committed as Fixtures/clustering_golden/).

For a few small key sets, the SSE that the reference implementation reaches:
KMeansConstrained(n_clusters=E, size_min=floor(n/E), size_max=ceil(n/E), random_state=0,
max_iter=1000) from PyPI k-means-constrained (n_init left at 10, n_jobs=1), run on the
L2-normalised keys. The SSE is the sum of squared distances of the normalised keys to their
cluster means, rounded to 7 significant digits so the bytes do not depend on the last bits of the
platform's float64 arithmetic. Swift tests assert emoe-pack's SSE <= reference x 1.002 per set.

Key sets: every FFN layer of the fixture models in Fixtures/models (BERT intermediate.dense
rows, GPT-2 c_fc columns, LLaMA gate_proj rows) and synthetic.f32, 300 x 40 clustered keys that
do not divide into 16 equal experts (sizes 18 and 19).

Needs numpy, safetensors and k-means-constrained; runs in a few seconds.
"""
import argparse
import json
import pathlib

import numpy as np
from safetensors.numpy import load_file

MODELS = pathlib.Path(__file__).resolve().parent.parent / "models"


def normalised(keys):
    keys = keys.astype(np.float64)
    norms = np.linalg.norm(keys, axis=1, keepdims=True)
    return keys / np.where(norms == 0, 1, norms)


def sse(x, labels):
    total = 0.0
    for label in np.unique(labels):
        members = x[labels == label]
        total += float(((members - members.mean(axis=0)) ** 2).sum())
    return total


def reference_sse(keys, experts):
    from k_means_constrained import KMeansConstrained

    x = normalised(keys)
    n = x.shape[0]
    model = KMeansConstrained(n_clusters=experts, size_min=n // experts,
                              size_max=-(-n // experts), random_state=0, max_iter=1000,
                              n_jobs=1)
    labels = model.fit_predict(x)
    sizes = np.bincount(labels, minlength=experts)
    assert sizes.min() >= n // experts and sizes.max() <= -(-n // experts)
    return float(f"{sse(x, labels):.7g}")


def key_sets():
    sets = []
    for layer in range(2):
        t = load_file(str(MODELS / "bert-tiny" / "model.safetensors"))
        name = f"encoder.layer.{layer}.intermediate.dense.weight"
        sets.append(({"model": "bert-tiny", "layer": layer, "tensor": name}, t[name], 16))
    for layer in range(2):
        t = load_file(str(MODELS / "gpt2-tiny" / "model.safetensors"))
        name = f"h.{layer}.mlp.c_fc.weight"
        sets.append(({"model": "gpt2-tiny", "layer": layer, "tensor": name}, t[name].T, 16))
    t = load_file(str(MODELS / "llama-tiny" / "model.safetensors"))
    for layer in range(4):
        name = f"model.layers.{layer}.mlp.gate_proj.weight"
        sets.append(({"model": "llama-tiny", "layer": layer, "tensor": name}, t[name], 16))
    name = "model.layers.3.mlp.gate_proj.weight"
    sets.append(({"model": "llama-tiny", "layer": 3, "tensor": name}, t[name], 64))
    name = "model.layers.3.mlp.up_proj.weight"
    sets.append(({"model": "llama-tiny", "layer": 3, "tensor": name}, t[name], 16))
    return sets


def synthetic():
    rng = np.random.default_rng(2024)
    centres = rng.standard_normal((20, 40))
    labels = rng.integers(0, 20, size=300)
    keys = centres[labels] + rng.standard_normal((300, 40)) * 0.8
    return keys.astype("<f4")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=pathlib.Path)
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    entries = []
    for source, keys, experts in key_sets():
        entries.append({"source": source, "rows": int(keys.shape[0]), "cols": int(keys.shape[1]),
                        "experts": experts, "reference_sse": reference_sse(keys, experts)})
    keys = synthetic()
    (out / "synthetic.f32").write_bytes(keys.tobytes())
    entries.append({"source": {"file": "synthetic.f32"}, "rows": 300, "cols": 40, "experts": 16,
                    "reference_sse": reference_sse(keys, 16)})
    golden = {
        "reference": "k-means-constrained KMeansConstrained(n_clusters=E, size_min=floor(n/E), "
                     "size_max=ceil(n/E), random_state=0, max_iter=1000), n_init=10, n_jobs=1",
        "tolerance": 1.002,
        "sets": entries,
    }
    (out / "golden.json").write_text(json.dumps(golden, indent=1) + "\n")


if __name__ == "__main__":
    main()
