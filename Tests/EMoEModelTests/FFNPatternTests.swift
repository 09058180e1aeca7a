import EMoECore
import EMoEFormats
import EMoETestSupport
import Testing

@testable import EMoEModel

@Suite("--ffn-pattern")
struct FFNPatternTests {
  @Test("a GLU pattern maps llama-tiny like the registry does")
  func gluPattern() throws {
    let source = try ModelFixtures.open("llama-tiny")
    let pattern = try FFNPattern.parse(
      "gate=model.layers.{L}.mlp.gate_proj.weight, up=model.layers.{L}.mlp.up_proj.weight,"
        + "down=model.layers.{L}.mlp.down_proj.weight")
    let custom = try Architecture.detect(source, ffnPattern: pattern)
    let registered = try Architecture.detect(source)
    #expect(custom.family.name == "custom")
    #expect(custom.detection == .userPattern)
    #expect(custom.isGLU && custom.activation == .silu)
    #expect(custom.ffnLayers == registered.ffnLayers)
    #expect(try custom.layer(2, in: source).keys() == registered.layer(2, in: source).keys())
  }

  @Test("a plain Conv1D pattern with act maps gpt2-tiny like the registry does")
  func conv1dPattern() throws {
    let source = try ModelFixtures.open("gpt2-tiny")
    let pattern = try FFNPattern.parse(
      "w1=h.{L}.mlp.c_fc.weight,b1=h.{L}.mlp.c_fc.bias,w2=h.{L}.mlp.c_proj.weight,"
        + "b2=h.{L}.mlp.c_proj.bias,layout=conv1d,act=relu")
    #expect(pattern.transposed && pattern.activation == .relu)
    let custom = try Architecture.detect(source, ffnPattern: pattern)
    #expect(custom.activation == .relu)
    #expect(custom.hiddenSize == 48 && custom.intermediateSize == 192)
    let registered = try Architecture.detect(source)
    #expect(
      try custom.layer(1, in: source).floats(.w2) == registered.layer(1, in: source).floats(.w2))
    #expect(
      try FFNPattern.parse(pattern.description) == pattern,
      "description round-trips through parse")
  }

  @Test(
    "malformed patterns are rejected with a reason",
    arguments: [
      "w1=a.{L}.w", "gate=a.{L}.g,up=a.{L}.u", "w1=a.w,w2=b.{L}.w", "w1=a.{L}.{L},w2=b.{L}",
      "w1=a.{L}.x,w2=b.{L}.y,gate=c.{L}.z", "w1=a.{L}.x,w2=b.{L}.y,speed=fast",
      "w1=a.{L}.x,w2=b.{L}.y,act=mish", "w1=a.{L}.x,w2=b.{L}.y,layout=diagonal",
      "w1=a.{L}.x,w1=b.{L}.y,w2=c.{L}.z", "w1", "w1=,w2=b.{L}",
    ])
  func malformed(spec: String) {
    #expect {
      try FFNPattern.parse(spec)
    } throws: { error in
      guard case .invalidPattern(let given, let reason)? = error as? ModelError else {
        return false
      }
      return given == spec && !reason.isEmpty
    }
  }

  @Test("a pattern that matches nothing lists the model's names")
  func noMatch() throws {
    let source = try ModelFixtures.open("bert-tiny")
    let pattern = try FFNPattern.parse("w1=mlp.{L}.fc1.weight,w2=mlp.{L}.fc2.weight")
    #expect {
      try Architecture.detect(source, ffnPattern: pattern)
    } throws: { error in
      guard case .unknownArchitecture(_, let reason, let names)? = error as? ModelError else {
        return false
      }
      return reason.contains("mlp.{L}.fc1.weight")
        && names.contains { $0.template == "encoder.layer.{L}.intermediate.dense.weight" }
    }
  }
}
