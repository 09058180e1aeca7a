#!/usr/bin/env python3
"""Writes one small safetensors file per validation rule, plus a few valid edge cases, and a
manifest.json naming what a reader must say about each.

The malformed cases port the reference's tests (huggingface/safetensors `safetensors/src/tensor.rs`:
test_json_attack, test_metadata_incomplete_buffer, test_header_too_large, test_header_too_small,
test_invalid_header_length, test_invalid_header_non_utf8, test_invalid_header_not_json,
test_invalid_info, test_validation_overflow, the sub-byte checks and the whitespace-padding
tests), and add one file per remaining rule.

Manifest entries:
  file        the file name
  expect      "valid", or the error kind emoe-pack reports (SafeTensorsError.Kind raw value)
  reference   what the Rust reference (Python `safetensors`) says: "valid" or its error kind;
              differs from `expect` only where emoe-pack is deliberately stricter
  tensor      the tensor the error names, when it names one
  offset      the byte offset in the file the error points at, when fixed by the format
  tensors     for valid files, the number of tensors
  description what the file breaks

Usage: make_malformed_safetensors.py --out DIR   (deterministic: no randomness, no timestamps)
"""
import argparse
import json
import pathlib
import struct

MAX_HEADER = 100_000_000


def length_prefix(n):
    return struct.pack("<Q", n)


