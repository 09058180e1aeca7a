import EMoECore
import EMoEFormats
import EMoENumerics
import EMoERunner
import EMoETestSupport
import EMoEVerify
import Foundation
import Testing

/// `verify`'s library: every check passes on honest containers of the fixtures and fails, with
/// the right kind and a message naming the place, on a container with one planted fault.
@Suite("verify: the Verifier on honest and broken containers")
struct VerifierTests {
  static let bert = TestPaths.fixtures + "/models/bert-tiny/model.safetensors"
  static let llama = TestPaths.fixtures + "/models/llama-tiny/model.safetensors"

  /// Verifies `path` against `source` with the whole-model check when asked.
  static func verify(_ path: String, source: String, model: Bool = false, topK: [Int]? = nil)
    throws -> VerificationReport
  {
    try Verifier(options: VerificationOptions(source: source, topK: topK, model: model))
      .verify(path: path)
  }

  /// The failed checks' names.
  static func failedNames(_ report: VerificationReport) -> [String] {
    report.failures.map(\.name)
  }

  @Test("an honest plain (bert-tiny) container passes every check, none skipped")
  func honestPlain() throws {
    let directory = try TemporaryDirectory()
    let path = directory.file("bert.emoe")
    try VerificationContainers.write(
      model: Self.bert, to: path, layers: [0, 1], experts: 8, topK: 2)
    let report = try Self.verify(path, source: Self.bert, model: true, topK: [2, 4])
    #expect(report.ok, "\(report.text)")
    #expect(!report.checks.contains { $0.status == .skipped })
    let names = Set(report.checks.map(\.name))
    for expected in [
      "layer 0 permutation", "layer 0 w1", "layer 0 w2", "layer 0 b1", "layer 0 b2",
      "layer 0 router", "layer 1 k=E", "layer 1 k=2", "layer 1 k=4", "passthrough", "model k=E",
    ] {
      #expect(names.contains(expected), "missing check \(expected)")
    }
    let modelE = try #require(report.checks.first { $0.name == "model k=E" })
    let cosine = modelE.measures.first { $0.key == "min_cosine" }?.value.doubleValue ?? 0
    #expect(cosine > 0.999_999, "cosine \(cosine)")
  }

  @Test("an honest GLU container with int8 and Q8_0 matrices passes within its bounds")
  func honestQuantised() throws {
    let directory = try TemporaryDirectory()
    let path = directory.file("llama.emoe")
    try VerificationContainers.write(
      model: Self.llama, to: path, layers: [1, 3], experts: 16, topK: 4,
      storage: .quantised(int8: [.wd], q8_0: [.wg]))
    let report = try Self.verify(path, source: Self.llama, model: true)
    #expect(report.ok, "\(report.text)")
    let equivalence = report.checks.filter { $0.kind == .equivalence }
    #expect(equivalence.count == 2)
    for check in equivalence {
      let use = check.measures.first { $0.key == "bound_use" }?.value.doubleValue ?? -1
      // Real quantisation error, well inside the worst-case bound.
      #expect(use > 0 && use < 1, "\(check.name): bound use \(use)")
      let relative = check.measures.first { $0.key == "max_rel_error" }?.value.doubleValue ?? 0
      #expect(relative > 1e-4, "quantisation should show in the output: \(relative)")
    }
    let wd = try #require(report.checks.first { $0.name == "layer 1 wd" })
    #expect(wd.detail.contains("int8 rows"))
    let wg = try #require(report.checks.first { $0.name == "layer 1 wg" })
    #expect(wg.detail.contains("Q8_0"))
  }

