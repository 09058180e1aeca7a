#!/usr/bin/env python3
"""Golden outputs for the FFN runner (Sources/EMoERunner/FFN), computed independently with numpy.

For every FFN family the runner supports (plain GELU-erf with biases, GPT-2's transposed Conv1D
layout with GELU-tanh, ReLU and SiLU without biases, SiLU-GLU and GELU-GLU) it writes a small
random FFN in its source layout, a permutation into contiguous expert blocks, EMoE's
average-key gate, and in float64 (cast to float32 at the end):

* the dense output y = FFN(x);
* for several k: each token's top-k experts (ties to the lower index) and the masked EMoE
  output (selected blocks summed with weight 1), and for one k the softmax-weighted output.

One more case has integer-valued inputs and a gate with duplicated rows, so scores tie exactly
and only the tie-break rule decides the selection.

Matrix products use np.einsum without BLAS so the bytes do not depend on threading. Raw
little-endian F32 files plus index.json (shapes, inline integer data, tolerances).

Usage: make_ffn_golden.py --out Fixtures/ffn_golden
"""
import argparse
import json
import math
import pathlib

import numpy as np

TOKENS = 12
HIDDEN = 32
NEURONS = 64
EXPERTS = 8

ERF = np.vectorize(math.erf, otypes=[np.float64])


def act(name, v):
    if name == "gelu":
        return 0.5 * v * (1.0 + ERF(v / math.sqrt(2.0)))
    if name == "gelu_tanh":
        return 0.5 * v * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (v + 0.044715 * v ** 3)))
    if name == "relu":
        return np.maximum(v, 0.0)
    if name == "silu":
        return v / (1.0 + np.exp(-v))
    raise ValueError(name)


def mm(a, b_t):
    """a [T, k] times b_t.T where b_t is [m, k]; plain loops via einsum (no BLAS)."""
    return np.einsum("tk,mk->tm", a, b_t, optimize=False)


def hidden_of(case, x, w):
    """Neuron activations [T, n] for weights in output-major (Linear) float64 form."""
    if case["form"] == "plain":
        pre = mm(x, w["w1"])
        if "b1" in w:
            pre = pre + w["b1"]
        return act(case["activation"], pre)
    return act(case["activation"], mm(x, w["wg"])) * mm(x, w["wu"])


def output_of(w, h):
    y = mm(h, w["w2"])
    if "b2" in w:
        y = y + w["b2"]
    return y


def top_k(scores, k):
    order = np.lexsort((np.arange(scores.shape[1])[None, :].repeat(scores.shape[0], 0), -scores))
    # lexsort sorts by the last key first: descending score, then ascending index.
    return order[:, :k]


