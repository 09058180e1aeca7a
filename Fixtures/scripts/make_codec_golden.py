#!/usr/bin/env python3
"""Writes golden vectors for emoe-pack's ggml codecs, computed with gguf-py (`gguf.quants`).

For each decodable type TYPE (F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K,
Q6_K, Q8_K) it writes `TYPE.blocks.bin` (raw little-endian blocks) and `TYPE.f32.bin` (the F32
values `gguf.quants.dequantize` gives for them). Blocks are random bytes, blocks with sane
scales, and blocks whose scale fields hold extreme values (±0, the largest and smallest F16,
subnormals, ±Inf, NaN), plus all-zero and all-0xFF blocks.

gguf-py has no Q8_K decoder, so Q8_K's expected values are a numpy transcription of ggml's
`dequantize_row_q8_K` (`y = d * q`, F32 `d`).

For Q8_0 quantisation it writes `Q8_0.quantize.f32.bin` (32-value blocks of F32 input: random
blocks over many magnitudes, exact ties, zeros, subnormals, NaN and Inf) and
`Q8_0.quantize.expected.bin` (what `gguf.quants.quantize` gives). NaN and Inf products are cast
to int8 by numpy; on x86-64 that gives 0.

Usage: make_codec_golden.py --out DIR
"""
import argparse
import json
import pathlib
import warnings

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import quants

SEED = 20240611

# (type, block bytes, block values, offsets of F16 scale fields)
QUANT_TYPES = [
    ("Q4_0", T.Q4_0, 18, 32, [0]),
    ("Q4_1", T.Q4_1, 20, 32, [0, 2]),
    ("Q5_0", T.Q5_0, 22, 32, [0]),
    ("Q5_1", T.Q5_1, 24, 32, [0, 2]),
    ("Q8_0", T.Q8_0, 34, 32, [0]),
    ("Q2_K", T.Q2_K, 84, 256, [80, 82]),
    ("Q3_K", T.Q3_K, 110, 256, [108]),
    ("Q4_K", T.Q4_K, 144, 256, [0, 2]),
    ("Q5_K", T.Q5_K, 176, 256, [0, 2]),
    ("Q6_K", T.Q6_K, 210, 256, [208]),
]

# F16 bit patterns worth pinning: zeros, smallest/largest subnormals and normals, max, Inf, NaNs.
EXTREME_F16 = [0x0000, 0x8000, 0x0001, 0x8001, 0x03FF, 0x0400, 0x7BFF, 0xFBFF, 0x7C00, 0xFC00,
               0x7E00, 0xFE00, 0x7C01, 0x7FFF, 0x3C00, 0xBC00, 0x1400, 0x5BF8]


def sane_f16(rng, n):
    """F16 bit patterns of finite magnitudes between about 1e-4 and 2, either sign."""
    mag = np.exp(rng.uniform(np.log(1e-4), np.log(2.0), n)).astype(np.float16)
    sign = rng.integers(0, 2, n).astype(np.uint16) << 15
    return mag.view(np.uint16) | sign


def quant_blocks(rng, type_size, offsets, count):
    blocks = rng.integers(0, 256, (count, type_size), dtype=np.uint8)
    # A third keep their random scale bytes (NaN, Inf and subnormals included by chance).
    for i in range(count // 3, count):
        for off in offsets:
            if i < 2 * count // 3:
                value = sane_f16(rng, 1)[0]
            else:
                value = EXTREME_F16[(i * len(offsets) + offsets.index(off)) % len(EXTREME_F16)]
            blocks[i, off:off + 2] = np.array([value], dtype=np.uint16).view(np.uint8)
    blocks[0, :] = 0
    blocks[1, :] = 0xFF
    return blocks


def q8_k_blocks(rng, count):
    blocks = rng.integers(0, 256, (count, 292), dtype=np.uint8)
    scales = np.exp(rng.uniform(np.log(1e-6), np.log(10.0), count)).astype(np.float32)
    scales[::2] *= -1
    extremes = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 3.4e38, 1e-45, 1.17e-38],
                        dtype=np.float32)
    scales[: len(extremes)] = extremes
    blocks[:, 0:4] = scales.view(np.uint8).reshape(count, 4)
    blocks[-1, 0:4] = rng.integers(0, 256, 4, dtype=np.uint8)  # one random bit pattern
    return blocks


