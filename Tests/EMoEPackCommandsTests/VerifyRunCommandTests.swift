import EMoECore
import EMoEFormats
import EMoETestSupport
import EMoEVerify
import Foundation
import Testing

@testable import EMoEPackCommands

/// `emoe-pack verify` (full) and `emoe-pack run` end to end: honest conversions by
/// `emoe-pack convert` pass with exit 0; files with a planted fault exit with the documented
/// code of their failure kind; `run` matches numpy's dense FFN computed from the source.
@Suite("emoe-pack verify and run on converted models")
struct VerifyRunCommandTests {
  static func fixture(_ name: String) -> String {
    TestPaths.fixtures + "/models/" + name + "/model.safetensors"
  }

  /// Converts a fixture quickly (one clustering restart) into `directory`.
  static func convert(_ name: String, in directory: TemporaryDirectory, _ extra: [String] = [])
    throws -> String
  {
    let output = directory.file(name + ".emoe")
    let result = try CommandRunner.run(
      ["convert", fixture(name), output, "--restarts", "1", "--quiet"] + extra)
    try #require(result.status == 0, "convert \(name): \(result.stderr)")
    return output
  }

  /// Runs `verify --json` and returns the exit status and the parsed report.
  static func verify(_ arguments: [String]) throws -> (status: Int32, report: JSONValue) {
    let output = try CommandRunner.run(["verify", "--json"] + arguments)
    return (output.status, try JSONValue.parse(output.stdout))
  }

  static func failedKinds(_ report: JSONValue) -> [String] {
    report["failed_kinds"]?.arrayValue?.compactMap(\.stringValue) ?? []
  }

  @Test("honest conversions of the three fixtures pass; --model at k = E has cosine ≈ 1")
  func honestFixtures() throws {
    let directory = try TemporaryDirectory()
    for name in ["bert-tiny", "gpt2-tiny", "llama-tiny"] {
      let path = try Self.convert(name, in: directory)
      let model = name == "gpt2-tiny" ? [] : ["--model", "--top-k", "2,4"]
      let (status, report) = try Self.verify([path, "--source", Self.fixture(name)] + model)
      #expect(status == 0, "\(name): \(report.prettySerialized())")
      #expect(report["ok"] == .bool(true))
      #expect(report["exit_code"]?.intValue == 0)
      #expect(report["counts"]?["skipped"]?.intValue == 0)
      let checks = report["checks"]?.arrayValue ?? []
      for kind in ["integrity", "permutation", "equivalence", "sparse_masked"] {
        #expect(checks.contains { $0["kind"]?.stringValue == kind }, "\(name): no \(kind) check")
      }
      if !model.isEmpty {
        let full = try #require(checks.first { $0["name"]?.stringValue == "model k=E" })
        let cosine = full["measures"]?["min_cosine"]?.doubleValue ?? 0
        #expect(cosine > 0.999_999, "\(name): cosine \(cosine)")
        #expect(checks.contains { $0["name"]?.stringValue == "model k=2" })
      }
    }
    // The readable table ends with the verdict.
    let text = try CommandRunner.run(
      ["verify", directory.file("bert-tiny.emoe"), "--source", Self.fixture("bert-tiny")])
    #expect(text.status == 0)
    #expect(text.stdout.contains("verify OK"))
    #expect(text.stdout.contains("equivalence at k = E"))
  }

