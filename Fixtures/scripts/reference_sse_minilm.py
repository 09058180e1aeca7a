#!/usr/bin/env python3
"""Per-layer reference SSE of balanced k-means on the real all-MiniLM-L6-v2 FFN keys.

Not a make_*.py fixture: it needs the real model (scripts/fetch-models.sh) and takes about a
minute, so check_fixtures.py does not rerun it. Run by hand:

    python3 Fixtures/scripts/reference_sse_minilm.py > Fixtures/clustering_reference/minilm.json

For each of the 6 layers: KMeansConstrained(n_clusters=16, size_min=size_max=96,
random_state=0, max_iter=1000) (n_init 10, n_jobs=1) from PyPI k-means-constrained on the
L2-normalised rows of encoder.layer.N.intermediate.dense.weight (1536 x 384); the SSE is the sum
of squared distances of the normalised keys to their cluster means, rounded to 7 significant
digits. Tests assert emoe-pack's default clustering is no worse on average and within 0.2 % per
layer.
"""
import json
import pathlib
import sys

import numpy as np
from safetensors.numpy import load_file

ROOT = pathlib.Path(__file__).resolve().parents[2]


def main():
    from k_means_constrained import KMeansConstrained
    import k_means_constrained

    path = ROOT / ".cache" / "models" / "all-MiniLM-L6-v2" / "model.safetensors"
    tensors = load_file(str(path))
    layers = []
    for layer in range(6):
        keys = tensors[f"encoder.layer.{layer}.intermediate.dense.weight"].astype(np.float64)
        x = keys / np.linalg.norm(keys, axis=1, keepdims=True)
        model = KMeansConstrained(n_clusters=16, size_min=96, size_max=96, random_state=0,
                                  max_iter=1000, n_jobs=1)
        labels = model.fit_predict(x)
        total = 0.0
        for label in range(16):
            members = x[labels == label]
            total += float(((members - members.mean(axis=0)) ** 2).sum())
        layers.append({"layer": layer, "tensor": f"encoder.layer.{layer}.intermediate.dense.weight",
                       "experts": 16, "reference_sse": float(f"{total:.7g}")})
    json.dump({"model": "all-MiniLM-L6-v2",
               "reference": f"k-means-constrained {k_means_constrained.__version__} "
                            "KMeansConstrained(n_clusters=16, size_min=96, size_max=96, "
                            "random_state=0, max_iter=1000), n_init=10, n_jobs=1",
               "layers": layers}, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