  @Test("a swapped row in an expert block fails the permutation check and names the rows")
  func swappedRow() throws {
    let directory = try TemporaryDirectory()
    for (model, role) in [(Self.bert, ContainerLayerRecord.Role.w2), (Self.llama, .wu)] {
      let path = directory.file("swapped.emoe")
      try VerificationContainers.write(
        model: model, to: path, layers: [1], experts: 8, topK: 2, fault: .swapRows(role, 3, 20))
      let report = try Self.verify(path, source: model)
      #expect(report.decidingFailure == .permutation)
      #expect(Self.failedNames(report).contains("layer 1 \(role.rawValue)"))
      let check = try #require(report.failures.first { $0.name == "layer 1 \(role.rawValue)" })
      #expect(check.detail.contains("row 3"), "\(check.detail)")
      #expect(check.detail.contains("2 in all"), "\(check.detail)")
      try FileManager.default.removeItem(atPath: path)
    }
  }

  @Test("a wrong gate row fails the gate check")
  func wrongGateRow() throws {
    let directory = try TemporaryDirectory()
    let path = directory.file("gate.emoe")
    try VerificationContainers.write(
      model: Self.bert, to: path, layers: [0], experts: 8, topK: 2,
      fault: .copyGateRow(from: 1, to: 5))
    let report = try Self.verify(path, source: Self.bert)
    #expect(report.decidingFailure == .permutation)
    #expect(Self.failedNames(report) == ["layer 0 router"])
    #expect(report.failures.first?.detail.contains("expert 5") == true)
  }

  @Test("an int8 code one step off exceeds the quantisation bound")
  func quantisationAboveBound() throws {
    let directory = try TemporaryDirectory()
    let path = directory.file("int8.emoe")
    try VerificationContainers.write(
      model: Self.llama, to: path, layers: [2], experts: 16, topK: 4,
      storage: .quantised(int8: [.wd], q8_0: []), fault: .shiftCode(.wd, row: 7, steps: 1))
    let report = try Self.verify(path, source: Self.llama)
    #expect(report.decidingFailure == .permutation)
    let check = try #require(report.failures.first)
    #expect(check.name == "layer 2 wd")
    #expect(check.detail.contains("stored row 7"), "\(check.detail)")
    #expect(check.detail.contains("exceeds the int8 rows bound"), "\(check.detail)")
  }

  @Test("a wrong activation passes the layout checks but fails equivalence")
  func wrongActivation() throws {
    let directory = try TemporaryDirectory()
    let path = directory.file("activation.emoe")
    try VerificationContainers.write(
      model: Self.bert, to: path, layers: [1], experts: 8, topK: 2, fault: .activation("relu"))
    let report = try Self.verify(path, source: Self.bert)
    #expect(report.failedKinds == [.equivalence])
    let check = try #require(report.failures.first)
    #expect(check.name == "layer 1 k=E")
    #expect(check.detail.contains("'relu'"), "\(check.detail)")
  }

  @Test("a flipped bit fails integrity and skips the other checks")
  func flippedBit() throws {
    let directory = try TemporaryDirectory()
    let path = directory.file("flipped.emoe")
    try VerificationContainers.write(model: Self.bert, to: path, layers: [1], experts: 8, topK: 2)
    let entry = try #require(try ContainerFile(path: path).entry(named: "emoe.layers.1.w1"))
    var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
    bytes[entry.offset + 100] ^= 0x10
    try bytes.write(to: URL(fileURLWithPath: path))
    let report = try Self.verify(path, source: Self.bert)
    #expect(report.failedKinds == [.integrity])
    #expect(Self.failedNames(report) == ["tensor:emoe.layers.1.w1"])
    #expect(report.checks.filter { $0.status == .skipped }.count == 4)
  }

  @Test("a NaN or infinite gate value fails the finite check, with or without the source")
  func nonFiniteGate() throws {
    for value in [Float.nan, -.infinity] {
      let directory = try TemporaryDirectory()
      let path = directory.file("nan.emoe")
      try VerificationContainers.write(
        model: Self.bert, to: path, layers: [1], experts: 8, topK: 2,
        fault: .gateValue(row: 2, column: 7, value))
      for source in [nil, Self.bert] {
        let report = try Verifier(options: VerificationOptions(source: source)).verify(path: path)
        #expect(report.failedKinds.first == .finite, "\(report.text)")
        let finite = report.failures.filter { $0.kind == .finite }
        #expect(finite.map(\.name) == ["tensor:emoe.layers.1.router"])
        #expect(finite.first?.layer == 1)
        #expect(finite.first?.detail.contains("layer 1 router holds") == true)
        #expect(finite.first?.detail.contains("element \(2 * 32 + 7) (index [2, 7])") == true)
        // The layer's outputs are not judged: a NaN gate would pass the sparse check.
        let outputs = report.checks.filter {
          $0.layer == 1 && ($0.kind == .sparseMasked || $0.kind == .equivalence)
        }
        #expect(!outputs.isEmpty && outputs.allSatisfy { $0.status == .skipped })
      }
    }
  }

