"""Writes an all-F32 copy of a GGUF file with gguf-py (independently of emoe-pack): every tensor
is dequantised with `gguf.quants.dequantize`, every metadata key is copied with its GGUF type
(`general.file_type` becomes 0, all F32). Used to make the F32 SmolLM2 the llama.cpp weighting
test converts: with F32 weights llama.cpp keeps activations in F32, so its arithmetic does not
flip near-tied expert choices the way Q8 activations against Q4_1 weights do.

usage: gguf_to_f32.py SOURCE.gguf OUT.gguf [--keep-types] [--gate-bias LAYER]
  (OUT is written to OUT.tmp, then renamed)
  --keep-types     copy every tensor's bytes in its own type instead of dequantising
  --gate-bias L    also write blk.L.ffn_gate.bias (F32 [n], seeded normal values, std 0.1): a
                   llama GGUF with an FFN bias, which `convert --router-bias` averages into a
                   router bias
"""
import json
import os
import sys

import numpy as np
from gguf import GGUFReader, GGUFValueType, GGUFWriter
from gguf.quants import dequantize


def main(source, out, keep_types=False, gate_bias=None):
    reader = GGUFReader(source)
    arch = reader.fields["general.architecture"].contents()
    tmp = out + ".tmp"
    writer = GGUFWriter(tmp, arch)
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture":
            continue
        vtype = field.types[0]
        value = field.contents()
        if key == "general.file_type" and not keep_types:
            value = 0
        if vtype == GGUFValueType.ARRAY:
            writer.add_key_value(key, value, vtype, sub_type=field.types[-1])
        else:
            writer.add_key_value(key, value, vtype)
    for tensor in reader.tensors:
        shape = tuple(int(n) for n in reversed(tensor.shape.tolist()))
        if keep_types:
            writer.add_tensor(tensor.name, tensor.data, raw_dtype=tensor.tensor_type)
        else:
            values = dequantize(tensor.data, tensor.tensor_type).astype(np.float32)
            writer.add_tensor(tensor.name, np.ascontiguousarray(values.reshape(shape)))
        if gate_bias is not None and tensor.name == f"blk.{gate_bias}.ffn_gate.weight":
            bias = np.random.default_rng(0).standard_normal(shape[0]).astype(np.float32) * 0.1
            writer.add_tensor(f"blk.{gate_bias}.ffn_gate.bias", bias)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    os.replace(tmp, out)
    print(json.dumps({"ok": True, "tensors": len(reader.tensors)}))


if __name__ == "__main__":
    arguments = sys.argv[1:]
    layer = None
    if "--gate-bias" in arguments:
        at = arguments.index("--gate-bias")
        layer = int(arguments[at + 1])
        del arguments[at:at + 2]
    keep = "--keep-types" in arguments
    arguments = [a for a in arguments if a != "--keep-types"]
    main(arguments[0], arguments[1], keep, layer)
