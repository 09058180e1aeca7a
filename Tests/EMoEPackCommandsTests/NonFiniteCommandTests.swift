import EMoECore
import EMoEFormats
import EMoETestSupport
import Foundation
import Testing

/// NaN and infinity are errors of their own (exit 8) in every command: a container whose gate
/// holds one fails `verify` without a source and makes `run` refuse instead of routing every
/// token to experts 0...k-1; NaN logits fail `verify --model` instead of reading as a perfect
/// match; `convert` never writes a container holding one.
@Suite("NaN and infinity: convert, verify and run refuse them with exit 8")
struct NonFiniteCommandTests {
  /// A converted bert-tiny whose layer-1 router holds `value` at row 3, column 5, with its
  /// checksums repaired so only the content is wrong.
  static func plantedGate(_ value: Float, in directory: TemporaryDirectory) throws -> String {
    let original = try VerifyRunCommandTests.convert("bert-tiny", in: directory)
    var bytes = try Data(contentsOf: URL(fileURLWithPath: original))
    let container = try ContainerFile(path: original)
    let gate = try #require(container.entry(named: "emoe.layers.1.router"))
    #expect(gate.dtype == .f32 && !gate.isCompressed)
    let d = gate.shape[1]
    let offset = gate.offset + (3 * d + 5) * 4
    bytes.replaceSubrange(offset..<(offset + 4), with: withUnsafeBytes(of: value) { Array($0) })
    try ContainerPatch.updateChecksum(of: gate, in: &bytes)
    let path = directory.file("planted.emoe")
    try bytes.write(to: URL(fileURLWithPath: path))
    return path
  }

  /// Hidden states `[tokens, 32]` for bert-tiny, with `poison` at element 7 when given.
  static func inputs(_ path: String, poison: Float? = nil) throws {
    var values: [Float] = (0..<192).map { (index: Int) -> Float in
      let step = Float((index * 37) % 11)
      return step / 5 - 1
    }
    if let poison { values[7] = poison }
    try SafeTensorsWriter.write(
      to: path, tensors: [Tensor(name: "hidden_states", shape: [6, 32], float32: values)])
  }

  @Test("a NaN or infinite gate fails verify without --source (exit 8), naming tensor and layer")
  func verifyPlantedGate() throws {
    for value in [Float.nan, .infinity] {
      let directory = try TemporaryDirectory()
      let path = try Self.plantedGate(value, in: directory)
      let json = try CommandRunner.run(["verify", "--json", path])
      #expect(json.status == 8, "\(json.stdout)")
      let report = try JSONValue.parse(json.stdout)
      #expect(report["failed_kinds"] == .array([.string("finite")]))
      #expect(report["exit_code"]?.intValue == 8)
      let checks = report["checks"]?.arrayValue ?? []
      let finite = try #require(checks.first { $0["kind"] == .string("finite") })
      #expect(finite["name"] == .string("tensor:emoe.layers.1.router"))
      #expect(finite["layer"]?.intValue == 1)
      #expect(finite["measures"]?["index"] == .array([.integer(3), .integer(5)]))
      // The layer's output checks would prove nothing; they are skipped, not passed.
      let sparse = checks.filter {
        $0["kind"] == .string("sparse_masked") && $0["layer"]?.intValue == 1
      }
      #expect(!sparse.isEmpty && sparse.allSatisfy { $0["status"] == .string("skipped") })

      let text = try CommandRunner.run(["verify", path])
      #expect(text.status == 8)
      #expect(text.stdout.contains("layer 1 router holds \(value.isNaN ? "NaN" : "+inf")"))
      #expect(text.stdout.contains("index [3, 5]"))
      #expect(text.stdout.contains("verify FAILED (finite)"))
    }
  }

  @Test("run refuses a NaN gate (exit 8) instead of choosing experts 0...k-1, writing nothing")
  func runPlantedGate() throws {
    let directory = try TemporaryDirectory()
    let path = try Self.plantedGate(.nan, in: directory)
    let inputs = directory.file("x.safetensors")
    try Self.inputs(inputs)
    let out = directory.file("y.safetensors")
    let result = try CommandRunner.run(
      ["run", path, "--layer", "1", "--inputs", inputs, "--out", out])
    #expect(result.status == 8, "\(result.stderr)")
    #expect(result.stderr.contains(path))
    #expect(result.stderr.contains("emoe.layers.1.router"))
    #expect(result.stderr.contains("layer 1 router holds NaN"))
    #expect(!FileManager.default.fileExists(atPath: out))
  }

