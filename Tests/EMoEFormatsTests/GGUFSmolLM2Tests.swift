import EMoECore
import EMoEFormats
import EMoENumerics
import EMoETestSupport
import Foundation
import Testing

/// The real SmolLM2-135M-Instruct Q4_1 GGUF against gguf-py.
@Suite("GGUF: the real SmolLM2 file")
struct GGUFSmolLM2Tests {
  /// Prints every metadata pair in canonical form and, per tensor, its name, ggml type, shape,
  /// SHA-256 of its bytes and SHA-256 of `gguf.quants.dequantize` as little-endian F32.
  static let script = #"""
    import sys, hashlib
    import numpy as np
    import gguf
    from gguf import GGUFValueType as V, quants
    names = {V.UINT8: "u8", V.INT8: "i8", V.UINT16: "u16", V.INT16: "i16", V.UINT32: "u32",
             V.INT32: "i32", V.FLOAT32: "f32", V.BOOL: "bool", V.STRING: "string",
             V.UINT64: "u64", V.INT64: "i64", V.FLOAT64: "f64"}
    def payload(t, part):
        if t == V.STRING: return bytes(part).hex()
        if t == V.FLOAT32: return "%08x" % part.view(np.uint32)[0]
        if t == V.FLOAT64: return "%016x" % part.view(np.uint64)[0]
        if t == V.BOOL: return "true" if part[0] else "false"
        return str(int(part[0]))
    r = gguf.GGUFReader(sys.argv[1])
    out = []
    for key, f in r.fields.items():
        if key.startswith("GGUF."): continue
        if f.types[0] == V.ARRAY:
            out.append(f"kv {key} array<{names[f.types[1]]}>[" + ",".join(payload(f.types[1], f.parts[i]) for i in f.data) + "]")
        else:
            out.append(f"kv {key} {names[f.types[0]]}:{payload(f.types[0], f.parts[f.data[0]])}")
    for t in r.tensors:
        data = np.array(t.data)
        f32 = np.ascontiguousarray(quants.dequantize(data, t.tensor_type), dtype="<f4")
        shape = ",".join(str(int(x)) for x in reversed(t.shape.tolist()))
        out.append(f"tensor {t.name} {int(t.tensor_type)} [{shape}] {hashlib.sha256(data.tobytes()).hexdigest()} {hashlib.sha256(f32.tobytes()).hexdigest()}")
    sys.stdout.write("\n".join(out) + "\n")
    """#

  @Test(
    "reads fully: metadata equal to gguf-py's, every tensor dequantises to the same values",
    .enabled(if: Oracles.python(["numpy", "gguf"])), .enabled(if: Oracles.smolLM2))
  func matchesPython() throws {
    let path = try #require(try TestPaths.smolLM2())
    try PythonOracle.require(["numpy", "gguf"])
    let lines = try PythonOracle.check(Self.script, arguments: [path])
      .split(separator: "\n").map(String.init)
    let file = try GGUFFile(path: path)
    #expect(file.version == 3)
    #expect(file.alignment == 32)
    #expect(file.tensors.count == 272)
    #expect(file.keyValues.count == 33)
    #expect(file.value(forKey: "general.architecture") == .string("llama"))
    let expectedKeys = lines.filter { $0.hasPrefix("kv ") }
    let actualKeys = file.keyValues.map { "kv \($0.key) \(GGUFTestSupport.canonical($0.value))" }
    #expect(actualKeys.count == expectedKeys.count)
    for (actual, expected) in zip(actualKeys, expectedKeys) where actual != expected {
      Issue.record("metadata differs: \(actual.prefix(120)) vs \(expected.prefix(120))")
    }

    let expectedTensors = lines.filter { $0.hasPrefix("tensor ") }
    #expect(file.tensors.count == expectedTensors.count)
    var types: [DType: Int] = [:]
    for (info, line) in zip(file.tensors, expectedTensors) {
      let fields = line.split(separator: " ").map(String.init)
      let tensor = file.tensor(info)
      let shape = "[" + info.shape.dimensions.map(String.init).joined(separator: ",") + "]"
      #expect(fields[1] == info.name)
      #expect(fields[2] == String(info.type.rawValue), "\(info.name)")
      #expect(fields[3] == shape, "\(info.name)")
      #expect(fields[4] == tensor.withUnsafeBytes { SHA256.hex(of: $0) }, "\(info.name) bytes")
      let floats = try Dequantizer.decode(tensor: tensor)
      #expect(fields[5] == floats.withUnsafeBytes { SHA256.hex(of: $0) }, "\(info.name) F32")
      types[info.dtype, default: 0] += 1
    }
    #expect(types == [.q4_1: 210, .f32: 61, .q8_0: 1])
  }

  @Test("one row of a mapped tensor decodes without the rest", .enabled(if: Oracles.smolLM2))
  func oneRow() throws {
    let path = try #require(try TestPaths.smolLM2())
    let file = try GGUFFile(path: path)
    let embedding = try file.tensor(named: "token_embd.weight")
    #expect(embedding.shape == [49152, 576])
    let row = try Dequantizer.decodeRow(of: embedding, row: 1234)
    let blocks = embedding.withUnsafeBytes { raw in
      Array(raw[(1234 * 18 * 34)..<(1235 * 18 * 34)])
    }
    #expect(row == (try blocks.withUnsafeBytes { try Dequantizer.dequantize(.q8_0, from: $0) }))
  }
}