def make_case(rng, name, form, activation, layout, biases, uneven=False, gate_bias=False):
    x = rng.standard_normal((TOKENS, HIDDEN)).astype(np.float32)
    scale_in = 1.0 / math.sqrt(HIDDEN)
    scale_out = 1.0 / math.sqrt(NEURONS)
    f32 = {}
    if form == "plain":
        f32["w1"] = (rng.standard_normal((NEURONS, HIDDEN)) * scale_in).astype(np.float32)
        f32["w2"] = (rng.standard_normal((HIDDEN, NEURONS)) * scale_out).astype(np.float32)
        if biases:
            f32["b1"] = (rng.standard_normal(NEURONS) * 0.1).astype(np.float32)
            f32["b2"] = (rng.standard_normal(HIDDEN) * 0.1).astype(np.float32)
    else:
        f32["wg"] = (rng.standard_normal((NEURONS, HIDDEN)) * scale_in).astype(np.float32)
        f32["wu"] = (rng.standard_normal((NEURONS, HIDDEN)) * scale_in).astype(np.float32)
        f32["w2"] = (rng.standard_normal((HIDDEN, NEURONS)) * scale_out).astype(np.float32)
    w = {k: v.astype(np.float64) for k, v in f32.items()}
    x64 = x.astype(np.float64)

    if uneven:
        assignment = rng.integers(0, EXPERTS, NEURONS)
        assignment[:EXPERTS] = np.arange(EXPERTS)  # every expert non-empty
    else:
        assignment = rng.permutation(np.repeat(np.arange(EXPERTS), NEURONS // EXPERTS))
    permutation = np.argsort(assignment, kind="stable")
    counts = np.bincount(assignment, minlength=EXPERTS)
    boundaries = np.concatenate([[0], np.cumsum(counts)])

    keys = w["wg"] if form == "gated" else w["w1"]
    gate = np.stack([keys[permutation[boundaries[e]:boundaries[e + 1]]].mean(axis=0)
                     for e in range(EXPERTS)]).astype(np.float32)
    gate_b = None
    if gate_bias:
        gate_b = np.array([w["b1"][permutation[boundaries[e]:boundaries[e + 1]]].mean()
                           for e in range(EXPERTS)]).astype(np.float32)

    dense = output_of(w, hidden_of({"form": form, "activation": activation}, x64, w))

    # The EMoE forward on the permuted weights, exactly as EMOE.md §5 states it.
    wp = dict(w)
    for key in ("w1", "wg", "wu"):
        if key in wp:
            wp[key] = w[key][permutation]
    if "b1" in wp:
        wp["b1"] = w["b1"][permutation]
    wp["w2"] = w["w2"][:, permutation]
    h = hidden_of({"form": form, "activation": activation}, x64, wp)
    scores = mm(x64, gate.astype(np.float64))
    if gate_b is not None:
        scores = scores + gate_b.astype(np.float64)
    block_of = np.repeat(np.arange(EXPERTS), counts)

    ks = [1, 2, EXPERTS // 2, EXPERTS]
    routes = []
    min_gap = math.inf
    for k in ks:
        chosen = top_k(scores, k)
        if k < EXPERTS:
            ranked = -np.sort(-scores, axis=1)
            min_gap = min(min_gap, float((ranked[:, k - 1] - ranked[:, k]).min()))
        mask = np.zeros((TOKENS, EXPERTS))
        np.put_along_axis(mask, chosen, 1.0, axis=1)
        masked = output_of(wp, h * mask[:, block_of])
        route = {"k": k, "selected": chosen.astype(int).tolist(), "masked": masked}
        if k == 2:
            picked = np.take_along_axis(scores, chosen, axis=1)
            e = np.exp(picked - picked.max(axis=1, keepdims=True))
            weights = e / e.sum(axis=1, keepdims=True)
            wmask = np.zeros((TOKENS, EXPERTS))
            np.put_along_axis(wmask, chosen, weights, axis=1)
            route["softmax"] = output_of(wp, h * wmask[:, block_of])
        routes.append(route)
    # Float32 routing must not flip a choice: every k-th/(k+1)-th gap stays far above rounding.
    assert min_gap > 1e-4, (name, min_gap)

    source = {}
    for key, value in f32.items():
        if layout == "conv1d" and key == "w1":
            source["c_fc"] = np.ascontiguousarray(value.T)  # GPT-2 Conv1D: [d, n]
        elif layout == "conv1d" and key == "w2":
            source["c_proj"] = np.ascontiguousarray(value.T)  # [n, d]
        else:
            source[key] = value
    return {
        "name": name, "form": form, "activation": activation, "layout": layout,
        "x": x, "source": source, "permutation": permutation.astype(int).tolist(),
        "boundaries": boundaries.astype(int).tolist(), "gate": gate, "gate_bias": gate_b,
        "dense": dense, "routes": routes, "min_gap": min_gap,
    }


def make_tie_case():
    """Integer inputs and a gate with duplicate rows: exact score ties decide by index."""
    rng = np.random.default_rng(7)
    x = rng.integers(-3, 4, (TOKENS, HIDDEN)).astype(np.float32)
    base = rng.integers(-2, 3, (EXPERTS // 2, HIDDEN)).astype(np.float32)
    gate = base[[0, 1, 0, 2, 3, 1, 2, 3]]  # experts 0/2, 1/5, 3/6, 4/7 always tie
    scores = mm(x.astype(np.float64), gate.astype(np.float64))
    return {"x": x, "gate": gate,
            "routes": [{"k": k, "selected": top_k(scores, k).astype(int).tolist()}
                       for k in (1, 3, 5)]}


def write(out, name, array, dtype):
    data = np.ascontiguousarray(array, dtype=dtype)
    (out / name).write_bytes(data.astype(data.dtype.newbyteorder("<")).tobytes())
    return {"file": name, "shape": list(data.shape)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    out = pathlib.Path(parser.parse_args().out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20240610)
    specs = [
        ("bert_gelu", "plain", "gelu", "linear", True, False, True),
        ("gpt2_gelu_tanh", "plain", "gelu_tanh", "conv1d", True, False, False),
        ("relu_uneven", "plain", "relu", "linear", False, True, False),
        ("silu_plain", "plain", "silu", "linear", False, False, False),
        ("llama_swiglu", "gated", "silu", "linear", False, False, False),
        ("gelu_glu", "gated", "gelu", "linear", False, False, False),
    ]
    cases = []
    for name, form, activation, layout, biases, uneven, gate_bias in specs:
        c = make_case(rng, name, form, activation, layout, biases, uneven, gate_bias)
        entry = {
            "name": name, "form": form, "activation": activation, "layout": layout,
            "tokens": TOKENS, "hidden": HIDDEN, "intermediate": NEURONS, "experts": EXPERTS,
            "permutation": c["permutation"], "boundaries": c["boundaries"],
            "min_score_gap": round(c["min_gap"], 6),
            "x": write(out, f"{name}.x.f32", c["x"], np.float32),
            "source": {k: write(out, f"{name}.{k}.f32", v, np.float32)
                       for k, v in sorted(c["source"].items())},
            "gate": write(out, f"{name}.gate.f32", c["gate"], np.float32),
            "dense": write(out, f"{name}.dense.f32", c["dense"], np.float32),
            "routes": [],
        }
        if c["gate_bias"] is not None:
            entry["gate_bias"] = write(out, f"{name}.gate_bias.f32", c["gate_bias"], np.float32)
        for route in c["routes"]:
            r = {"k": route["k"], "selected": route["selected"],
                 "masked": write(out, f"{name}.k{route['k']}.masked.f32", route["masked"],
                                 np.float32)}
            if "softmax" in route:
                r["softmax"] = write(out, f"{name}.k{route['k']}.softmax.f32", route["softmax"],
                                     np.float32)
            entry["routes"].append(r)
        cases.append(entry)
    tie = make_tie_case()
    index = {
        "generator": "Fixtures/scripts/make_ffn_golden.py",
        "note": "float64 numpy reference cast to float32; raw little-endian files",
        "tolerance": {"max_abs": 1e-4, "relative_to_max": 1e-5},
        "cases": cases,
        "ties": {
            "tokens": TOKENS, "hidden": HIDDEN, "experts": EXPERTS,
            "x": write(out, "ties.x.f32", tie["x"], np.float32),
            "gate": write(out, "ties.gate.f32", tie["gate"], np.float32),
            "routes": tie["routes"],
        },
    }
    (out / "index.json").write_text(json.dumps(index, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
