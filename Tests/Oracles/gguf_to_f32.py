"""Writes an all-F32 copy of a GGUF file with gguf-py (independently of emoe-pack): every tensor
is dequantised with `gguf.quants.dequantize`, every metadata key is copied with its GGUF type
(`general.file_type` becomes 0, all F32). Used to make the F32 SmolLM2 the llama.cpp weighting
test converts: with F32 weights llama.cpp keeps activations in F32, so its arithmetic does not
flip near-tied expert choices the way Q8 activations against Q4_1 weights do.

usage: gguf_to_f32.py SOURCE.gguf OUT.gguf   (OUT is written to OUT.tmp, then renamed)
"""
import json
import os
import sys

import numpy as np
from gguf import GGUFReader, GGUFValueType, GGUFWriter
from gguf.quants import dequantize


def main(source, out):
    reader = GGUFReader(source)
    arch = reader.fields["general.architecture"].contents()
    tmp = out + ".tmp"
    writer = GGUFWriter(tmp, arch)
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture":
            continue
        vtype = field.types[0]
        value = field.contents()
        if key == "general.file_type":
            value = 0
        if vtype == GGUFValueType.ARRAY:
            writer.add_key_value(key, value, vtype, sub_type=field.types[-1])
        else:
            writer.add_key_value(key, value, vtype)
    for tensor in reader.tensors:
        values = dequantize(tensor.data, tensor.tensor_type).astype(np.float32)
        shape = tuple(int(n) for n in reversed(tensor.shape.tolist()))
        writer.add_tensor(tensor.name, np.ascontiguousarray(values.reshape(shape)))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    os.replace(tmp, out)
    print(json.dumps({"ok": True, "tensors": len(reader.tensors)}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