def q8_k_reference(blocks):
    d = blocks[:, 0:4].copy().view(np.float32)
    q = blocks[:, 4:260].copy().view(np.int8).astype(np.float32)
    return (d * q).astype(np.float32).reshape(-1)


def quantize_inputs(rng):
    blocks = []
    # Random normal blocks over magnitudes from 1e-30 to 1e30.
    for sigma in np.exp(rng.uniform(np.log(1e-30), np.log(1e30), 64)):
        blocks.append(rng.standard_normal(32) * sigma)
    # Plain unit-scale blocks.
    for _ in range(24):
        blocks.append(rng.standard_normal(32))
    # Exact ties: amax = 127 * 2^k makes d = 2^k, and (n + 0.5) * 2^k are exact halves.
    for k in [-10, -3, 0, 0, 2, 7]:
        half = (rng.integers(-126, 126, 32) + 0.5) * 2.0 ** k
        half[rng.integers(0, 32)] = 127 * 2.0 ** k * (1 if rng.integers(0, 2) else -1)
        blocks.append(half)
    # Values that land near halves after scaling by a non-power-of-two scale.
    for _ in range(8):
        base = rng.integers(-127, 127, 32) + 0.5
        base[0] = 127
        blocks.append(base * 0.37)
    zeros = np.zeros(32)
    blocks.append(zeros)
    one = np.zeros(32)
    one[5] = -2.5
    blocks.append(one)
    negzero = np.full(32, -0.0)
    negzero[3] = 1.0
    blocks.append(negzero)
    # Subnormal and tiny inputs (1/d overflows to Inf for the smallest).
    blocks.append(np.full(32, 1e-40) * np.sign(rng.standard_normal(32)))
    blocks.append(rng.standard_normal(32) * 1e-38)
    blocks.append(rng.standard_normal(32) * 1e-36)
    # Huge values: d's F16 overflows to Inf.
    blocks.append(rng.standard_normal(32) * 1e38)
    # NaN and Inf.
    nan = rng.standard_normal(32)
    nan[7] = np.nan
    blocks.append(nan)
    inf = rng.standard_normal(32)
    inf[9] = np.inf
    blocks.append(inf)
    ninf = rng.standard_normal(32)
    ninf[1] = -np.inf
    blocks.append(ninf)
    return np.array(blocks, dtype=np.float32)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=pathlib.Path)
    args = parser.parse_args()
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    manifest = {"generator": "Fixtures/scripts/make_codec_golden.py", "types": {}}

    def record(name, blocks, values, block_values):
        (out / f"{name}.blocks.bin").write_bytes(blocks.tobytes())
        (out / f"{name}.f32.bin").write_bytes(values.astype("<f4").tobytes())
        manifest["types"][name] = {"blocks": int(blocks.shape[0]), "values": int(values.size),
                                   "block_values": block_values}

    # F16: every special pattern plus random bit patterns.
    f16 = np.concatenate([np.array(EXTREME_F16, dtype=np.uint16),
                          rng.integers(0, 65536, 1024 - len(EXTREME_F16), dtype=np.uint16)])
    record("F16", f16, quants.dequantize(f16.view(np.uint8), T.F16), 1)
    bf16 = np.concatenate([np.array(EXTREME_F16 + [0x7F80, 0xFF80, 0x7FC0, 0x0080, 0x8001],
                                    dtype=np.uint16),
                           rng.integers(0, 65536, 1024 - len(EXTREME_F16) - 5, dtype=np.uint16)])
    record("BF16", bf16, quants.dequantize(bf16.view(np.uint8), T.BF16), 1)

    for name, qtype, type_size, block_values, offsets in QUANT_TYPES:
        count = 96 if block_values == 32 else 16
        blocks = quant_blocks(rng, type_size, offsets, count)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            values = quants.dequantize(blocks.reshape(-1), qtype)
        record(name, blocks, values, block_values)

    blocks = q8_k_blocks(rng, 16)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        record("Q8_K", blocks, q8_k_reference(blocks), 256)

    inputs = quantize_inputs(rng)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = quants.quantize(inputs, T.Q8_0)
    (out / "Q8_0.quantize.f32.bin").write_bytes(inputs.astype("<f4").tobytes())
    (out / "Q8_0.quantize.expected.bin").write_bytes(expected.tobytes())
    manifest["q8_0_quantize"] = {"blocks": int(inputs.shape[0])}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
