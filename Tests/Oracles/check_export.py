"""Checks a `emoe-pack export` result against the SOURCE model with numpy, independently of
emoe-pack.

safetensors (dense layout): the folder loads with the `safetensors` package, holds every source
tensor name with its shape, config.json carries n_expert/topk/emoe, and for every converted layer
the FFN computed from the export equals the FFN computed from the source on random inputs
(float64, relative tolerance 1e-9: only the order of the sum over neurons changes).
safetensors (experts layout): the stacked experts summed over all experts (k = E) equal the
source FFN, and the gate is the mean of each expert's keys.
gguf: the file reads with gguf.GGUFReader, has the llama.cpp MoE tensors and keys, and the MoE
FFN as llama.cpp computes it (softmax router, renormalised top-k weights, plus the shared expert
of ernie4_5-moe) equals the source FFN at k = E; ernie4_5-moe's leading dense layers compute the
source FFN.

usage: check_export.py SOURCE CONTAINER EXPORT (safetensors|experts|gguf) [LAYERS]
(LAYERS: comma-separated layers to compute, gguf only; default all)
"""
import json
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_container import Source  # noqa: E402
from emoe_reader import Container  # noqa: E402

RTOL = 1e-9


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


def ffn(record, get, x):
    """The dense FFN of a layer from tensors in SOURCE layout (`get(role)` by source name)."""
    if record["family"] == "glu":
        wg, wu, wd = get("wg"), get("wu"), get("wd")
        return (act(record["activation"], x @ wg.T) * (x @ wu.T)) @ wd.T
    w1, w2 = get("w1"), get("w2")
    b1 = get("b1") if "b1" in record["tensors"] else 0
    b2 = get("b2") if "b2" in record["tensors"] else 0
    if record["transposed_source"]:  # Conv1D: c_fc [d, n], c_proj [n, d]
        return act(record["activation"], x @ w1 + b1) @ w2 + b2
    return act(record["activation"], x @ w1.T + b1) @ w2.T + b2


def close(a, b, what):
    error = float(np.max(np.abs(a - b)))
    scale = float(np.max(np.abs(b))) or 1.0
    if error > RTOL * scale * 10 + 1e-12:
        fail(f"{what}: export differs from the source by {error} (scale {scale})")
    return error


