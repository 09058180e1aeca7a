import EMoECore
import EMoENumerics
import EMoETestSupport
import Foundation
import Testing

/// The Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, F16 and BF16 encoders against `gguf.quants.quantize`, byte
/// for byte, on random data built to hit the rounding edges and on the real down-projection
/// rows a GGUF export requantises (skipped without Python unless oracles are required).
@Suite("Block quantisers against gguf-py")
struct BlockQuantizerPythonTests {
  static let types: [DType] = [.q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .f16, .bf16]

  /// Writes `<set>.f32.bin` and `<set>.<TYPE>.bin` (gguf-py's bytes) for each data set.
  static let script = #"""
    import sys, pathlib, warnings
    import numpy as np
    from gguf import GGMLQuantizationType as T, quants
    warnings.simplefilter("ignore")
    out = pathlib.Path(sys.argv[1])
    rng = np.random.default_rng(int(sys.argv[2]))
    sets = {}
    # Gaussian blocks over a wide range of magnitudes, each block with its own scale.
    sets["random"] = rng.standard_normal((4000, 32)) * np.exp(rng.uniform(-30, 30, (4000, 1)))
    # Values on the code grid of a power-of-two step: x · id and (x − min) · id land exactly on
    # the half-way points and the integers where truncation decides.
    step = 2.0 ** rng.integers(-12, 12, (2000, 1))
    grid = rng.integers(-16, 17, (2000, 32)) * step / 2
    sets["grid"] = grid
    # Edge blocks: all zero, constant (d = 0 for the minimum types), +m and −m tied for the
    # largest magnitude (the first wins), subnormals, one outlier.
    edges = [np.zeros(32), np.full(32, 3.25), np.full(32, -1e-3)]
    tie = rng.standard_normal(32); tie[3] = 5.0; tie[9] = -5.0; edges.append(tie)
    tie = rng.standard_normal(32); tie[3] = -5.0; tie[9] = 5.0; edges.append(tie)
    edges.append(rng.standard_normal(32) * 1e-40)
    spike = rng.standard_normal(32) * 1e-3; spike[17] = 40.0; edges.append(spike)
    sets["edges"] = np.array(edges)
    # Non-finite values: numpy's cast of NaN and infinite products to uint8 gives 0 on x86-64.
    special = rng.standard_normal((4, 32))
    special[0, 5] = np.inf; special[1, 0] = -np.inf; special[2, 7] = np.nan
    special[3, :] = np.nan
    sets["nonfinite"] = special
    if len(sys.argv) > 3:
        # Real rows: SmolLM2's ffn_down of two layers, decoded, cut into 16 experts of n/16
        # consecutive neurons and scaled by 16, as a k = E export writes them.
        from gguf import GGUFReader
        reader = GGUFReader(sys.argv[3])
        rows = []
        for t in reader.tensors:
            if t.name in ("blk.0.ffn_down.weight", "blk.17.ffn_down.weight"):
                w = quants.dequantize(t.data, t.tensor_type).reshape(576, 1536)
                rows.append(w.reshape(576, 16, 96).transpose(1, 0, 2).reshape(-1, 32) * 16)
        assert len(rows) == 2
        sets = {"smollm2": np.concatenate(rows)}
    for name, data in sets.items():
        data = data.astype(np.float32)
        (out / f"{name}.f32.bin").write_bytes(data.astype("<f4").tobytes())
        for qname in ["Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "F16", "BF16"]:
            encoded = quants.quantize(data, T[qname])
            (out / f"{name}.{qname}.bin").write_bytes(np.ascontiguousarray(encoded).view(np.uint8).tobytes())
    """#

  /// Compares every data set in `folder` with gguf-py's bytes.
  static func compare(_ sets: [String], in folder: TemporaryDirectory) throws {
    for set in sets {
      let input = try CodecTestSupport.floats(folder.file("\(set).f32.bin"))
      #expect(!input.isEmpty)
      for dtype in types {
        let expected = try CodecTestSupport.bytes(folder.file("\(set).\(dtype.rawValue).bin"))
        let actual = try BlockQuantizer.encode(input, as: dtype)
        #expect(actual.count == expected.count, "\(set) \(dtype.rawValue)")
        if let index = actual.indices.first(where: {
          $0 >= expected.count || actual[$0] != expected[$0]
        }) {
          let blockBytes = dtype.blockBytes
          let block = index / blockBytes
          let range = (block * blockBytes)..<min((block + 1) * blockBytes, expected.count)
          let message: String =
            "\(set) \(dtype.rawValue): block \(block) byte \(index % blockBytes) differs: got "
            + "\(Array(actual[range])) expected \(Array(expected[range]))"
          Issue.record(Comment(rawValue: message))
        }
      }
    }
  }

  @Test(
    "Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, F16 and BF16 are byte-identical on random and edge blocks",
    .enabled(if: Oracles.python(["numpy", "gguf"])))
  func random() throws {
    try PythonOracle.require(["numpy", "gguf"])
    let folder = try TemporaryDirectory()
    _ = try PythonOracle.check(Self.script, arguments: [folder.path, "11"])
    try Self.compare(["random", "grid", "edges", "nonfinite"], in: folder)
  }

  @Test(
    "byte-identical on SmolLM2's down rows cut into experts",
    .enabled(if: Oracles.python(["numpy", "gguf"])), .enabled(if: Oracles.smolLM2))
  func realRows() throws {
    let model = try #require(try TestPaths.smolLM2())
    try PythonOracle.require(["numpy", "gguf"])
    let folder = try TemporaryDirectory()
    _ = try PythonOracle.check(Self.script, arguments: [folder.path, "0", model])
    try Self.compare(["smollm2"], in: folder)
  }

  @Test("counts that are not whole blocks and types without an encoder are refused")
  func refusals() {
    for dtype in [DType.q4_0, .q4_1, .q5_0, .q5_1, .q8_0] {
      #expect(throws: QuantizationError.self) {
        try BlockQuantizer.encode([Float](repeating: 1, count: 33), as: dtype)
      }
    }
    #expect(throws: QuantizationError.self) {
      try BlockQuantizer.encode([Float](repeating: 1, count: 256), as: .q4_K)
    }
  }
}
