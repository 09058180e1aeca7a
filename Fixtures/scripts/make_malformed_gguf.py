#!/usr/bin/env python3
"""Writes small malformed GGUF files, one per validation rule of emoe-pack's GGUF reader, plus
`valid.gguf` (the baseline every malformed file is a variation of) and `manifest.json` mapping
each file to the `GGUFError.Kind` the reader must report (`null` for the valid file).

The rules follow ggml's gguf.cpp reader (see docs in Sources/EMoEFormats/GGUF/GGUFFormat.swift).
Files are built byte by byte with `struct`, so they can break rules the gguf package's writer
would refuse to break. Output is deterministic.

Usage: make_malformed_gguf.py --out DIR
"""
import argparse
import json
import pathlib
import struct

# GGUF value types
U8, I8, U16, I16, U32, I32, F32, BOOL, STR, ARR, U64, I64, F64 = range(13)
# ggml tensor types used here
GF32, GF16, GQ8_0, GQ4_1, GF64 = 0, 1, 8, 3, 28


def gstr(s):
    b = s if isinstance(s, bytes) else s.encode()
    return struct.pack("<Q", len(b)) + b


def kv(key, vtype, payload):
    return gstr(key) + struct.pack("<I", vtype) + payload


def ti(name, ne, ttype, offset):
    out = gstr(name) + struct.pack("<I", len(ne))
    for d in ne:
        out += struct.pack("<Q", d & 0xFFFFFFFFFFFFFFFF)
    return out + struct.pack("<I", ttype) + struct.pack("<Q", offset & 0xFFFFFFFFFFFFFFFF)


def pad(n, a):
    return (a - n % a) % a


BASE_KVS = [
    kv("general.architecture", STR, gstr("llama")),
    kv("general.name", STR, gstr("tiny")),
    kv("tiny.count", U32, struct.pack("<I", 7)),
    kv("tiny.list", ARR, struct.pack("<IQ", I32, 3) + struct.pack("<3i", -1, 0, 1)),
    kv("tiny.flag", BOOL, b"\x01"),
]

# Two tensors: a 2x4 F32 (32 bytes) and a 1x32 Q8_0 (34 bytes, padded to 64).
F32_DATA = struct.pack("<8f", *[0.5 * i for i in range(8)])
Q8_DATA = struct.pack("<e", 0.25) + bytes(range(32))


def base_tensors(alignment=32):
    second = len(F32_DATA) + pad(len(F32_DATA), alignment)
    return [ti("a.weight", [4, 2], GF32, 0), ti("b.weight", [32, 1], GQ8_0, second)]


def base_data(alignment=32):
    out = F32_DATA + bytes(pad(len(F32_DATA), alignment))
    out += Q8_DATA + bytes(pad(len(Q8_DATA), alignment))
    return out


def build(kvs=None, tensors=None, data=None, version=3, magic=b"GGUF", n_tensors=None,
          n_kv=None, alignment=32, endian="<"):
    kvs = BASE_KVS if kvs is None else kvs
    tensors = base_tensors(alignment) if tensors is None else tensors
    data = base_data(alignment) if data is None else data
    n_tensors = len(tensors) if n_tensors is None else n_tensors
    n_kv = len(kvs) if n_kv is None else n_kv
    out = magic + struct.pack(endian + "I", version) + struct.pack(endian + "QQ", n_tensors & (2**64 - 1), n_kv & (2**64 - 1))
    out += b"".join(kvs) + b"".join(tensors)
    out += bytes(pad(len(out), alignment))
    return out + data


