import EMoECore
import EMoEFormats
import EMoETestSupport
import Foundation
import Testing

/// The README's exit-code table, row by row, on the real binary: `inspect --check` gives 3 for a
/// damaged container as `verify` does, every option value that is wrong whatever the model is a
/// usage error (64), one that only the model or file refutes is 2, and messages quote the value
/// the user gave.
@Suite("exit codes and messages follow the README")
struct ExitCodeTests {
  static let llama = TestPaths.fixtures + "/models/llama-tiny"

  @Test("inspect --check exits 3 for a bad checksum and for a damaged header, as verify does")
  func inspectCheck() throws {
    let directory = try TemporaryDirectory()
    let path = directory.file("model.emoe")
    let bytes = try VerifyCommandTests.writeContainer(to: path)
    let gate = try #require(try ContainerFile(path: path).entry(named: "gate"))

    var tensorDamage = bytes
    tensorDamage[gate.offset + 2] ^= 0x20
    let tensorPath = directory.file("tensor.emoe")
    try Data(tensorDamage).write(to: URL(fileURLWithPath: tensorPath))
    let checked = try CommandRunner.run(["inspect", "--check", tensorPath])
    #expect(checked.status == 3, "\(checked.stderr)")
    #expect(checked.stdout.contains("gate"))
    #expect(try CommandRunner.run(["verify", tensorPath]).status == 3)
    // Without --check nothing is verified, so the file reads fine.
    #expect(try CommandRunner.run(["inspect", tensorPath]).status == 0)

    // A byte of the manifest: the header checksum no longer holds and the file cannot open.
    var headerDamage = bytes
    headerDamage[80] ^= 0x01
    let headerPath = directory.file("header.emoe")
    try Data(headerDamage).write(to: URL(fileURLWithPath: headerPath))
    let header = try CommandRunner.run(["inspect", "--check", headerPath])
    #expect(header.status == 3, "\(header.stderr)")
    #expect(header.stderr.contains(headerPath))
    #expect(try CommandRunner.run(["verify", headerPath]).status == 3)
    // Without --check a file that cannot be read is malformed input.
    #expect(try CommandRunner.run(["inspect", headerPath]).status == 2)

    let help = try CommandRunner.run(["inspect", "--help"])
    #expect(help.stdout.contains("3 --check found a damaged .emoe file"))
  }

  @Test(
    "option values wrong whatever the model exit 64 and name the value",
    arguments: [
      (["--experts", "0"], "--experts must be at least 1, not 0"),
      (["--top-k", "0"], "--top-k must be at least 1, not 0"),
      (["--experts", "4", "--top-k", "5"], "--top-k 5 is outside 1...4"),
      (["--restarts", "0"], "--restarts must be at least 1, not 0"),
      (["--threads", "0"], "--threads must be at least 1, not 0"),
      (["--compress=99"], "--compress level 99"),
      (["--layers", "2-1"], "2-1"),
      (["--ffn-pattern", "nonsense"], "nonsense"),
    ])
  func convertUsage(arguments: [String], phrase: String) throws {
    let directory = try TemporaryDirectory()
    let result = try CommandRunner.run(
      ["convert", Self.llama, directory.file("out.emoe")] + arguments)
    #expect(result.status == 64, "\(arguments): \(result.stderr)")
    #expect(result.stderr.contains(phrase), "\(arguments): \(result.stderr)")
    #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
  }

  @Test("--layers past the model's last layer exits 2 and quotes the item given")
  func layersPastTheEnd() throws {
    let directory = try TemporaryDirectory()
    for (spec, phrases) in [
      ("last:9", ["--layers last:9", "last 9 layers", "4 layers (0...3)"]),
      ("7", ["--layers 7", "layer 7 does not exist", "4 layers"]),
      ("1-6", ["--layers 1-6", "layer 6", "4 layers"]),
      ("from:5/every:2", ["--layers from:5/every:2", "layer 5", "4 layers"]),
    ] {
      let result = try CommandRunner.run(
        ["convert", Self.llama, directory.file("out.emoe"), "--layers", spec])
      #expect(result.status == 2, "\(spec): \(result.stderr)")
      for phrase in phrases {
        #expect(result.stderr.contains(phrase), "\(spec): '\(phrase)' not in \(result.stderr)")
      }
      #expect(!result.stderr.contains("layer -"), "\(spec): \(result.stderr)")
    }
  }

