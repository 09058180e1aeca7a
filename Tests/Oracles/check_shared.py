"""Computes, with numpy in float64 from the ORIGINAL source tensors, the EMoE FFN of one layer
converted with a given neuron grouping (an always-active shared block and routed experts), as
an oracle independent of emoe-pack.

The grouping labels every original neuron with its routed expert (0..E-1) or -1 (shared). The
router is the mean of the raw keys (W1 rows for plain FFNs, Wg rows for GLU, Wu rows when the
keys are "up") of each routed expert; each token selects the top-k experts by score x . R[e]
(ties to the lower index); the output is the shared neurons plus the selected experts' neurons
(unit weights), i.e. the dense FFN with the unselected experts' neurons masked to zero.

The container is read only for the names of the layer's source tensors and its record; every
value comes from the source file.

usage: check_shared.py SOURCE CONTAINER LAYER GROUPING_JSON TOPK INPUTS_JSON
prints {"ok": true, "masked": [...], "dense": [...], "selection": [[...], ...],
        "router": [...]} (row-major, tokens x d)
"""
import json
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_container import Source  # noqa: E402
from emoe_reader import Container  # noqa: E402


def act(name, x):
    if name == "gelu":
        erf = np.vectorize(math.erf)
        return 0.5 * x * (1 + erf(x / math.sqrt(2)))
    if name == "gelu_tanh":
        return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    if name == "relu":
        return np.maximum(x, 0)
    if name == "silu":
        return x / (1 + np.exp(-x))
    raise ValueError(name)


def fail(message):
    print(json.dumps({"ok": False, "error": message}))
    sys.exit(1)


def main():
    source = Source(sys.argv[1])
    container = Container(sys.argv[2])
    layer = int(sys.argv[3])
    grouping = json.loads(sys.argv[4])
    top_k = int(sys.argv[5])
    inputs = np.array(json.loads(sys.argv[6]), dtype=np.float64)
    record = next((r for r in container.layers if r["layer"] == layer), None)
    if record is None:
        fail(f"layer {layer} is not converted")
    d, n = record["d"], record["n"]
    labels = np.array(grouping["assignment"], dtype=np.int64)
    experts = int(grouping["experts"])
    if labels.shape != (n,):
        fail(f"the grouping labels {labels.shape[0]} neurons, the layer has {n}")
    x = inputs.reshape(-1, d)
    old_names = {"gate": "router", "gate_bias": "router_bias"}
    roles = {old_names.get(role, role): name for role, name in record["tensors"].items()}
    names = {role: container.entries[name]["source"]["name"] for role, name in roles.items()
             if "source" in container.entries[name]}

    def value(role):
        return source.values(names[role])

    # Per-neuron hidden activations h[t, i] in ORIGINAL neuron order, and the down matrix as
    # [n, d] (row i = the output of neuron i).
    if record["family"] == "glu":
        wg, wu, wd = value("wg"), value("wu"), value("wd")  # [n, d], [n, d], [d, n]
        hidden = act(record["activation"], x @ wg.T) * (x @ wu.T)
        down = wd.T
        bias_out = 0
        key_matrix = wu if grouping["keys"] == "up" else wg
    else:
        w1, w2 = value("w1"), value("w2")
        b1 = value("b1") if "b1" in names else np.zeros(n)
        bias_out = value("b2") if "b2" in names else 0
        if record["transposed_source"]:  # Conv1D: c_fc [d, n], c_proj [n, d]
            w1, down = w1.T, w2
        else:
            down = w2.T
        hidden = act(record["activation"], x @ w1.T + b1)
        key_matrix = w1
    router = np.stack([key_matrix[labels == e].mean(axis=0) for e in range(experts)])
    scores = x @ router.T
    selection = []
    mask = np.zeros_like(hidden)
    for t in range(x.shape[0]):
        order = sorted(range(experts), key=lambda e: (-scores[t, e], e))
        chosen = sorted(order[:top_k])
        selection.append(chosen)
        keep = (labels == -1) | np.isin(labels, chosen)
        mask[t, keep] = 1
    masked = (hidden * mask) @ down + bias_out
    dense = hidden @ down + bias_out
    print(json.dumps({"ok": True, "masked": masked.reshape(-1).tolist(),
                      "dense": dense.reshape(-1).tolist(), "selection": selection,
                      "router": router.reshape(-1).tolist()}))


if __name__ == "__main__":
    main()
