"""A minimal, independent reader of .emoe containers (Formats/EMoE.md), for test oracles.

It parses the 64-byte header and the JSON manifest itself and hands out stored tensors as numpy
arrays; compressed tensors are not supported (the oracles convert without --compress).
"""
import json
import struct

import numpy as np

NUMPY_TYPES = {
    "F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32,
    "I16": np.int16, "I8": np.int8, "U64": np.uint64, "U32": np.uint32, "U16": np.uint16,
    "U8": np.uint8, "BOOL": np.bool_, "BF16": np.uint16,
}


class Container:
    def __init__(self, path):
        with open(path, "rb") as handle:
            self.data = handle.read()
        magic, version, header_size, manifest_offset, manifest_length, data_offset, file_size = (
            struct.unpack_from("<8sIIQQQQ", self.data, 0))
        assert magic == b"EMOEPACK", "not a container"
        assert version == 1 and header_size == 64 and manifest_offset == 64
        assert file_size == len(self.data), "file size mismatch"
        self.manifest = json.loads(self.data[64:data_offset].decode("utf-8").rstrip(" "))
        self.entries = {entry["name"]: entry for entry in self.manifest["tensors"]}
        self.layers = self.manifest["layers"]

    def raw(self, name):
        entry = self.entries[name]
        assert entry["compression"] == "none", "compressed tensors are not supported here"
        return self.data[entry["offset"]:entry["offset"] + entry["stored_length"]]

    def array(self, name):
        """The tensor as numpy: plain dtypes in their shape, block types as uint8 rows."""
        entry = self.entries[name]
        raw = self.raw(name)
        dtype = NUMPY_TYPES.get(entry["dtype"])
        if dtype is None:
            rows = int(np.prod(entry["shape"][:-1])) if len(entry["shape"]) > 1 else 1
            return np.frombuffer(raw, dtype=np.uint8).reshape(rows, -1)
        return np.frombuffer(raw, dtype=dtype).reshape(entry["shape"])

    def floats(self, name):
        """The tensor's values as float32 (int8 rows decoded with their scales)."""
        entry = self.entries[name]
        if entry["encoding"] == "int8_rows":
            codes = self.array(name).astype(np.float32)
            scales = self.array(entry["scales"]).astype(np.float32)
            return codes * scales[:, None]
        if entry["dtype"] == "BF16":
            return (self.array(name).astype(np.uint32) << 16).view(np.float32)
        if entry["dtype"] in NUMPY_TYPES:
            return self.array(name).astype(np.float32)
        import gguf
        qtype = gguf.GGMLQuantizationType[entry["dtype"]]
        return gguf.quants.dequantize(self.array(name), qtype).reshape(entry["shape"])
