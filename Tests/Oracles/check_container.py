"""Checks an .emoe container against the SOURCE model it was converted from, independently of
emoe-pack: every expert block holds exactly the source rows (or columns) the stored permutation
claims (bit for bit when values are `exact`, equal after gguf-py dequantisation when
`lossless`, within the quantiser's step when `lossy`), expert sizes are as recorded and equal
when n divides by E, gate rows are the means of the raw source keys over each expert, the SSE
matches the keys and permutation, biases are permuted or copied, and passthrough tensors are
byte-identical. Prints a JSON report; exits 1 with the first failure.

usage: check_container.py SOURCE CONTAINER
SOURCE is a .safetensors file, a checkpoint folder or index, or a .gguf file.
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from emoe_reader import Container  # noqa: E402


class Source:
    """Raw tensors of the source model: bytes, numpy values and ggml types."""

    def __init__(self, path):
        self.gguf = None
        self.arrays = {}
        if path.endswith(".gguf"):
            import gguf
            self.gguf = gguf
            reader = gguf.GGUFReader(path)
            self.tensors = {t.name: t for t in reader.tensors}
            return
        from safetensors.numpy import load_file
        files = []
        if os.path.isdir(path):
            index = os.path.join(path, "model.safetensors.index.json")
            if os.path.exists(index):
                path = index
            else:
                files = [os.path.join(path, "model.safetensors")]
        if path.endswith(".json"):
            weight_map = json.load(open(path))["weight_map"]
            folder = os.path.dirname(path)
            files = sorted({os.path.join(folder, f) for f in weight_map.values()})
        elif not files:
            files = [path]
        for file in files:
            self.arrays.update(load_file(file))

    def names(self):
        return list(self.tensors) if self.gguf else list(self.arrays)

    def raw_rows(self, name):
        """Row-major storage as a 2-D uint8 array (one row per outer index) and its type."""
        if self.gguf:
            tensor = self.tensors[name]
            data = np.ascontiguousarray(tensor.data)
            rows = data.shape[0] if data.ndim > 1 else 1
            return data.view(np.uint8).reshape(rows, -1), tensor.tensor_type.name
        array = np.ascontiguousarray(self.arrays[name])
        rows = array.shape[0] if array.ndim > 1 else 1
        return array.view(np.uint8).reshape(rows, -1), str(array.dtype)

    def values(self, name):
        """float64 values in numpy shape."""
        if self.gguf:
            tensor = self.tensors[name]
            values = self.gguf.quants.dequantize(tensor.data, tensor.tensor_type)
            return np.asarray(values, dtype=np.float64)
        return self.arrays[name].astype(np.float64)

    def element_view(self, name):
        """Values as unsigned integers of their width, for bit-exact comparisons."""
        array = self.arrays[name] if not self.gguf else np.asarray(self.tensors[name].data)
        width = array.dtype.itemsize
        return np.ascontiguousarray(array).view({2: np.uint16, 4: np.uint32, 8: np.uint64}[width])


def fail(message):
    print(json.dumps({"ok": False, "error": message}))
    sys.exit(1)


def check_layer(container, source, record, report):
    n, d, experts = record["n"], record["d"], record["experts"]
    # Revision 1.0 of the format stored the router's roles as "gate" and "gate_bias".
    old_names = {"gate": "router", "gate_bias": "router_bias"}
    roles = {old_names.get(role, role): name for role, name in record["tensors"].items()}
    perm = container.array(roles["permutation"]).astype(np.int64)
    if sorted(perm.tolist()) != list(range(n)):
        fail(f"layer {record['layer']}: the permutation is not an ordering of 0..{n - 1}")
    sizes = record["expert_sizes"]
    # The always-active shared block: positions [0, S), in ascending original index.
    shared = record.get("shared", 0)
    routed = n - shared
    if sum(sizes) != routed or len(sizes) != experts:
        fail(f"layer {record['layer']}: expert sizes {sizes} do not cover n - S = {routed}")
    if routed % experts == 0 and set(sizes) != {routed // experts}:
        fail(f"layer {record['layer']}: expert sizes {sizes} are not all (n - S)/E")
    if perm[:shared].tolist() != sorted(perm[:shared].tolist()):
        fail(f"layer {record['layer']}: the shared block is not in ascending original index")
    bounds = np.concatenate([[shared], shared + np.cumsum(sizes)])
    checked = []
    for role, name in roles.items():
        if role in ("permutation", "router", "router_bias"):
            continue
        entry = container.entries[name]
        src = entry["source"]
        if role in ("w1", "w2", "wg", "wu", "wd"):
            values = src["values"]
            if values == "exact" and source.gguf and entry["dtype"] not in ("F32", "F16", "BF16"):
                # Whole quantised rows: stored row p is source row perm[p], byte for byte.
                rows, _ = source.raw_rows(src["name"])
                stored = np.frombuffer(container.raw(name), np.uint8).reshape(n, -1)
                if src["transposed"] or not np.array_equal(stored, rows[perm]):
                    fail(f"{name}: stored quantised rows are not the source rows in permutation order")
            elif values == "exact":
                bits = source.element_view(src["name"])
                expected = bits[:, perm].T if src["transposed"] else bits[perm, :]
                stored = container.array(name)
                stored = stored.view(bits.dtype) if stored.dtype != bits.dtype else stored
                if stored.shape != expected.shape or not np.array_equal(stored, expected):
                    fail(f"{name}: not bit-identical to {src['name']} in permutation order")
            else:
                dense = source.values(src["name"]).astype(np.float32)
                expected = dense[:, perm].T if src["transposed"] else dense[perm, :]
                stored = container.floats(name)
                if values == "lossless":
                    if not np.array_equal(stored, expected):
                        fail(f"{name}: F32 values differ from the dequantised {src['name']}")
                else:
                    # Half a step of the row's scale, plus the F16 rounding of Q8_0 block scales.
                    step = np.abs(expected).max(axis=1, keepdims=True) / 127.0
                    if np.any(np.abs(stored - expected) > step * 0.6 + 1e-12):
                        fail(f"{name}: requantised values stray more than half a step")
            checked.append(name)
        elif role in ("b1", "bg", "bu"):
            bias = source.values(src["name"])
            if not np.array_equal(container.floats(name).astype(np.float64), bias[perm].astype(np.float32)):
                fail(f"{name}: not {src['name']} in permutation order")
            checked.append(name)
        elif role in ("b2", "bd"):
            if container.raw(name) != source.raw_rows(src["name"])[0].tobytes():
                fail(f"{name}: not a copy of {src['name']}")
            checked.append(name)
    # Router: the mean of the RAW source keys of each expert.
    # Neurons grouped by their activations: the router averages Wg (GLU) or W1 (plain) rows.
    keys_name = record["clustering"]["keys"]
    if keys_name == "activations":
        keys_name = "gate" if record["family"] == "glu" else "w1"
    key_role = {"w1": "w1", "gate": "wg", "up": "wu"}[keys_name]
    key_source = container.entries[roles[key_role]]["source"]
    keys = source.values(key_source["name"])
    if key_source["transposed"] != (key_role == "w1" and record["transposed_source"]):
        fail(f"layer {record['layer']}: key matrix transposition is inconsistent")
    if key_source["transposed"]:
        keys = keys.T
    gate = container.array(roles["router"]).astype(np.float64)
    expected_gate = np.stack([keys[perm[bounds[e]:bounds[e + 1]]].mean(axis=0) for e in range(experts)])
    gate_error = float(np.max(np.abs(gate - expected_gate)))
    if not np.allclose(gate, expected_gate, rtol=1e-6, atol=1e-7):
        fail(f"layer {record['layer']}: router differs from the mean of the raw keys by {gate_error}")
    if "router_bias" in roles:
        bias_role = {"w1": "b1", "gate": "bg", "up": "bu"}[keys_name]
        b1 = source.values(container.entries[roles[bias_role]]["source"]["name"])
        expected = np.array([b1[perm[bounds[e]:bounds[e + 1]]].mean() for e in range(experts)])
        if not np.allclose(container.array(roles["router_bias"]), expected, rtol=1e-6, atol=1e-7):
            fail(f"layer {record['layer']}: router bias is not the mean of b1 per expert")
    # SSE of the L2-normalised keys (as float32) to their expert means.
    norms = np.linalg.norm(keys, axis=1, keepdims=True)
    unit = (keys / np.where(norms == 0, 1, norms)).astype(np.float32).astype(np.float64)
    sse = 0.0
    for e in range(experts):
        block = unit[perm[bounds[e]:bounds[e + 1]]]
        sse += float(((block - block.mean(axis=0)) ** 2).sum())
    # A grouping from calibration records its own method's objective, not this one.
    if record["clustering"]["method"] == "balanced_kmeans" and not np.isclose(
            sse, record["clustering"]["sse"], rtol=1e-6, atol=1e-9):
        fail(f"layer {record['layer']}: recorded SSE {record['clustering']['sse']} but the keys give {sse}")
    report["layers"].append({"layer": record["layer"], "checked": checked, "gate_max_error": gate_error,
                             "sse": sse, "expert_sizes": sizes})


def main():
    source = Source(sys.argv[1])
    container = Container(sys.argv[2])
    report = {"ok": True, "layers": [], "passthrough": 0}
    for record in container.layers:
        check_layer(container, source, record, report)
    layer_tensors = {name for record in container.layers for name in record["tensors"].values()}
    scales = {e["scales"] for e in container.manifest["tensors"] if e["encoding"] == "int8_rows"}
    converted_sources = {container.entries[name]["source"]["name"] for name in layer_tensors
                         if "source" in container.entries[name]}
    for name in source.names():
        if name in converted_sources:
            continue
        if name not in container.entries:
            fail(f"source tensor {name} is missing from the container")
        if container.raw(name) != source.raw_rows(name)[0].tobytes():
            fail(f"passthrough tensor {name} is not byte-identical to the source")
        report["passthrough"] += 1
    extra = set(container.entries) - layer_tensors - scales - set(source.names())
    if extra:
        fail(f"the container stores tensors from nowhere: {sorted(extra)}")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
