import EMoECore
import EMoENumerics
import EMoETestSupport
import Foundation
import Testing

/// Live comparisons with gguf-py on fresh random data (skipped without Python unless oracles are
/// required).
@Suite("Codecs against gguf-py, live")
struct DequantizerPythonTests {
  static let script = #"""
    import sys, pathlib, warnings
    import numpy as np
    from gguf import GGMLQuantizationType as T, quants
    out = pathlib.Path(sys.argv[1])
    rng = np.random.default_rng(int(sys.argv[2]))
    warnings.simplefilter("ignore")
    types = {"Q4_0": (T.Q4_0, 18, 0), "Q4_1": (T.Q4_1, 20, 0), "Q5_0": (T.Q5_0, 22, 0),
             "Q5_1": (T.Q5_1, 24, 0), "Q8_0": (T.Q8_0, 34, 0), "Q2_K": (T.Q2_K, 84, 80),
             "Q3_K": (T.Q3_K, 110, 108), "Q4_K": (T.Q4_K, 144, 0), "Q5_K": (T.Q5_K, 176, 0),
             "Q6_K": (T.Q6_K, 210, 208)}
    for name, (qtype, size, scale_at) in types.items():
        count = 3000 if size < 40 else 600
        blocks = rng.integers(0, 256, (count, size), dtype=np.uint8)
        # Half the blocks get a sane F16 scale; the rest keep random bits (NaN, Inf, subnormals).
        sane = (np.exp(rng.uniform(-9, 0.5, count // 2)).astype(np.float16)).view(np.uint8)
        blocks[: count // 2, scale_at:scale_at + 2] = sane.reshape(-1, 2)
        (out / f"{name}.blocks.bin").write_bytes(blocks.tobytes())
        (out / f"{name}.f32.bin").write_bytes(quants.dequantize(blocks.reshape(-1), qtype).astype("<f4").tobytes())
    halves = np.arange(65536, dtype=np.uint16)
    (out / "F16.blocks.bin").write_bytes(halves.tobytes())
    (out / "F16.f32.bin").write_bytes(quants.dequantize(halves.view(np.uint8), T.F16).astype("<f4").tobytes())
    (out / "BF16.blocks.bin").write_bytes(halves.tobytes())
    (out / "BF16.f32.bin").write_bytes(quants.dequantize(halves.view(np.uint8), T.BF16).astype("<f4").tobytes())
    # Q8_0 quantisation: random magnitudes, exact ties at power-of-two scales, zero blocks.
    blocks = rng.standard_normal((4000, 32)) * np.exp(rng.uniform(-40, 40, (4000, 1)))
    # amax = 127 * 2^k makes d = 2^k exactly, so (n + 0.5) * 2^k are exact halves.
    scale = 2.0 ** rng.integers(-20, 20, (1000, 1))
    ties = (rng.integers(-126, 126, (1000, 32)) + 0.5) * scale
    ties[:, 0] = 127 * scale[:, 0]
    zeros = np.zeros((16, 32))
    data = np.concatenate([blocks, ties, zeros]).astype(np.float32)
    (out / "quantize.f32.bin").write_bytes(data.astype("<f4").tobytes())
    (out / "quantize.expected.bin").write_bytes(quants.quantize(data, T.Q8_0).tobytes())
    """#

  static let types: [DType] = [
    .f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K,
  ]

  @Test(
    "every decoder and the Q8_0 quantiser match gguf-py on fresh random data",
    .enabled(if: Oracles.python(["numpy", "gguf"])))
  func live() throws {
    try PythonOracle.require(["numpy", "gguf"])
    let folder = try TemporaryDirectory()
    _ = try PythonOracle.check(Self.script, arguments: [folder.path, "7"])
    for dtype in Self.types {
      let blocks = try CodecTestSupport.bytes(folder.file("\(dtype.rawValue).blocks.bin"))
      let expected = try CodecTestSupport.floats(folder.file("\(dtype.rawValue).f32.bin"))
      let actual = try blocks.withUnsafeBytes { try Dequantizer.dequantize(dtype, from: $0) }
      if let index = CodecTestSupport.firstMismatch(actual, expected) {
        Issue.record(
          "\(dtype.rawValue): \(CodecTestSupport.describe(actual, expected, at: index))")
      }
    }
    let input = try CodecTestSupport.floats(folder.file("quantize.f32.bin"))
    let expected = try CodecTestSupport.bytes(folder.file("quantize.expected.bin"))
    let actual = try Q8_0Quantizer.quantize(input)
    #expect(actual.count == expected.count)
    if let index = actual.indices.first(where: { $0 < expected.count && actual[$0] != expected[$0] }
    ) {
      Issue.record("Q8_0 quantisation differs first in block \(index / 34), byte \(index % 34)")
    }
  }
}