def check_safetensors(source, container, folder, layout):
    from safetensors.numpy import load_file
    index = os.path.join(folder, "model.safetensors.index.json")
    files = ([os.path.join(folder, f) for f in sorted(set(json.load(open(index))["weight_map"].values()))]
             if os.path.exists(index) else [os.path.join(folder, "model.safetensors")])
    tensors = {}
    for file in files:
        tensors.update(load_file(file))
    config = json.load(open(os.path.join(folder, "config.json")))
    records = container.layers
    first = records[0]
    if config.get("n_expert") != first["experts"] or config.get("topk") != first["top_k"]:
        fail("config.json lacks n_expert/topk")
    if config["emoe"]["layers"] != sorted(r["layer"] for r in records):
        fail("config.json emoe.layers differ from the container's")
    rng = np.random.default_rng(0)
    errors = {}
    for record in records:
        names = {role: container.entries[name]["source"]["name"] for role, name in record["tensors"].items()
                 if "source" in container.entries[name]}
        x = rng.standard_normal((5, record["d"]))
        expected = ffn(record, lambda role: source.values(names[role]), x)
        if layout == "safetensors":
            for role, name in names.items():
                if name not in tensors or tuple(tensors[name].shape) != tuple(
                        container.entries[record["tensors"][role]]["source"]["shape"]):
                    fail(f"{name} missing or misshapen in the export")
            got = ffn(record, lambda role: tensors[names[role]].astype(np.float64), x)
        else:
            def stacked(role):
                name = names[role]
                parts = name.split(".")
                return tensors[".".join(parts[:-2] + ["experts"] + parts[-2:])].astype(np.float64)
            def shared_module(role):
                # The always-active shared block, `shared_expert` before the module name.
                parts = names[role].split(".")
                return tensors[".".join(parts[:-2] + ["shared_expert"] + parts[-2:])].astype(np.float64)
            shared = record.get("shared", 0)
            experts, size = record["experts"], (record["n"] - shared) // record["experts"]
            if record["family"] == "glu":
                wg, wu, wd = stacked("wg"), stacked("wu"), stacked("wd")
                got = sum((act(record["activation"], x @ wg[e].T) * (x @ wu[e].T)) @ wd[e].T
                          for e in range(experts))
                if shared:
                    sg, su, sd = shared_module("wg"), shared_module("wu"), shared_module("wd")
                    if sg.shape != (shared, record["d"]) or sd.shape != (record["d"], shared):
                        fail(f"layer {record['layer']}: shared block tensors are misshapen")
                    got = got + (act(record["activation"], x @ sg.T) * (x @ su.T)) @ sd.T
                keys, key_name = wg.reshape(-1, record["d"]), names["wg"]
            else:
                w1, w2 = stacked("w1"), stacked("w2")
                b1 = stacked("b1") if "b1" in names else np.zeros((experts, size))
                b2 = tensors[names["b2"]].astype(np.float64) if "b2" in names else 0
                got = sum(act(record["activation"], x @ w1[e].T + b1[e]) @ w2[e].T
                          for e in range(experts)) + b2
                if shared:
                    s1, s2 = shared_module("w1"), shared_module("w2")
                    sb1 = shared_module("b1") if "b1" in names else np.zeros(shared)
                    got = got + act(record["activation"], x @ s1.T + sb1) @ s2.T
                keys, key_name = w1.reshape(-1, record["d"]), names["w1"]
            gate_name = ".".join(key_name.split(".")[:-2] + ["gate", "weight"])
            gate = tensors[gate_name].astype(np.float64)
            expected_gate = keys.reshape(experts, size, record["d"]).mean(axis=1)
            if not np.allclose(gate, expected_gate, rtol=1e-6, atol=1e-7):
                fail(f"{gate_name} is not the mean of each expert's keys")
        errors[record["layer"]] = close(got, expected, f"layer {record['layer']} FFN")
    converted = {container.entries[n]["source"]["name"] for r in records for n in r["tensors"].values()
                 if "source" in container.entries[n]}
    for name in source.names():
        if name in converted:
            continue
        if name not in tensors:
            fail(f"source tensor {name} is missing from the export")
        if not np.array_equal(tensors[name].astype(np.float64), source.values(name)):
            fail(f"passthrough tensor {name} changed")
    print(json.dumps({"ok": True, "layers": errors, "tensors": len(tensors)}))