  @Test("verify, run and export: invalid values exit 64, values the container refutes exit 2")
  func otherCommands() throws {
    let directory = try TemporaryDirectory()
    let container = try VerifyRunCommandTests.convert("llama-tiny", in: directory)
    let inputs = directory.file("x.safetensors")
    try SafeTensorsWriter.write(
      to: inputs,
      tensors: [
        Tensor(
          name: "hidden_states", shape: [2, 64],
          float32: (0..<128).map { (index: Int) -> Float in Float(index % 7) / 7 })
      ])
    let out = directory.file("y.safetensors")
    let cases: [(arguments: [String], status: Int32, phrase: String)] = [
      (
        ["verify", container, "--tolerance", "-1"], 64,
        "--tolerance must be a positive number, not -1"
      ),
      (
        ["verify", container, "--tolerance=-1"], 64, "--tolerance must be a positive number, not -1"
      ),
      (
        ["verify", container, "--tolerance", "nan"], 64,
        "--tolerance must be a positive number, not nan"
      ),
      (["verify", container, "--tokens", "0"], 64, "--tokens must be at least 1, not 0"),
      (["verify", container, "--tokens", "-3"], 64, "--tokens must be at least 1, not -3"),
      (["verify", container, "--top-k", "0"], 64, "'0'"),
      (["verify", container, "--top-k", "65"], 2, "--top-k 65"),
      (["run", container, "--inputs", inputs, "--out", out, "--top-k", "0"], 64, "not 0"),
      (["run", container, "--inputs", inputs, "--out", out, "--layer", "-1"], 64, "not -1"),
      (["run", container, "--inputs", inputs, "--out", out, "--top-k", "65"], 2, "top-k 65"),
      (["run", container, "--inputs", inputs, "--out", out, "--layer", "3"], 2, "layer 3"),
      (["export", container, directory.file("e"), "--to", "gguf", "--top-k", "0"], 64, "not 0"),
      (["convert", Self.llama, directory.file("c.emoe"), "--seed", "-1"], 64, "not -1"),
      (["batch", directory.file("m.json"), "--jobs", "0"], 64, "--jobs must be at least 1, not 0"),
    ]
    for (arguments, status, phrase) in cases {
      let result = try CommandRunner.run(arguments)
      #expect(result.status == status, "\(arguments): \(result.stderr)")
      #expect(result.stderr.contains(phrase), "\(arguments): '\(phrase)' not in \(result.stderr)")
    }
    #expect(!FileManager.default.fileExists(atPath: out))
  }
}

extension ExitCodeTests {
  @Test("export blames the container, not the output, for content a writer refuses (exit 2)")
  func exportNamesTheContainer() throws {
    let directory = try TemporaryDirectory()
    let path = directory.file("odd.emoe")
    // A passthrough tensor named `__metadata__`: a valid container, but no safetensors file can
    // hold a tensor of that name.
    let declarations = [
      ContainerTensorDeclaration(name: "__metadata__", dtype: .f32, shape: [2]),
      ContainerTensorDeclaration(name: "perm", dtype: .i64, shape: [4]),
      ContainerTensorDeclaration(name: "gate", dtype: .f32, shape: [2, 8]),
      ContainerTensorDeclaration(
        name: "w1", dtype: .f32, shape: [4, 8],
        source: ContainerTensorSource(
          name: "fc1.weight", dtype: .f32, shape: [4, 8], transposed: false, values: .exact)),
      ContainerTensorDeclaration(
        name: "w2", dtype: .f32, shape: [4, 8],
        source: ContainerTensorSource(
          name: "fc2.weight", dtype: .f32, shape: [8, 4], transposed: true, values: .exact)),
    ]
    let layer = ContainerLayerRecord(
      layer: 0, family: .plain, activation: "gelu", transposedSource: false, hiddenSize: 8,
      intermediateSize: 4, expertCount: 2, expertSizes: [2, 2], topK: 1,
      clustering: .init(
        method: "balanced_kmeans", keys: .w1, seed: 0, restarts: 1, iterations: 1, sse: 0),
      tensors: [.permutation: "perm", .router: "gate", .w1: "w1", .w2: "w2"])
    let plan = ContainerPlan(
      tool: ContainerTool(name: "emoe-pack", version: "0.1.0"), options: .object([]),
      source: ContainerSourceDescription(
        format: "safetensors",
        files: [
          ContainerSourceFile(
            name: "model.safetensors", size: 1, sha256: String(repeating: "0", count: 64))
        ],
        metadata: .safetensors([]), config: nil),
      layers: [layer], tensors: declarations)
    let writer = try ContainerWriter(path: path, plan: plan)
    try writer.append("__metadata__", floats: [1, 2])
    try [Int64(0), 1, 2, 3].withUnsafeBytes { try writer.append("perm", bytes: $0) }
    try writer.append("gate", floats: [Float](repeating: 0.5, count: 16))
    try writer.append("w1", floats: [Float](repeating: 0.25, count: 32))
    try writer.append("w2", floats: [Float](repeating: 0.125, count: 32))
    try writer.commit()

    let output = directory.file("export")
    let result = try CommandRunner.run(["export", path, output, "--to", "safetensors"])
    #expect(result.status == 2, "\(result.stderr)")
    #expect(result.stderr.hasPrefix("Error: \(path): "), "\(result.stderr)")
    #expect(result.stderr.contains("__metadata__"), "\(result.stderr)")
    #expect(!FileManager.default.fileExists(atPath: output + "/model.safetensors"))
  }
}