  @Test("NaN in --inputs is refused by verify and run (exit 8), naming file, tensor and element")
  func nanInputs() throws {
    let directory = try TemporaryDirectory()
    let container = try VerifyRunCommandTests.convert("bert-tiny", in: directory)
    let inputs = directory.file("x.safetensors")
    try Self.inputs(inputs, poison: -.infinity)
    let out = directory.file("y.safetensors")
    let run = try CommandRunner.run(
      ["run", container, "--layer", "1", "--inputs", inputs, "--out", out])
    #expect(run.status == 8, "\(run.stderr)")
    #expect(run.stderr.contains(inputs))
    #expect(run.stderr.contains("hidden_states"))
    #expect(run.stderr.contains("-inf at element 7"))
    #expect(!FileManager.default.fileExists(atPath: out))
    let verify = try CommandRunner.run(["verify", container, "--inputs", inputs])
    #expect(verify.status == 8, "\(verify.stderr)")
    #expect(verify.stderr.contains("-inf at element 7"))
    let dense = try CommandRunner.run(
      [
        "run", VerifyRunCommandTests.fixture("bert-tiny"), "--dense", "--layer", "1", "--inputs",
        inputs, "--out", out,
      ])
    #expect(dense.status == 8, "\(dense.stderr)")
  }

  @Test("verify --model: non-finite logits fail with exit 8 instead of 'argmax agreement 100 %'")
  func nonFiniteLogits() throws {
    // Finite weights whose product overflows: a final norm of 3e38 sends the hidden states to
    // infinity and the logits to NaN, in the dense source and the container alike.
    let source = try TemporaryDirectory()
    let model = try ConvertCommandTests.variant(in: source) { tensor in
      guard tensor.name == "model.norm.weight" else { return tensor }
      return Tensor(
        name: tensor.name, shape: tensor.shape,
        float32: [Float](repeating: 3e38, count: tensor.elementCount))
    }
    let directory = try TemporaryDirectory()
    let container = directory.file("overflow.emoe")
    let convert = try CommandRunner.run(
      ["convert", model, container, "--restarts", "1", "--quiet"])
    try #require(convert.status == 0, "\(convert.stderr)")
    let result = try CommandRunner.run([
      "verify", "--json", container, "--source", model, "--model",
    ])
    #expect(result.status == 8, "\(result.stdout)")
    let report = try JSONValue.parse(result.stdout)
    #expect(report["failed_kinds"] == .array([.string("finite")]))
    let failed = (report["checks"]?.arrayValue ?? []).filter { $0["ok"] == .bool(false) }
    // Every run's outputs are checked, the judged k = E and the reported k alike.
    #expect(failed.map { $0["name"]?.stringValue ?? "" } == ["model k=16", "model k=E"])
    #expect(failed.allSatisfy { $0["kind"] == .string("finite") })
    let detail = failed.last?["detail"]?.stringValue ?? ""
    #expect(detail.contains("hidden states hold"), "\(detail)")
    #expect(detail.contains("inf at token"), "\(detail)")
    #expect(!result.stdout.contains("argmax agreement 100"))

    let ids = directory.file("ids.safetensors")
    try SafeTensorsWriter.write(
      to: ids,
      tensors: [
        Tensor(
          name: "input_ids", dtype: .i64, shape: [3],
          storage: .owned([Int64(1), 7, 3].withUnsafeBytes { Array($0) }))
      ])
    let out = directory.file("out.safetensors")
    let run = try CommandRunner.run(["run", container, "--model", "--inputs", ids, "--out", out])
    #expect(run.status == 8, "\(run.stderr)")
    #expect(run.stderr.contains("hidden_states"), "\(run.stderr)")
    #expect(run.stderr.contains("final hidden states holds"), "\(run.stderr)")
    #expect(!FileManager.default.fileExists(atPath: out))
  }

  @Test(
    "convert refuses NaN or infinity in any stored tensor (exit 8), naming file, tensor, offset",
    arguments: [
      ("model.layers.2.mlp.down_proj.weight", 9 * 256 + 1, "layer 2 FFN tensor holds"),
      ("model.layers.2.mlp.up_proj.weight", 40, "layer 2 FFN tensor holds"),
      ("model.layers.2.mlp.gate_proj.weight", 9 * 64 + 1, "row 9"),
      ("model.embed_tokens.weight", 130, "holds"),
    ])
  func convertRefuses(tensorName: String, element: Int, phrase: String) throws {
    for value in [Float.nan, -.infinity] {
      let source = try TemporaryDirectory()
      let model = try ConvertCommandTests.variant(in: source) { tensor in
        guard tensor.name == tensorName else { return tensor }
        var values = try tensor.floatValues()
        values[element] = value
        return Tensor(name: tensor.name, shape: tensor.shape, float32: values)
      }
      let directory = try TemporaryDirectory()
      let result = try CommandRunner.run(
        ["convert", model, directory.file("out.emoe"), "--layers", "2", "--restarts", "1"])
      #expect(result.status == 8, "\(tensorName): \(result.stderr)")
      #expect(result.stderr.contains(model), "\(result.stderr)")
      #expect(result.stderr.contains(tensorName), "\(result.stderr)")
      #expect(result.stderr.contains(phrase), "\(result.stderr)")
      if !tensorName.contains("gate_proj") {
        #expect(result.stderr.contains("at element \(element)"), "\(result.stderr)")
        #expect(result.stderr.contains("(byte "), "\(result.stderr)")
      }
      #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
    }
  }
}
