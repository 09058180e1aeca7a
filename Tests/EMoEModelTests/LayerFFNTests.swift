import EMoECore
import EMoEFormats
import EMoETestSupport
import Foundation
import Testing

@testable import EMoEModel

@Suite("LayerFFN canonical matrices")
struct LayerFFNTests {
  /// numpy's canonical form of `expression` (over the loaded dict `t`) as raw F32 bytes.
  private func numpyFloats(model: String, expression: String) throws -> [Float] {
    let folder = try TemporaryDirectory()
    let script = """
      import sys, numpy as np
      from safetensors.numpy import load_file
      t = load_file(sys.argv[1])
      np.ascontiguousarray(\(expression), dtype='<f4').tofile(sys.argv[2])
      """
    _ = try PythonOracle.check(
      script,
      arguments: [ModelFixtures.path(model) + "/model.safetensors", folder.file("out.f32")])
    let data = try Data(contentsOf: URL(fileURLWithPath: folder.file("out.f32")))
    return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
  }

  @Test(
    "GPT-2 keys are c_fc transposed; its down matrix is c_proj as stored",
    .enabled(if: Oracles.python(["numpy", "safetensors"])))
  func gpt2() throws {
    try PythonOracle.require(["numpy", "safetensors"])
    let source = try ModelFixtures.open("gpt2-tiny")
    let ffn = try Architecture.detect(source).layer(1, in: source)
    #expect(ffn.canonicalShape(.w1) == [192, 48])
    #expect(
      try ffn.keys() == numpyFloats(model: "gpt2-tiny", expression: "t['h.1.mlp.c_fc.weight'].T"))
    #expect(
      try ffn.floats(.w2)
        == numpyFloats(model: "gpt2-tiny", expression: "t['h.1.mlp.c_proj.weight']"))
    #expect(
      try ffn.floats(.b1) == numpyFloats(model: "gpt2-tiny", expression: "t['h.1.mlp.c_fc.bias']"))
  }

  @Test(
    "BERT keys are intermediate.dense rows; its down matrix is output.dense transposed",
    .enabled(if: Oracles.python(["numpy", "safetensors"])))
  func bert() throws {
    try PythonOracle.require(["numpy", "safetensors"])
    let source = try ModelFixtures.open("bert-tiny")
    let ffn = try Architecture.detect(source).layer(0, in: source)
    #expect(ffn.members.map(\.role) == [.w1, .b1, .w2, .b2])
    #expect(
      try ffn.keys()
        == numpyFloats(
          model: "bert-tiny", expression: "t['encoder.layer.0.intermediate.dense.weight']"))
    #expect(
      try ffn.floats(.w2)
        == numpyFloats(model: "bert-tiny", expression: "t['encoder.layer.0.output.dense.weight'].T")
    )
    #expect(
      try ffn.floats(.b2)
        == numpyFloats(model: "bert-tiny", expression: "t['encoder.layer.0.output.dense.bias']"))
  }

  @Test(
    "LLaMA keys are gate_proj rows by default, up_proj on request; down is transposed",
    .enabled(if: Oracles.python(["numpy", "safetensors"])))
  func llama() throws {
    try PythonOracle.require(["numpy", "safetensors"])
    let source = try ModelFixtures.open("llama-tiny-sharded")
    let ffn = try Architecture.detect(source).layer(3, in: source)
    #expect(ffn.keyRole() == .gate && ffn.keyRole(.up) == .up)
    let prefix = "t['model.layers.3.mlp."
    #expect(
      try ffn.keys() == numpyFloats(model: "llama-tiny", expression: prefix + "gate_proj.weight']"))
    #expect(
      try ffn.keys(.up) == numpyFloats(model: "llama-tiny", expression: prefix + "up_proj.weight']")
    )
    #expect(
      try ffn.floats(.down)
        == numpyFloats(model: "llama-tiny", expression: prefix + "down_proj.weight'].T"))
  }

  @Test(
    "quantised GGUF keys decode to gguf-py's dequantised rows",
    .enabled(if: Oracles.smolLM2 && Oracles.python(["numpy", "gguf"])))
  func smolLM2Keys() throws {
    let path = try #require(try TestPaths.smolLM2())
    try PythonOracle.require(["numpy", "gguf"])
    let source = try GGUFFile(path: path)
    let ffn = try Architecture.detect(source).layer(7, in: source)
    let keys = try ffn.keys()
    #expect(keys.count == 1536 * 576)
    let folder = try TemporaryDirectory()
    let script = """
      import sys, numpy as np, gguf
      r = gguf.GGUFReader(sys.argv[1])
      t = next(t for t in r.tensors if t.name == 'blk.7.ffn_gate.weight')
      gguf.quants.dequantize(t.data, t.tensor_type).astype('<f4').reshape(-1).tofile(sys.argv[2])
      """
    _ = try PythonOracle.check(script, arguments: [path, folder.file("keys.f32")])
    let data = try Data(contentsOf: URL(fileURLWithPath: folder.file("keys.f32")))
    let expected = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    let difference = BitDifference.between(keys, expected)
    #expect(difference == nil, "\(difference.map(String.init(describing:)) ?? "")")
  }

  @Test(
    "F16 and BF16 weights decode to F32 like numpy",
    .enabled(if: Oracles.python(["numpy", "safetensors"])))
  func halfPrecision() throws {
    try PythonOracle.require(["numpy", "safetensors"])
    let folder = try TemporaryDirectory()
    // BF16 has no numpy dtype: store the top halves of F32 words as uint16, then relabel.
    let script = """
      import sys, json, struct, numpy as np
      from safetensors.numpy import save_file
      rng = np.random.default_rng(9)
      w1 = rng.standard_normal((32, 8)).astype(np.float16)
      w2 = rng.standard_normal((8, 32)).astype(np.float32)
      bf = (w2.view(np.uint32) >> 16).astype(np.uint16)
      path = sys.argv[1] + '/model.safetensors'
      save_file({'encoder.layer.0.intermediate.dense.weight': w1,
                 'encoder.layer.0.output.dense.weight': bf}, path)
      raw = open(path, 'rb').read()
      n = struct.unpack('<Q', raw[:8])[0]
      header = raw[8:8 + n].decode().replace('"U16"', '"BF16"').rstrip()
      header = (header + ' ' * (-len(header) % 8)).encode()
      open(path, 'wb').write(struct.pack('<Q', len(header)) + header + raw[8 + n:])
      w1.astype('<f4').tofile(sys.argv[1] + '/w1.f32')
      (bf.astype(np.uint32) << 16).view(np.float32).T.astype('<f4').tofile(sys.argv[1] + '/w2.f32')
      """
    _ = try PythonOracle.check(script, arguments: [folder.path])
    let source = try SafeTensorsCheckpoint(path: folder.file("model.safetensors"))
    let ffn = try Architecture.detect(source).layer(0, in: source)
    #expect(ffn.member(.w1)?.info.dtype == .f16)
    #expect(ffn.member(.w2)?.info.dtype == .bf16)
    func load(_ name: String) throws -> [Float] {
      let data = try Data(contentsOf: URL(fileURLWithPath: folder.file(name)))
      return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }
    #expect(try ffn.keys() == load("w1.f32"))
    #expect(try ffn.floats(.w2) == load("w2.f32"))
  }
}