def compact(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


def file_bytes(header, data=b"", pad=True):
    """8-byte length + header (bytes, padded with spaces to a multiple of 8) + data."""
    if pad:
        header = header + b" " * ((8 - len(header) % 8) % 8)
    return length_prefix(len(header)) + header + data


def entry_offset(header, name):
    """File offset of the header entry (the key's opening quote) of tensor `name`."""
    return 8 + header.index(json.dumps(name).encode() + b":")


def pattern(count):
    return bytes((i * 7 + 3) % 256 for i in range(count))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=pathlib.Path)
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    cases = []

    def add(name, content, expect, description, reference=None, tensor=None, offset=None,
            tensors=None):
        (out / name).write_bytes(content)
        case = {"file": name, "expect": expect, "reference": reference or expect}
        if tensor is not None:
            case["tensor"] = tensor
        if offset is not None:
            case["offset"] = offset
        if tensors is not None:
            case["tensors"] = tensors
        case["description"] = description
        cases.append(case)

    # -- Rules 1-3: the length prefix.
    add("header_too_small_empty.safetensors", b"", "HeaderTooSmall",
        "empty file (reference test_header_too_small)", offset=0)
    add("header_too_small_7_bytes.safetensors", b"\x10\x00\x00\x00\x00\x00\x00", "HeaderTooSmall",
        "7 bytes, one short of the length prefix", offset=0)
    header = compact({"test": {"dtype": "I32", "shape": [2, 2], "data_offsets": [0, 16]}})
    add("header_too_large.safetensors", b"<\x00\x00\x00\x00\xff\xff\xff" + header + bytes(16),
        "HeaderTooLarge", "N = 0xffffff000000003c (reference test_header_too_large)", offset=0)
    add("header_too_large_by_one.safetensors", length_prefix(MAX_HEADER + 1) + b"{}",
        "HeaderTooLarge", "N = 100,000,001, one above the limit", offset=0)
    add("header_at_limit_truncated.safetensors", length_prefix(MAX_HEADER) + b"{}",
        "InvalidHeaderLength",
        "N = 100,000,000 exactly is allowed, so the failure is the missing header bytes", offset=0)
    add("invalid_header_length.safetensors", b"<\x00\x00\x00\x00\x00\x00\x00",
        "InvalidHeaderLength", "N = 60 with no header bytes (reference test_invalid_header_length)",
        offset=0)
    add("header_runs_past_eof.safetensors", length_prefix(64) + header, "InvalidHeaderLength",
        f"N = 64 but only {len(header)} header bytes follow", offset=0)

    # -- Rule 4: UTF-8.
    add("non_utf8.safetensors", length_prefix(1) + b"\xff", "InvalidHeader",
        "header is the single byte 0xff (reference test_invalid_header_non_utf8)", offset=8)
    bad = b'{"w\xed\xa0\x80":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}'
    add("non_utf8_surrogate.safetensors", file_bytes(bad, b"\x01"), "InvalidHeader",
        "a key holding a UTF-8-encoded surrogate (ED A0 80), which Rust's from_utf8 refuses",
        offset=8 + bad.index(b"\xed"))
    bad = b'{"w\xc0\xaf":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}'
    add("non_utf8_overlong.safetensors", file_bytes(bad, b"\x01"), "InvalidHeader",
        "an overlong encoding of '/' (C0 AF)", offset=8 + bad.index(b"\xc0"))

    # -- Rule 5: JSON syntax and shape.
    add("not_json.safetensors", length_prefix(1) + b"{", "InvalidHeaderDeserialization",
        "header is a lone '{' (reference test_invalid_header_not_json)")
    add("empty_header.safetensors", length_prefix(0), "InvalidHeaderDeserialization",
        "N = 0: an empty header is not JSON")
    add("nul_padded_header.safetensors", length_prefix(8) + b"{}\x00\x00\x00\x00\x00\x00",
        "InvalidHeaderDeserialization", "padding with NUL bytes, which are not JSON whitespace")
    add("trailing_comma.safetensors", file_bytes(b'{"__metadata__":{"a":"b",}}'),
        "InvalidHeaderDeserialization", "a trailing comma inside an object")
    add("nan_in_shape.safetensors",
        file_bytes(b'{"w":{"dtype":"U8","shape":[NaN],"data_offsets":[0,0]}}'),
        "InvalidHeaderDeserialization", "NaN is not JSON (json-c alone would accept it)")
    add("not_object.safetensors", file_bytes(b"[]"), "InvalidHeaderDeserialization",
        "the header is an array, not an object")
    h = b'{"w":5}'
    add("tensor_not_object.safetensors", file_bytes(h), "InvalidHeaderDeserialization",
        "a tensor entry that is a number", tensor="w", offset=entry_offset(h, "w"))
    h = compact({"w": {"dtype": "F128", "shape": [1], "data_offsets": [0, 16]}})
    add("wrong_dtype.safetensors", file_bytes(h, bytes(16)), "InvalidHeaderDeserialization",
        "an unknown dtype name", tensor="w", offset=entry_offset(h, "w"))
    h = compact({"w": {"dtype": "Q4_0", "shape": [32], "data_offsets": [0, 18]}})
    add("ggml_dtype.safetensors", file_bytes(h, bytes(18)), "InvalidHeaderDeserialization",
        "a ggml block type, which is not a safetensors dtype", tensor="w",
        offset=entry_offset(h, "w"))
    h = compact({"w": {"dtype": 7, "shape": [1], "data_offsets": [0, 1]}})
    add("dtype_not_string.safetensors", file_bytes(h, b"\x00"), "InvalidHeaderDeserialization",
        "dtype is a number", tensor="w", offset=entry_offset(h, "w"))
    h = compact({"w": {"dtype": "f32", "shape": [1], "data_offsets": [0, 4]}})
    add("dtype_lowercase.safetensors", file_bytes(h, bytes(4)), "InvalidHeaderDeserialization",
        "dtype names are case-sensitive", tensor="w", offset=entry_offset(h, "w"))
    h = compact({"w": {"dtype": "F32", "shape": [-1, 4], "data_offsets": [0, 16]}})
    add("negative_shape.safetensors", file_bytes(h, bytes(16)), "InvalidHeaderDeserialization",
        "a negative dimension", tensor="w", offset=entry_offset(h, "w"))
    h = b'{"w":{"dtype":"F32","shape":[2.0,2],"data_offsets":[0,16]}}'
    add("non_integer_shape.safetensors", file_bytes(h, bytes(16)),
        "InvalidHeaderDeserialization", "a dimension written as 2.0", tensor="w",
        offset=entry_offset(h, "w"))
    h = compact({"w": {"dtype": "F32", "shape": 4, "data_offsets": [0, 16]}})
    add("shape_not_array.safetensors", file_bytes(h, bytes(16)), "InvalidHeaderDeserialization",
        "shape is a number", tensor="w", offset=entry_offset(h, "w"))
    h = b'{"w":{"dtype":"U8","shape":[0,99999999999999999999999],"data_offsets":[0,0]}}'
    add("shape_beyond_u64.safetensors", file_bytes(h), "InvalidHeaderDeserialization",
        "a dimension above 2^64 (json-c alone would clamp it to 2^64-1)",
        offset=8 + h.index(b"9999"))
    h = compact({"w": {"dtype": "U8", "shape": [8], "data_offsets": [0, 4, 8]}})
    add("data_offsets_three.safetensors", file_bytes(h, bytes(8)),
        "InvalidHeaderDeserialization", "data_offsets with three numbers", tensor="w",
        offset=entry_offset(h, "w"))
    h = compact({"w": {"dtype": "U8", "shape": [8], "data_offsets": [-8, 0]}})
    add("data_offsets_negative.safetensors", file_bytes(h, bytes(8)),
        "InvalidHeaderDeserialization", "a negative offset", tensor="w",
        offset=entry_offset(h, "w"))
    h = compact({"w": {"shape": [8], "data_offsets": [0, 8]}})
    add("missing_dtype.safetensors", file_bytes(h, bytes(8)), "InvalidHeaderDeserialization",
        "a tensor entry without dtype", tensor="w", offset=entry_offset(h, "w"))
    h = compact({"w": {"dtype": "U8", "shape": [8]}})
    add("missing_data_offsets.safetensors", file_bytes(h, bytes(8)),
        "InvalidHeaderDeserialization", "a tensor entry without data_offsets", tensor="w",
        offset=entry_offset(h, "w"))
    h = compact({"__metadata__": {"format": "pt", "step": 5},
                 "w": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}})
    add("metadata_non_string.safetensors", file_bytes(h, b"\x01"), "InvalidHeaderDeserialization",
        "a metadata value that is a number", offset=entry_offset(h, "__metadata__"))
    h = compact({"__metadata__": "pt", "w": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}})
    add("metadata_not_object.safetensors", file_bytes(h, b"\x01"),
        "InvalidHeaderDeserialization", "__metadata__ is a string",
        offset=entry_offset(h, "__metadata__"))
    h = compact({"__metadata__": {"nested": {"a": "b"}}})
    add("metadata_nested.safetensors", file_bytes(h), "InvalidHeaderDeserialization",
        "a metadata value that is an object", offset=entry_offset(h, "__metadata__"))

    # -- Stricter than the reference: repeated keys and keys json-c would cut short.
    h = (b'{"w":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},'
         b'"w":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}}')
    add("duplicate_key.safetensors", file_bytes(h, bytes(8)), "DuplicateKey",
        "the tensor name 'w' twice; the reference keeps the last and reports a misleading "
        "InvalidOffset (safetensors#401)", reference="InvalidOffset",
        offset=8 + h.rindex(b'"w"'))
    h = (b'{"ab":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},'
         b'"\\u0061b":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}}')
    add("duplicate_escaped_key.safetensors", file_bytes(h, bytes(8)), "DuplicateKey",
        "'ab' and '\\u0061b' are the same key once decoded", reference="InvalidOffset",
        offset=8 + h.index(b'"\\u0061b"'))
    h = b'{"w":{"dtype":"U8","dtype":"I8","shape":[4],"data_offsets":[0,4]}}'
    add("duplicate_field.safetensors", file_bytes(h, bytes(4)), "DuplicateKey",
        "dtype given twice in one entry (serde also refuses a duplicate field)",
        reference="InvalidHeaderDeserialization", offset=8 + h.index(b'"dtype":"I8"'))
    h = (b'{"a\\u0000x":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},'
         b'"a\\u0000y":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}}')
    add("nul_in_key.safetensors", file_bytes(h, bytes(8)), "InvalidHeaderDeserialization",
        "keys with an escaped NUL, which json-c would cut to the same name 'a'",
        reference="valid", offset=8 + h.index(b'"a\\u0000x"'))

    # -- Rule 6: offsets, sizes, alignment.
    h = b"{" + b",".join(
        compact(f"weight_{i}") + b":" + compact({"dtype": "F32", "shape": [2, 2],
                                                     "data_offsets": [0, 16]})
        for i in range(10)) + b"}"
    add("json_attack.safetensors", file_bytes(h, bytes(16)), "InvalidOffset",
        "ten tensors all at [0, 16] (reference test_json_attack)", tensor="weight_1",
        offset=entry_offset(h, "weight_1"))
    h = compact({"a": {"dtype": "U8", "shape": [16], "data_offsets": [0, 16]},
                 "b": {"dtype": "U8", "shape": [16], "data_offsets": [8, 24]}})
    add("overlapping.safetensors", file_bytes(h, bytes(24)), "InvalidOffset",
        "b starts inside a", tensor="b", offset=entry_offset(h, "b"))
    h = compact({"a": {"dtype": "U8", "shape": [16], "data_offsets": [0, 16]},
                 "b": {"dtype": "U8", "shape": [16], "data_offsets": [20, 36]}})
    add("hole.safetensors", file_bytes(h, bytes(36)), "InvalidOffset",
        "4 unindexed bytes between a and b (a polyglot hiding place)", tensor="b",
        offset=entry_offset(h, "b"))
    h = compact({"a": {"dtype": "U8", "shape": [16], "data_offsets": [4, 20]}})
    add("not_starting_at_zero.safetensors", file_bytes(h, bytes(20)), "InvalidOffset",
        "the first tensor starts at 4", tensor="a", offset=entry_offset(h, "a"))
    h = compact({"a": {"dtype": "U8", "shape": [0], "data_offsets": [0, 0]},
                 "b": {"dtype": "U8", "shape": [0], "data_offsets": [16, 0]}})
    add("end_before_begin.safetensors", file_bytes(h, bytes(16)), "InvalidOffset",
        "data_offsets [16, 0]", tensor="b", offset=entry_offset(h, "b"))
    h = compact({"test": {"dtype": "I32", "shape": [2, 2], "data_offsets": [0, 4]}})
    add("invalid_info.safetensors", file_bytes(h, bytes(4)), "TensorInvalidInfo",
        "I32 [2, 2] needs 16 bytes, not 4 (reference test_invalid_info)", tensor="test",
        offset=entry_offset(h, "test"))
    h = compact({"test": {"dtype": "I32", "shape": [2, 18446744073709551614],
                          "data_offsets": [0, 16]}})
    add("validation_overflow_elements.safetensors", file_bytes(h, bytes(16)),
        "ValidationOverflow", "the element count overflows (reference test_validation_overflow)",
        tensor="test", offset=entry_offset(h, "test"))
    h = compact({"test": {"dtype": "I32", "shape": [2, 9223372036854775807],
                          "data_offsets": [0, 16]}})
    add("validation_overflow_bits.safetensors", file_bytes(h, bytes(16)), "ValidationOverflow",
        "the element count fits but its bit size overflows (reference test_validation_overflow)",
        tensor="test", offset=entry_offset(h, "test"))
    h = compact({"w": {"dtype": "F4", "shape": [3], "data_offsets": [0, 2]}})
    add("subbyte_misaligned_f4.safetensors", file_bytes(h, bytes(2)), "MisalignedSlice",
        "three F4 values take 12 bits", tensor="w", offset=entry_offset(h, "w"))
    h = compact({"w": {"dtype": "F6_E2M3", "shape": [2, 3], "data_offsets": [0, 5]}})
    add("subbyte_misaligned_f6.safetensors", file_bytes(h, bytes(5)), "MisalignedSlice",
        "six F6 values take 36 bits", tensor="w", offset=entry_offset(h, "w"))

    # -- Rule 7: the data must end exactly at the end of the file.
    h = compact({"test": {"dtype": "I32", "shape": [2, 2], "data_offsets": [0, 16]}})
    good = file_bytes(h, pattern(16))
    add("incomplete_buffer_extra_bytes.safetensors", good + b"polyglot!!", "MetadataIncompleteBuffer",
        "10 bytes after the last tensor (reference test_metadata_incomplete_buffer)",
        tensor="test", offset=len(good))
    add("incomplete_buffer_missing_bytes.safetensors", good[:-2], "MetadataIncompleteBuffer",
        "the last 2 data bytes are missing (reference test_metadata_incomplete_buffer)",
        tensor="test", offset=len(good) - 2)
    add("header_only_no_data.safetensors", file_bytes(h), "MetadataIncompleteBuffer",
        "a valid header whose 16 data bytes are absent", tensor="test", offset=len(file_bytes(h)))

    # -- Valid edge cases.
    add("valid_empty.safetensors", length_prefix(8) + b"{}      ", "valid",
        "no tensors: '{}' padded to 8 bytes (reference test_empty)", tensors=0)
    h = compact({"__metadata__": {"format": "pt"},
                 "e": {"dtype": "F32", "shape": [0, 3], "data_offsets": [0, 0]},
                 "w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})
    add("valid_empty_tensor.safetensors", file_bytes(h, pattern(8)), "valid",
        "a [0, 3] tensor holding no bytes beside a normal one", tensors=2)
    h = compact({"s": {"dtype": "F64", "shape": [], "data_offsets": [0, 8]}})
    add("valid_scalar.safetensors", file_bytes(h, struct.pack("<d", 2.5)), "valid",
        "a rank-0 tensor holds one element", tensors=1)
    core = compact({"w": {"dtype": "I16", "shape": [3], "data_offsets": [0, 6]}})
    h = b"\n\t  " + core + b"\r\n\t "
    add("valid_whitespace_padded.safetensors", file_bytes(h, pattern(6)), "valid",
        "leading and trailing JSON whitespace (reference whitespace-padding tests)", tensors=1)
    h = compact({"__metadata__": None, "w": {"dtype": "U8", "shape": [3], "data_offsets": [0, 3]}})
    add("valid_metadata_null.safetensors", file_bytes(h, pattern(3)), "valid",
        "__metadata__ null counts as absent", tensors=1)
    h = compact({"b": {"dtype": "U8", "shape": [2], "data_offsets": [4, 6]},
                 "a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})
    add("valid_keys_out_of_offset_order.safetensors", file_bytes(h, pattern(6)), "valid",
        "header order differs from data order; offsets decide", tensors=2)
    h = compact({"w": {"dtype": "U8", "shape": [2], "data_offsets": [0, 2], "extra": [1, "x"]}})
    add("valid_extra_field.safetensors", file_bytes(h, pattern(2)), "valid",
        "an unknown field inside an entry is ignored, as the reference ignores it", tensors=1)
    h = compact({"w": {"dtype": "F4", "shape": [2, 3], "data_offsets": [0, 3]}})
    add("valid_f4.safetensors", file_bytes(h, pattern(3)), "valid",
        "six F4 values fill 3 bytes", tensors=1)

    manifest = {"generator": "Fixtures/scripts/make_malformed_safetensors.py", "cases": cases}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


if __name__ == "__main__":
    main()