  @Test("a flipped bit exits 3, a swapped row 5, a wrong activation 6")
  func failureExitCodes() throws {
    let directory = try TemporaryDirectory()
    let original = try Self.convert("bert-tiny", in: directory)
    let source = Self.fixture("bert-tiny")
    let bytes = try Data(contentsOf: URL(fileURLWithPath: original))
    let container = try ContainerFile(path: original)
    let w1 = try #require(container.entry(named: "emoe.layers.1.w1"))

    var flipped = bytes
    flipped[w1.offset + 77] ^= 0x02
    let flippedPath = directory.file("flipped.emoe")
    try flipped.write(to: URL(fileURLWithPath: flippedPath))
    let integrity = try Self.verify([flippedPath, "--source", source])
    #expect(integrity.status == 3)
    #expect(Self.failedKinds(integrity.report) == ["integrity"])
    #expect(integrity.report["exit_code"]?.intValue == 3)

    // Swap two rows of W1 and make the checksums match again, as a buggy converter would.
    let rowBytes = w1.storedLength / 128
    var swapped = bytes
    let a = w1.offset + 5 * rowBytes
    let b = w1.offset + 9 * rowBytes
    let rowA = swapped[a..<(a + rowBytes)]
    swapped.replaceSubrange(a..<(a + rowBytes), with: swapped[b..<(b + rowBytes)])
    swapped.replaceSubrange(b..<(b + rowBytes), with: rowA)
    try ContainerPatch.updateChecksum(of: w1, in: &swapped)
    let swappedPath = directory.file("swapped.emoe")
    try swapped.write(to: URL(fileURLWithPath: swappedPath))
    let permutation = try Self.verify([swappedPath, "--source", source])
    #expect(permutation.status == 5, "\(permutation.report.prettySerialized())")
    // The swapped rows also change the layer's output; precedence reports the cause.
    #expect(Self.failedKinds(permutation.report) == ["permutation", "equivalence"])
    let text = try CommandRunner.run(["verify", swappedPath, "--source", source])
    #expect(text.status == 5)
    #expect(text.stdout.contains("layer 1 w1"))
    #expect(text.stdout.contains("stored row 5"))

    var relu = bytes
    try ContainerPatch.replaceInManifest(
      #""activation":"gelu""#, #""activation":"relu""#, in: &relu)
    let reluPath = directory.file("relu.emoe")
    try relu.write(to: URL(fileURLWithPath: reluPath))
    let equivalence = try Self.verify([reluPath, "--source", source])
    #expect(equivalence.status == 6, "\(equivalence.report.prettySerialized())")
    #expect(Self.failedKinds(equivalence.report) == ["equivalence"])
  }

  @Test("the exit code follows the documented precedence 3, 8, 5, 6, 7")
  func precedence() {
    func report(_ kinds: [VerificationKind]) -> VerificationReport {
      VerificationReport(
        file: "x", source: nil, sourceNote: "", inputsNote: "", tolerance: 1e-5,
        checks: [.passed(.integrity, "header")]
          + kinds.map { .failed($0, "c", detail: "wrong") })
    }
    #expect(VerifyCommand.exitStatus(report([])).rawValue == 0)
    #expect(VerifyCommand.exitStatus(report([.sparseMasked])).rawValue == 7)
    #expect(VerifyCommand.exitStatus(report([.model])).rawValue == 6)
    #expect(VerifyCommand.exitStatus(report([.sparseMasked, .equivalence])).rawValue == 6)
    #expect(VerifyCommand.exitStatus(report([.sparseMasked, .permutation])).rawValue == 5)
    #expect(VerifyCommand.exitStatus(report([.model, .integrity, .permutation])).rawValue == 3)
    #expect(VerifyCommand.exitStatus(report([.finite])).rawValue == 8)
    #expect(VerifyCommand.exitStatus(report([.sparseMasked, .permutation, .finite])).rawValue == 8)
    #expect(VerifyCommand.exitStatus(report([.finite, .integrity])).rawValue == 3)
  }

  @Test("verify refuses bad options and another model as --source (exit 2 or 64)")
  func refusals() throws {
    let directory = try TemporaryDirectory()
    let path = try Self.convert("bert-tiny", in: directory)
    let zero = try CommandRunner.run(["verify", path, "--top-k", "0"])
    #expect(zero.status == 64)
    let large = try CommandRunner.run(["verify", path, "--top-k", "99"])
    #expect(large.status == 2)
    #expect(large.stderr.contains("--top-k 99"))
    let other = try CommandRunner.run(["verify", path, "--source", Self.fixture("llama-tiny")])
    #expect(other.status == 2)
    #expect(other.stderr.contains("is not the model this container was converted from"))
    let noSource = try CommandRunner.run(["verify", path, "--model"])
    #expect(noSource.status == 2)
    #expect(noSource.stderr.contains("--model"))
    let help = try CommandRunner.run(["verify", "--help"])
    #expect(help.stdout.contains("5 permutation mismatch"))
    #expect(help.stdout.contains("7 sparse/masked disagreement"))
  }

  @Test(
    "run --dense and run at k = E both match numpy's dense FFN of the source",
    .enabled(if: Oracles.python(["numpy", "safetensors"])))
  func runMatchesNumpy() throws {
    try PythonOracle.require(["numpy", "safetensors"])
    let directory = try TemporaryDirectory()
    for (name, layer, experts) in [
      ("bert-tiny", 1, 16), ("gpt2-tiny", 0, 16), ("llama-tiny", 2, 64),
    ] {
      let container = try Self.convert(name, in: directory)
      let inputs = directory.file(name + "-x.safetensors")
      let denseOut = directory.file(name + "-dense.safetensors")
      let emoeOut = directory.file(name + "-emoe.safetensors")
      _ = try PythonOracle.check(
        Self.oracle, arguments: ["inputs", Self.fixture(name), String(layer), inputs])
      let dense = try CommandRunner.run(
        [
          "run", Self.fixture(name), "--dense", "--layer", String(layer), "--inputs", inputs,
          "--out", denseOut, "--quiet",
        ])
      #expect(dense.status == 0, "\(dense.stderr)")
      let emoe = try CommandRunner.run(
        [
          "run", container, "--layer", String(layer), "--top-k", String(experts), "--inputs",
          inputs, "--out", emoeOut, "--quiet",
        ])
      #expect(emoe.status == 0, "\(emoe.stderr)")
      let result = try PythonOracle.check(
        Self.oracle,
        arguments: ["compare", Self.fixture(name), String(layer), inputs, denseOut, emoeOut])
      let errors = result.split(separator: " ").compactMap {
        Double($0.trimmingCharacters(in: .whitespacesAndNewlines))
      }
      try #require(errors.count == 3, "oracle said: \(result)")
      #expect(errors[0] <= 1e-5, "\(name) dense vs numpy: \(errors[0])")
      #expect(errors[1] <= 1e-5, "\(name) EMoE k=E vs numpy: \(errors[1])")
      #expect(errors[2] == Double(experts), "\(name): expert_ids width \(errors[2])")
    }
  }

  @Test("run --model: the container at k = E gives the dense model's logits")
  func runModel() throws {
    let directory = try TemporaryDirectory()
    let container = try Self.convert("llama-tiny", in: directory)
    let ids = directory.file("ids.safetensors")
    try SafeTensorsWriter.write(
      to: ids,
      tensors: [
        Tensor(
          name: "input_ids", dtype: .i64, shape: [1, 6],
          storage: .owned([Int64(1), 7, 3, 42, 95, 8].withUnsafeBytes { Array($0) }))
      ])
    let denseOut = directory.file("dense.safetensors")
    let emoeOut = directory.file("emoe.safetensors")
    let sparseOut = directory.file("sparse.safetensors")
    for arguments in [
      [Self.fixture("llama-tiny"), "--dense", "--out", denseOut],
      [container, "--top-k", "64", "--out", emoeOut],
      [container, "--out", sparseOut],
    ] {
      let output = try CommandRunner.run(
        ["run", "--model", "--inputs", ids, "--quiet"] + arguments)
      #expect(output.status == 0, "\(output.stderr)")
    }
    func logits(_ path: String) throws -> [Float] {
      let file = try SafeTensorsFile(path: path)
      let tensor = try file.tensor(named: "logits")
      #expect(tensor.shape == [6, 96])
      #expect(file.entry(named: "hidden_states")?.info.shape == [6, 64])
      return try tensor.floatValues()
    }
    let dense = try logits(denseOut)
    let full = try logits(emoeOut)
    let sparse = try logits(sparseOut)
    let scale = dense.map { abs($0) }.max() ?? 1
    let fullError = zip(dense, full).map { abs($0 - $1) }.max() ?? 0
    let sparseError = zip(dense, sparse).map { abs($0 - $1) }.max() ?? 0
    #expect(fullError / scale <= 1e-4, "k = E: \(fullError / scale)")
    #expect(sparseError / scale > 1e-3, "k = 16 should differ from dense")
    let refused = try CommandRunner.run(
      ["run", Self.fixture("llama-tiny"), "--inputs", ids, "--out", denseOut, "--model"])
    #expect(refused.status == 2)
    #expect(refused.stderr.contains("--dense"))
  }

  /// Writes random hidden states for a layer, or compares `run`'s outputs with a float64 numpy
  /// FFN computed straight from the source safetensors.
  static let oracle = #"""
    import sys, json, math, os
    import numpy as np
    from safetensors.numpy import load_file, save_file
    mode, model, layer = sys.argv[1], sys.argv[2], int(sys.argv[3])
    config = json.load(open(os.path.join(os.path.dirname(model), "config.json")))
    w = {k: v.astype(np.float64) for k, v in load_file(model).items()}
    kind = config["model_type"]
    d = config.get("hidden_size", config.get("n_embd"))
    if mode == "inputs":
        rng = np.random.default_rng(layer + 11)
        save_file({"hidden_states": rng.standard_normal((12, d)).astype(np.float32)}, sys.argv[4])
        sys.exit(0)
    x = load_file(sys.argv[4])["hidden_states"].astype(np.float64)
    erf = np.vectorize(math.erf)
    if kind == "bert":
        p = f"encoder.layer.{layer}."
        h = x @ w[p + "intermediate.dense.weight"].T + w[p + "intermediate.dense.bias"]
        h = 0.5 * h * (1 + erf(h / math.sqrt(2)))
        y = h @ w[p + "output.dense.weight"].T + w[p + "output.dense.bias"]
    elif kind == "gpt2":
        p = f"h.{layer}.mlp."
        h = x @ w[p + "c_fc.weight"] + w[p + "c_fc.bias"]
        h = 0.5 * h * (1 + np.tanh(math.sqrt(2 / math.pi) * (h + 0.044715 * h ** 3)))
        y = h @ w[p + "c_proj.weight"] + w[p + "c_proj.bias"]
    else:
        p = f"model.layers.{layer}.mlp."
        g = x @ w[p + "gate_proj.weight"].T
        u = x @ w[p + "up_proj.weight"].T
        y = (g / (1 + np.exp(-g)) * u) @ w[p + "down_proj.weight"].T
    dense = load_file(sys.argv[5])
    emoe = load_file(sys.argv[6])
    scale = np.abs(y).max()
    print(np.abs(dense["output"] - y).max() / scale, np.abs(emoe["output"] - y).max() / scale,
          emoe["expert_ids"].shape[1])
    """#
}

/// Edits a container's bytes and repairs its checksums (Formats/EMoE.md §4 and §6), to make
/// files whose integrity is intact but whose content is wrong.
enum ContainerPatch {
  /// Recomputes `entry`'s checksum in the manifest (16 hex digits, same length) and the header.
  static func updateChecksum(of entry: ContainerTensorEntry, in bytes: inout Data) throws {
    let stored = bytes[entry.offset..<(entry.offset + entry.storedLength)]
    let digest = stored.withUnsafeBytes { XXH64.hash($0) }
    let manifest = try manifestRange(bytes)
    let text = String(decoding: bytes[manifest], as: UTF8.self)
    let nameKey = #""name":"\#(entry.name)""#
    let nameRange = try #require(text.range(of: nameKey))
    let checksumKey = try #require(
      text.range(of: #""checksum":""#, range: nameRange.upperBound..<text.endIndex))
    let start =
      manifest.lowerBound + text.utf8.distance(from: text.startIndex, to: checksumKey.upperBound)
    bytes.replaceSubrange(start..<(start + 16), with: Array(XXH64.hex(digest).utf8))
    updateHeaderChecksum(&bytes)
  }

  /// Replaces `old` by `new` (same length) in the manifest and repairs the header checksum.
  static func replaceInManifest(_ old: String, _ new: String, in bytes: inout Data) throws {
    precondition(old.utf8.count == new.utf8.count)
    let manifest = try manifestRange(bytes)
    let text = String(decoding: bytes[manifest], as: UTF8.self)
    let range = try #require(text.range(of: old))
    let start =
      manifest.lowerBound + text.utf8.distance(from: text.startIndex, to: range.lowerBound)
    bytes.replaceSubrange(start..<(start + old.utf8.count), with: Array(new.utf8))
    updateHeaderChecksum(&bytes)
  }

  private static func manifestRange(_ bytes: Data) throws -> Range<Int> {
    let dataOffset = bytes[32..<40].withUnsafeBytes {
      Int(UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)))
    }
    return 64..<dataOffset
  }

  private static func updateHeaderChecksum(_ bytes: inout Data) {
    let dataOffset = bytes[32..<40].withUnsafeBytes {
      Int(UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)))
    }
    var head = Array(bytes[0..<dataOffset])
    for index in 48..<56 { head[index] = 0 }
    let digest = XXH64.hash(head)
    bytes.replaceSubrange(48..<56, with: withUnsafeBytes(of: digest.littleEndian) { Array($0) })
  }
}