def files():
    yield "valid.gguf", None, "the baseline: 5 metadata pairs, an F32 and a Q8_0 tensor", build()
    yield "valid_v2.gguf", None, "the baseline as GGUF version 2 (same layout)", build(version=2)
    yield "truncated_header.gguf", "truncated", "the file ends inside the header", build()[:10]
    yield "bad_magic.gguf", "badMagic", "magic is GGML, not GGUF", build(magic=b"GGML")
    yield "version_0.gguf", "unsupportedVersion", "version 0", build(version=0)
    yield "version_1.gguf", "unsupportedVersion", "obsolete version 1", build(version=1)
    yield "version_4.gguf", "unsupportedVersion", "version 4 is newer than 3", build(version=4)
    yield "big_endian.gguf", "foreignByteOrder", "a big-endian header", build(endian=">")
    yield ("tensor_count_negative.gguf", "countTooLarge", "tensor count -1 as int64",
           build(n_tensors=-1))
    yield ("kv_count_negative.gguf", "countTooLarge", "key-value count -1 as int64",
           build(n_kv=-1))
    yield ("tensor_count_past_end.gguf", "truncated", "1000 tensors announced, 2 present",
           build(n_tensors=1000, data=b"", alignment=1))
    yield ("empty_key.gguf", "invalidKey", "an empty key",
           build(kvs=BASE_KVS + [kv("", U8, b"\x01")]))
    yield ("duplicate_key.gguf", "duplicateKey", "general.name twice",
           build(kvs=BASE_KVS + [kv("general.name", STR, gstr("again"))]))
    yield ("invalid_value_type.gguf", "invalidValueType", "value type 13",
           build(kvs=BASE_KVS + [kv("x.bad", 13, b"\x00" * 8)]))
    yield ("array_element_type_invalid.gguf", "invalidValueType", "array of type 77",
           build(kvs=BASE_KVS + [kv("x.bad", ARR, struct.pack("<IQ", 77, 1) + b"\x00")]))
    yield ("nested_array.gguf", "nestedArray", "an array of arrays",
           build(kvs=BASE_KVS + [kv("x.nested", ARR, struct.pack("<IQ", ARR, 1)
                                    + struct.pack("<IQ", U8, 1) + b"\x05")]))
    yield ("string_too_long.gguf", "stringTooLong", "a string claiming 2^40 bytes",
           build(kvs=BASE_KVS + [kv("x.s", STR, struct.pack("<Q", 1 << 40) + b"abc")]))
    yield ("string_past_end.gguf", "truncated", "a string of 5000 bytes in a small file",
           build(kvs=BASE_KVS + [kv("x.s", STR, struct.pack("<Q", 5000) + b"abc")], tensors=[],
                 data=b""))
    yield ("key_too_long.gguf", "stringTooLong", "a key claiming 65536 bytes",
           build(kvs=BASE_KVS + [struct.pack("<Q", 65536) + b"k" * 65536
                                 + struct.pack("<I", U8) + b"\x01"]))
    yield ("array_too_long.gguf", "arrayTooLong", "an array claiming 2^40 elements",
           build(kvs=BASE_KVS + [kv("x.a", ARR, struct.pack("<IQ", U8, 1 << 40))]))
    yield ("array_over_total_budget.gguf", "arrayTooLong",
           "an array of 17 M elements: over emoe-pack's 4 M total for all metadata arrays",
           build(kvs=BASE_KVS + [kv("x.a", ARR, struct.pack("<IQ", U8, 17 << 20))], tensors=[],
                 data=b""))
    yield ("array_5m_elements.gguf", "arrayTooLong",
           "an array of 5 M u8: under ggml's per-array cap, over emoe-pack's 4 M total, refused "
           "before its elements are read",
           build(kvs=BASE_KVS + [kv("x.a", ARR, struct.pack("<IQ", U8, 5 << 20))], tensors=[],
                 data=b""))
    yield ("string_array_16m_empty.gguf", "arrayTooLong",
           "an array claiming 16 M strings: over the 4 M total, refused before any is read",
           build(kvs=BASE_KVS + [kv("x.a", ARR, struct.pack("<IQ", STR, 16 << 20))], tensors=[],
                 data=b""))
    yield ("array_past_end.gguf", "truncated", "an array of 100000 u32 in a small file",
           build(kvs=BASE_KVS + [kv("x.a", ARR, struct.pack("<IQ", U32, 100000))], tensors=[],
                 data=b""))
    yield ("string_array_past_end.gguf", "truncated", "an array of 100000 strings",
           build(kvs=BASE_KVS + [kv("x.a", ARR, struct.pack("<IQ", STR, 100000))], tensors=[],
                 data=b""))
    yield ("key_invalid_utf8.gguf", "invalidUTF8", "a key with byte 0xFF",
           build(kvs=BASE_KVS + [kv(b"x.\xff", U8, b"\x01")]))
    yield ("value_invalid_utf8.gguf", "invalidUTF8", "a string value with bytes C3 28",
           build(kvs=BASE_KVS + [kv("x.s", STR, gstr(b"\xc3\x28"))]))
    yield ("bool_value_2.gguf", "invalidBool", "a bool stored as 2",
           build(kvs=BASE_KVS + [kv("x.b", BOOL, b"\x02")]))
    yield ("alignment_not_u32.gguf", "invalidAlignment", "general.alignment as i32",
           build(kvs=BASE_KVS + [kv("general.alignment", I32, struct.pack("<i", 32))]))
    yield ("alignment_zero.gguf", "invalidAlignment", "general.alignment 0",
           build(kvs=BASE_KVS + [kv("general.alignment", U32, struct.pack("<I", 0))]))
    yield ("alignment_not_power_of_two.gguf", "invalidAlignment", "general.alignment 48",
           build(kvs=BASE_KVS + [kv("general.alignment", U32, struct.pack("<I", 48))],
                 alignment=48))
    yield ("alignment_too_large.gguf", "invalidAlignment", "general.alignment 2^21",
           build(kvs=BASE_KVS + [kv("general.alignment", U32, struct.pack("<I", 1 << 21))],
                 tensors=[], data=b""))
    yield ("tensor_name_64_bytes.gguf", "invalidTensorName", "a 64-byte tensor name",
           build(tensors=[ti("n" * 64, [4, 2], GF32, 0)], data=F32_DATA))
    yield ("tensor_name_empty.gguf", "invalidTensorName", "an empty tensor name",
           build(tensors=[ti("", [4, 2], GF32, 0)], data=F32_DATA))
    yield ("tensor_name_nul.gguf", "invalidTensorName", "a tensor name with a NUL byte",
           build(tensors=[ti(b"a\x00b", [4, 2], GF32, 0)], data=F32_DATA))
    yield ("tensor_name_invalid_utf8.gguf", "invalidUTF8", "a tensor name with byte 0xFE",
           build(tensors=[ti(b"w\xfe", [4, 2], GF32, 0)], data=F32_DATA))
    yield ("duplicate_tensor_name.gguf", "duplicateTensorName", "a.weight twice",
           build(tensors=[ti("a.weight", [4, 2], GF32, 0), ti("a.weight", [4, 2], GF32, 32)],
                 data=F32_DATA + F32_DATA))
    yield ("five_dimensions.gguf", "tooManyDimensions", "a tensor with 5 dimensions",
           build(tensors=[ti("a.weight", [4, 2, 1, 1, 1], GF32, 0)], data=F32_DATA))
    yield ("negative_dimension.gguf", "invalidDimension", "dimension -4 as int64",
           build(tensors=[ti("a.weight", [4, -4], GF32, 0)], data=F32_DATA))
    yield ("element_count_overflow.gguf", "elementCountOverflow", "ne [2^32, 2^32]",
           build(tensors=[ti("a.weight", [1 << 32, 1 << 32], GF32, 0)], data=F32_DATA))
    yield ("byte_count_overflow.gguf", "elementCountOverflow", "2^61 F64 values (2^64 bytes)",
           build(tensors=[ti("a.weight", [1 << 31, 1 << 30], GF64, 0)], data=F32_DATA))
    yield ("unknown_tensor_type.gguf", "unknownTensorType", "ggml type 99",
           build(tensors=[ti("a.weight", [4, 2], 99, 0)], data=F32_DATA))
    yield ("removed_tensor_type.gguf", "unknownTensorType", "ggml type 4 (Q4_2, removed)",
           build(tensors=[ti("a.weight", [32, 1], 4, 0)], data=bytes(32)))
    yield ("unsupported_tensor_type.gguf", "unsupportedTensorType", "ggml type 16 (IQ2_XXS)",
           build(tensors=[ti("a.weight", [256, 1], 16, 0)], data=bytes(96)))
    yield ("row_not_block_multiple.gguf", "rowNotBlockMultiple", "Q8_0 rows of 48 values",
           build(tensors=[ti("b.weight", [48, 1], GQ8_0, 0)], data=bytes(64)))
    yield ("misaligned_offset.gguf", "misalignedOffset", "second tensor at data offset 40",
           build(tensors=[ti("a.weight", [4, 2], GF32, 0), ti("b.weight", [32, 1], GQ8_0, 40)]))
    yield ("unexpected_offset.gguf", "unexpectedOffset", "second tensor at 64, expected 32",
           build(tensors=[ti("a.weight", [4, 2], GF32, 0), ti("b.weight", [32, 1], GQ8_0, 64)],
                 data=base_data() + bytes(32)))
    yield ("first_offset_nonzero.gguf", "unexpectedOffset", "first tensor at data offset 32",
           build(tensors=[ti("a.weight", [4, 2], GF32, 32)], data=bytes(32) + F32_DATA))
    yield ("reversed_data_order.gguf", "unexpectedOffset", "tensor data not in info order",
           build(tensors=[ti("b.weight", [32, 1], GQ8_0, 32), ti("a.weight", [4, 2], GF32, 0)],
                 data=base_data()))
    yield ("data_past_end.gguf", "dataOutOfBounds", "the second tensor's data is cut short",
           build()[:-40])
    yield ("missing_last_padding.gguf", "dataOutOfBounds", "no padding after the last tensor",
           build()[:-30])
    yield ("truncated_in_metadata.gguf", "truncated", "the file ends inside a metadata value",
           build()[:60])
    yield ("truncated_in_tensor_info.gguf", "truncated", "the file ends inside a tensor info",
           build(data=b"")[: len(build(tensors=[], data=b"")) + 20])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=pathlib.Path)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    manifest = {}
    for name, kind, rule, content in files():
        (args.out / name).write_bytes(content)
        manifest[name] = {"kind": kind, "rule": rule}
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