  @Test("outputs that overflow from finite weights fail as finite, not as a tolerance figure")
  func overflowingOutputs() throws {
    let directory = try TemporaryDirectory()
    let path = directory.file("overflow.emoe")
    try VerificationContainers.write(
      model: Self.bert, to: path, layers: [1], experts: 8, topK: 2, fault: .fill(.w2, 3e38))
    let alone = try Verifier(options: VerificationOptions()).verify(path: path)
    #expect(alone.failedKinds == [.finite], "\(alone.text)")
    let sparse = try #require(alone.failures.first)
    #expect(sparse.name == "layer 1 k=2" && sparse.layer == 1)
    #expect(sparse.detail.contains("output holds"), "\(sparse.detail)")
    // With the source, the stored W2 differs (5) and the k = E output is not finite (8).
    let compared = try Self.verify(path, source: Self.bert)
    #expect(compared.failedKinds == [.finite, .permutation], "\(compared.text)")
    #expect(
      compared.failures.contains {
        $0.name == "layer 1 k=E" && $0.kind == .finite
          && $0.detail.contains("the EMoE FFN's output at k = E holds")
      }, "\(compared.text)")
  }

  @Test("an honest container reports one passed finite check")
  func finitePasses() throws {
    let directory = try TemporaryDirectory()
    let path = directory.file("ok.emoe")
    try VerificationContainers.write(model: Self.bert, to: path, layers: [1], experts: 8, topK: 2)
    let report = try Verifier(options: VerificationOptions()).verify(path: path)
    let finite = report.checks.filter { $0.kind == .finite }
    #expect(finite.count == 1 && finite[0].status == .passed, "\(report.text)")
  }

  @Test("the sparse check catches a layout whose expert boundary disagrees with the record")
  func wrongExpertBoundary() throws {
    let source = try SafeTensorsCheckpoint(path: Self.llama)
    let dense = try LlamaDecoder(source: source).feedForward(layer: 1)
    let n = dense.intermediateSize
    let split = VerificationContainers.partition(neurons: n, experts: 8)
    let honest = try ExpertFFNWeights(
      permuting: dense, permutation: split.permutation, expertBoundaries: split.boundaries)
    var shifted = split.boundaries
    shifted[3] += 1
    let broken = try ExpertFFNWeights(
      form: honest.form, activation: honest.activation, expertBoundaries: shifted,
      gate: honest.gate, up: honest.up, downTransposed: honest.downTransposed,
      router: honest.router)
    let sizes = (0..<8).map { split.boundaries[$0 + 1] - split.boundaries[$0] }
    let inputs = HiddenStateInputs.random(tokens: 48, dimension: dense.hiddenSize, seed: 3)
    let good = try SparseMaskedCheck.run(
      weights: honest, expertSizes: sizes, inputs: inputs, tokens: 48, topK: 2, tolerance: 1e-5)
    #expect(good.ok)
    #expect(good.selectionMismatches.isEmpty)
    #expect(good.load.reduce(0, +) == 96)
    let bad = try SparseMaskedCheck.run(
      weights: broken, expertSizes: sizes, inputs: inputs, tokens: 48, topK: 2, tolerance: 1e-5)
    #expect(!bad.ok)
    #expect(bad.sparse.maxRelative > 1e-3, "\(bad.sparse.maxRelative)")
    // The same routing feeds both paths, so only the output comparison fails.
    #expect(bad.selectionMismatches.isEmpty)
  }

  @Test("the source is found beside the container, and another model is refused")
  func sourceLocation() throws {
    let directory = try TemporaryDirectory()
    let path = directory.file("bert.emoe")
    try VerificationContainers.write(model: Self.bert, to: path, layers: [1], experts: 8, topK: 2)
    let alone = try Verifier().verify(path: path)
    #expect(alone.ok)
    #expect(alone.source == nil)
    #expect(alone.checks.contains { $0.status == .skipped && $0.kind == .equivalence })
    #expect(alone.checks.contains { $0.kind == .sparseMasked && $0.status == .passed })

    try FileManager.default.copyItem(atPath: Self.bert, toPath: directory.file("model.safetensors"))
    let beside = try Verifier().verify(path: path)
    #expect(beside.ok, "\(beside.text)")
    #expect(beside.source == directory.file("model.safetensors"))
    #expect(!beside.checks.contains { $0.status == .skipped })

    #expect {
      _ = try Verifier(options: VerificationOptions(source: Self.llama)).verify(path: path)
    } throws: { error in
      let error = error as? VerificationError
      return error?.isIOFailure == false
        && error?.problem.contains("is not the model this container was converted from") == true
    }
  }

  @Test("hidden states from --inputs are used (hidden_states.L before hidden_states)")
  func inputsFile() throws {
    let directory = try TemporaryDirectory()
    let path = directory.file("bert.emoe")
    try VerificationContainers.write(
      model: Self.bert, to: path, layers: [0, 1], experts: 8, topK: 2)
    let inputs = directory.file("inputs.safetensors")
    try SafeTensorsWriter.write(
      to: inputs,
      tensors: [
        Tensor(
          name: "hidden_states", shape: [5, 32],
          float32: HiddenStateInputs.random(tokens: 5, dimension: 32, seed: 9)),
        Tensor(
          name: "hidden_states.1", shape: [7, 32],
          float32: HiddenStateInputs.random(tokens: 7, dimension: 32, seed: 10)),
      ])
    let report = try Verifier(options: VerificationOptions(source: Self.bert, inputs: inputs))
      .verify(path: path)
    #expect(report.ok, "\(report.text)")
    func tokens(_ name: String) -> Int? {
      report.checks.first { $0.name == name }?.measures.first { $0.key == "tokens" }?.value.intValue
    }
    #expect(tokens("layer 0 k=E") == 5)
    #expect(tokens("layer 1 k=E") == 7)
  }

  @Test("the dense view of a container restores every source tensor bit for bit")
  func denseView() throws {
    let directory = try TemporaryDirectory()
    let path = directory.file("bert.emoe")
    try VerificationContainers.write(
      model: Self.bert, to: path, layers: [0, 1], experts: 8, topK: 2)
    let view = try ContainerDenseView(ContainerFile(path: path))
    let source = try SafeTensorsCheckpoint(path: Self.bert)
    #expect(Set(view.tensorInfos.map(\.name)) == Set(source.tensorInfos.map(\.name)))
    for info in source.tensorInfos {
      let restored = try view.tensor(named: info.name)
      let original = try source.tensor(named: info.name)
      #expect(restored.shape == original.shape && restored.dtype == original.dtype, "\(info.name)")
      let same = restored.withUnsafeBytes { a in
        original.withUnsafeBytes { b in a.elementsEqual(b) }
      }
      #expect(same, "\(info.name)")
    }
  }

  @Test("random inputs are reproducible and unit-variance")
  func randomInputs() {
    let values = HiddenStateInputs.random(tokens: 256, dimension: 64, seed: 0)
    #expect(values == HiddenStateInputs.random(tokens: 256, dimension: 64, seed: 0))
    #expect(values != HiddenStateInputs.random(tokens: 256, dimension: 64, seed: 1))
    let mean = values.reduce(0.0) { $0 + Double($1) } / Double(values.count)
    let variance =
      values.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) }
      / Double(values.count)
    #expect(abs(mean) < 0.02 && abs(variance - 1) < 0.03, "mean \(mean), variance \(variance)")
  }
}