def check_gguf(source, container, path, only=None):
    import gguf
    reader = gguf.GGUFReader(path)
    fields = reader.fields

    def value(key, default=None):
        if key not in fields:
            if default is not None:
                return default
            fail(f"key {key} is missing")
        field = fields[key]
        return field.parts[field.data[0]].tolist()[0] if field.types[0] != gguf.GGUFValueType.STRING else \
            bytes(field.parts[field.data[0]]).decode()
    tensors = {t.name: t for t in reader.tensors}
    arch = value("general.architecture")
    if arch not in ("llama", "ernie4_5-moe"):
        fail(f"general.architecture {arch} is neither llama nor ernie4_5-moe")
    experts = value(arch + ".expert_count")
    used = value(arch + ".expert_used_count")
    blocks = value(arch + ".block_count")
    first = container.layers[0]
    if arch == "llama":
        n_ff, lead, shared = value("llama.feed_forward_length"), 0, 0
        if n_ff * experts != first["n"]:
            fail(f"expert_count {experts} / feed_forward_length {n_ff} do not match the container")
    else:
        # Dense leading layers, then MoE layers with an optional ungated shared expert.
        n_ff = value(arch + ".expert_feed_forward_length")
        lead = value(arch + ".leading_dense_block_count")
        shared = value(arch + ".expert_shared_feed_forward_length", 0)
        if value(arch + ".interleave_moe_layer_step") != 1 or value(arch + ".feed_forward_length") != first["n"]:
            fail("interleave_moe_layer_step is not 1 or feed_forward_length is not the dense width")
        if lead != min(layer["layer"] for layer in container.layers):
            fail(f"leading_dense_block_count {lead} is not the first converted layer")
        if n_ff * experts + first.get("shared", 0) != first["n"]:
            fail(f"expert_count {experts} / expert_feed_forward_length {n_ff} do not match the container")
    if experts != first["experts"]:
        fail(f"expert_count {experts} does not match the container")
    if "emoe.layers" not in fields or "emoe.top_k" not in fields:
        fail("the emoe.* keys are missing")
    rng = np.random.default_rng(0)
    errors = {}

    def array(name, shape):
        tensor = tensors.get(name)
        if tensor is None or list(reversed(tensor.shape.tolist())) != shape:
            fail(f"{name} is missing or not of numpy shape {shape}")
        return np.asarray(gguf.quants.dequantize(tensor.data, tensor.tensor_type),
                          dtype=np.float64).reshape(shape)
    d = first["d"]
    for layer in range(blocks):
        if only is not None and layer not in only:
            continue
        prefix = f"blk.{layer}."
        x = rng.standard_normal((3, d))
        wg = source.values(prefix + "ffn_gate.weight")
        wu = source.values(prefix + "ffn_up.weight")
        wd = source.values(prefix + "ffn_down.weight")
        expected = (act("silu", x @ wg.T) * (x @ wu.T)) @ wd.T
        if layer < lead:
            got_wg = array(prefix + "ffn_gate.weight", list(wg.shape))
            got_wu = array(prefix + "ffn_up.weight", list(wu.shape))
            got_wd = array(prefix + "ffn_down.weight", list(wd.shape))
            got = (act("silu", x @ got_wg.T) * (x @ got_wu.T)) @ got_wd.T
            errors[layer] = close(got, expected, f"dense leading layer {layer}")
            continue
        for name in ("ffn_gate", "ffn_up", "ffn_down"):
            if prefix + name + ".weight" in tensors:
                fail(f"dense {prefix}{name}.weight is still in the file")
        shapes = {"ffn_gate_inp": [experts, d], "ffn_gate_exps": [experts, n_ff, d],
                  "ffn_up_exps": [experts, n_ff, d], "ffn_down_exps": [experts, d, n_ff]}
        arrays = {name: array(prefix + name + ".weight", shape) for name, shape in shapes.items()}
        logits = x @ arrays["ffn_gate_inp"].T
        probs = np.exp(logits - logits.max(axis=1, keepdims=True))
        probs /= probs.sum(axis=1, keepdims=True)
        top = np.argsort(-probs, axis=1, kind="stable")[:, :used]
        got = np.zeros((3, d))
        for row in range(3):
            weights = probs[row, top[row]] / probs[row, top[row]].sum()
            for weight, e in zip(weights, top[row]):
                h = act("silu", arrays["ffn_gate_exps"][e] @ x[row]) * (arrays["ffn_up_exps"][e] @ x[row])
                got[row] += weight * (arrays["ffn_down_exps"][e] @ h)
        if shared:
            sg = array(prefix + "ffn_gate_shexp.weight", [shared, d])
            su = array(prefix + "ffn_up_shexp.weight", [shared, d])
            sd = array(prefix + "ffn_down_shexp.weight", [d, shared])
            got += (act("silu", x @ sg.T) * (x @ su.T)) @ sd.T
        if used == experts:
            errors[layer] = close(got, expected, f"layer {layer} MoE FFN at k = E")
    print(json.dumps({"ok": True, "layers": errors, "expert_count": experts, "expert_used_count": used,
                      "architecture": arch}))


def main():
    source = Source(sys.argv[1])
    container = Container(sys.argv[2])
    kind = sys.argv[4]
    if kind == "gguf":
        only = {int(v) for v in sys.argv[5].split(",")} if len(sys.argv) > 5 else None
        check_gguf(source, container, sys.argv[3], only)
    else:
        check_safetensors(source, container, sys.argv[3], kind)


if __name__ == "__main__":
    main()
