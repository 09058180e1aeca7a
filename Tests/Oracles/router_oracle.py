"""Independent numpy float64 implementation of EMoE's routers (EMoE_LLaMA/moe_models.py) on the
ORIGINAL fixture checkpoint: scores, top-k mask and the masked FFN output.

Usage: router_oracle.py CASE.json
CASE: {"model": path to model.safetensors, "family": "glu"|"plain", "prefix": tensor-name prefix
of the layer, "permutation": [...], "expert_sizes": [...], "router": "average-key"|"up"|"up-abs"|
"inter"|"inter-abs", "keys": "gate"|"up"|"w1", "router_bias": bool, "top_k": k,
"inputs": [[...], ...], "output": [[...], ...] (ExpertFFN's sparse output to check),
"selected": [[...], ...] (the runner's experts per token, sorted)}
Prints one JSON line: {"ok": bool, "max_rel": float, "selections_equal": bool, ...}.
"""
import json
import math
import sys

import numpy as np
from safetensors.numpy import load_file


def gelu(x):
    erf = np.vectorize(math.erf)
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def silu(x):
    return x / (1.0 + np.exp(-x))


def main():
    case = json.load(open(sys.argv[1]))
    tensors = {k: v.astype(np.float64) for k, v in load_file(case["model"]).items()}
    p = case["prefix"]
    x = np.array(case["inputs"], dtype=np.float64)
    if case["family"] == "glu":
        wg = tensors[p + "mlp.gate_proj.weight"]
        wu = tensors[p + "mlp.up_proj.weight"]
        wd = tensors[p + "mlp.down_proj.weight"]
        bu = np.zeros(wu.shape[0])
        u = x @ wu.T + bu
        g = x @ wg.T
        h = silu(g) * u
        y_bias = 0.0
        key = {"gate": wg, "up": wu}[case["keys"]]
        key_bias = np.zeros(wg.shape[0])
        down = wd
    else:
        w1 = tensors[p + "intermediate.dense.weight"]
        b1 = tensors[p + "intermediate.dense.bias"]
        w2 = tensors[p + "output.dense.weight"]
        b2 = tensors[p + "output.dense.bias"]
        wu, bu = w1, b1
        u = x @ w1.T + b1
        h = gelu(u)
        y_bias = b2
        key, key_bias = w1, b1
        down = w2

    perm = np.array(case["permutation"])
    sizes = case["expert_sizes"]
    starts = np.cumsum([0] + sizes)
    groups = [perm[starts[e]:starts[e + 1]] for e in range(len(sizes))]
    router = case["router"]
    bias = case.get("router_bias", False)
    if router == "average-key":
        R = np.stack([key[g].mean(axis=0) for g in groups])
        scores = x @ R.T + (np.array([key_bias[g].mean() for g in groups]) if bias else 0.0)
    elif router == "up":
        R = np.stack([wu[g].mean(axis=0) for g in groups])
        scores = x @ R.T + (np.array([bu[g].mean() for g in groups]) if bias else 0.0)
    elif router == "up-abs":
        scores = np.stack([np.abs(u[:, g]).mean(axis=1) for g in groups], axis=1)
    elif router == "inter":
        scores = np.stack([h[:, g].mean(axis=1) for g in groups], axis=1)
    elif router == "inter-abs":
        scores = np.stack([np.abs(h[:, g]).mean(axis=1) for g in groups], axis=1)
    else:
        raise SystemExit("unknown router " + router)

    k = case["top_k"]
    tokens, experts = scores.shape
    mask = np.zeros_like(h)
    selected = []
    margins = []
    for t in range(tokens):
        order = sorted(range(experts), key=lambda e: (-scores[t, e], e))
        chosen = sorted(order[:k])
        selected.append(chosen)
        margins.append(float(scores[t, order[k - 1]] - scores[t, order[k]]) if k < experts else 1.0)
        for e in chosen:
            mask[t, groups[e]] = 1.0
    y = (h * mask) @ down.T + y_bias
    out = np.array(case["output"], dtype=np.float64)
    scale = max(np.abs(y).max(), 1e-30)
    max_rel = float(np.abs(out - y).max() / scale)
    equal = selected == case["selected"]
    ok = equal and max_rel <= case.get("rtol", 1e-5)
    print(json.dumps({
        "ok": bool(ok), "max_rel": max_rel, "selections_equal": bool(equal),
        "oracle_selected": selected, "min_margin": min(margins),
        "distinct_selections": len({tuple(s) for s in selected}),
    }))


if __name__ == "__main__":
    main()
