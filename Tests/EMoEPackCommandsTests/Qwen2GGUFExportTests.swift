import EMoECore
import EMoEFormats
import EMoETestSupport
import EMoETokenizers
import Foundation
import Testing

/// `export --to gguf` of a Qwen2 safetensors checkpoint, checked by llama.cpp itself.
///
/// Every layer converted exports as llama.cpp's `llama`, a layer subset as `ernie4_5-moe`.
/// llama.cpp's logits on the tiny Qwen2's token ids are compared with transformers' dense
/// float64 logits at k = E and with `emoe-pack run --model` at k < E; gguf-py reads back the q/k biases permuted per head as
/// `convert_hf_to_gguf.py` permutes them and the v bias as it is; llama.cpp tokenises with the
/// Qwen2 pre-tokenizer as the `tokenizers` package does. Every refusal exits 2 and says why.
///
/// The tiny Qwen2 (TinyDecoders, transformers, seeded; q/k/v biases non-trivial) and its
/// Qwen2-style tokenizer (`Tests/Oracles/qwen2_gguf.py fixture`) are made once and cached in
/// `.cache/fixtures`.
@Suite("export --to gguf of Qwen2 computed by llama.cpp", .serialized)
struct Qwen2GGUFExportTests {
  static let modules = ["torch", "transformers", "safetensors", "tokenizers", "gguf", "llama_cpp"]

  /// A text whose digit runs split differently under Qwen2's pattern (one digit per piece)
  /// and LLaMA 3's (up to three), with a merge `1 2` that only the latter could apply.
  static let text = "then 12345 sheep, in 2024!\n\nthe end"

  /// The cached tiny Qwen2 folder with its tokenizer, token ids and transformers' logits.
  static func fixture() throws -> String {
    let folder = TestPaths.repositoryRoot + "/.cache/fixtures/tiny-qwen2-v1"
    if FileSystem.exists(folder + "/hf_logits.safetensors") { return folder }
    let directory = try TemporaryDirectory()
    let made = try TinyDecoders.make("qwen2", in: directory)
    _ = try LlamaCppExportTests.oracle("qwen2_gguf.py", ["fixture", made])
    let manager = FileManager.default
    let staging = folder + ".partial"
    try? manager.removeItem(atPath: staging)
    try manager.createDirectory(
      atPath: FileSystem.directory(of: folder), withIntermediateDirectories: true)
    try manager.copyItem(atPath: made, toPath: staging)
    try? manager.removeItem(atPath: folder)
    try manager.moveItem(atPath: staging, toPath: folder)
    return folder
  }

  /// Converts the fixture with `options` and exports it at k = E and at k = 2; returns the
  /// container and the two GGUFs.
  static func exports(_ folder: String, _ options: [String], in directory: TemporaryDirectory)
    throws -> (container: String, full: String, k2: String)
  {
    let container = directory.file("qwen2.emoe")
    try ExportSteps.pack(
      ["convert", folder, container, "--experts", "4", "--restarts", "1"] + options)
    let full = directory.file("k4.gguf")
    let k2 = directory.file("k2.gguf")
    try ExportSteps.pack(["export", container, full, "--to", "gguf", "--source", folder])
    try ExportSteps.pack([
      "export", container, k2, "--to", "gguf", "--top-k", "2", "--source", folder,
    ])
    return (container, full, k2)
  }

  /// Checks one pair of exports: architecture, biases, tokenizer, and the logits (k = E against
  /// transformers, k = 2 against `run --model --top-k 2`).
  static func check(
    _ folder: String, _ files: (container: String, full: String, k2: String),
    architecture: String, in directory: TemporaryDirectory
  ) throws {
    for gguf in [files.full, files.k2] {
      let tensors = try LlamaCppExportTests.oracle("qwen2_gguf.py", ["tensors", gguf, folder])
      #expect(tensors["architecture"] == .string(architecture), "\(tensors)")
      #expect(tensors["pre"] == .string("qwen2"), "\(tensors)")
      // 2 layers × (q and k weights and biases, v bias).
      #expect(tensors["checked"]?.intValue == 10, "\(tensors)")
    }
    let tokens = try LlamaCppExportTests.oracle(
      "qwen2_gguf.py", ["tokenize", files.full, folder, Self.text])
    let expected = (tokens["tokenizers"]?.arrayValue ?? []).compactMap { $0.intValue }
    #expect(expected.count >= 20, "\(tokens)")
    // emoe-pack's own tokenizer agrees, read from the GGUF (pre qwen2) and from the source's
    // tokenizer.json (NFC, Qwen2's Split: ByteLevelSplit, as the export read it).
    for tokenizer in [
      try Tokenizer.load(gguf: GGUFFile(path: files.full)),
      try Tokenizer.load(tokenizerJSON: folder + "/tokenizer.json"),
    ] {
      #expect(tokenizer.encode(Self.text, addSpecialTokens: false).map(Int.init) == expected)
    }

    // Measured (F32 KV cache): k = E against transformers 1.1e-7 of the logits' range, cosine
    // 1 - 1e-14, for both architectures; q/k biases left unpermuted give 3.7e-3 (cosine
    // 0.99997, so the cosine alone would not see them).
    let dense = try LlamaCppExportTests.oracle(
      "qwen2_gguf.py", ["compare", files.full, folder, folder + "/hf_logits.safetensors"])
    #expect(try LlamaCppExportTests.number(dense, "relative") <= 1e-5, "\(dense)")
    #expect(try LlamaCppExportTests.number(dense, "cosine_min") >= 0.9999, "\(dense)")
    #expect(dense["argmax_agreement"]?.doubleValue == 1, "\(dense)")

    // k = 2 weights each selected expert within 1.6 % of EMoE's 1 (GGUFRouterScale). Measured:
    // 2.5e-6 (llama), 7.7e-7 (ernie4_5-moe) of the range, cosine at least 1 - 1.5e-11.
    let reference = directory.file("run-k2.safetensors")
    try ExportSteps.pack([
      "run", files.container, "--model", "--inputs", folder + "/ids.safetensors", "--out",
      reference, "--top-k", "2",
    ])
    let routed = try LlamaCppExportTests.oracle(
      "qwen2_gguf.py", ["compare", files.k2, folder, reference])
    #expect(try LlamaCppExportTests.number(routed, "relative") <= 1e-4, "\(routed)")
    #expect(try LlamaCppExportTests.number(routed, "cosine_min") >= 0.9999, "\(routed)")
    print(
      "Qwen2 \(architecture): k = E vs transformers \(dense.serialized()); k = 2 vs run --model "
        + routed.serialized())
  }

  @Test(
    "every layer exports as llama: biases permuted, llama.cpp equals transformers at k = E and run --model at k = 2",
    .enabled(if: Oracles.python(modules)))
  func allLayers() throws {
    try PythonOracle.require(Self.modules)
    let folder = try Self.fixture()
    let directory = try TemporaryDirectory()
    let files = try Self.exports(folder, ["--layers", "all"], in: directory)
    #expect(try GGUFFile(path: files.full).value(forKey: "llama.expert_used_count") == .uint32(4))
    #expect(try GGUFFile(path: files.k2).value(forKey: "llama.expert_used_count") == .uint32(2))
    try Self.check(folder, files, architecture: "llama", in: directory)
  }

  @Test(
    "a layer subset exports as ernie4_5-moe with the biases, equal to transformers at k = E and run --model at k = 2",
    .enabled(if: Oracles.python(modules)))
  func layerSubset() throws {
    try PythonOracle.require(Self.modules)
    let folder = try Self.fixture()
    let directory = try TemporaryDirectory()
    // Layer 0 clustered; layer 1 left dense becomes ernie4_5-moe's shared expert.
    let files = try Self.exports(folder, ["--layers", "0"], in: directory)
    try Self.check(folder, files, architecture: "ernie4_5-moe", in: directory)
  }

  /// `folder` copied to `name` in `directory` with `change` applied to the object in `file`.
  static func edited(
    _ folder: String, _ name: String, in directory: TemporaryDirectory, file: String,
    _ change: (inout [JSONMember]) -> Void
  ) throws -> String {
    let copy = directory.file(name)
    try FileManager.default.copyItem(atPath: folder, toPath: copy)
    let path = copy + "/" + file
    var members = try #require(
      try JSONValue.parse(String(contentsOfFile: path, encoding: .utf8)).objectValue)
    change(&members)
    try JSONValue.object(members).serialized().write(
      toFile: path, atomically: true, encoding: .utf8)
    return copy
  }

  /// Sets `key` to `value` among `members`.
  static func set(_ members: inout [JSONMember], _ key: String, _ value: JSONValue) {
    members.removeAll { $0.key == key }
    members.append(JSONMember(key, value))
  }

  @Test(
    "sliding-window attention, a sliding layer type, an unknown normaliser and YaRN exit 2 naming the key",
    .enabled(if: Oracles.python(modules)))
  func refusals() throws {
    try PythonOracle.require(Self.modules)
    let folder = try Self.fixture()
    let directory = try TemporaryDirectory()
    let cases: [(name: String, file: String, key: String, change: (inout [JSONMember]) -> Void)] =
      [
        (
          "window", "config.json", "use_sliding_window",
          { Self.set(&$0, "use_sliding_window", .bool(true)) }
        ),
        (
          "types", "config.json", "layer_types",
          {
            Self.set(
              &$0, "layer_types",
              .array([.string("full_attention"), .string("sliding_attention")]))
          }
        ),
        (
          "yarn", "config.json", "rope_scaling",
          {
            Self.set(
              &$0, "rope_scaling",
              .object([
                JSONMember("rope_type", .string("yarn")), JSONMember("factor", .number(4)),
              ]))
          }
        ),
        (
          "nfkc", "tokenizer.json", "normalizer",
          { Self.set(&$0, "normalizer", .object([JSONMember("type", .string("NFKC"))])) }
        ),
      ]
    for item in cases {
      let source = try Self.edited(folder, item.name, in: directory, file: item.file, item.change)
      let container = directory.file(item.name + ".emoe")
      try ExportSteps.pack([
        "convert", source, container, "--experts", "4", "--layers", "all", "--restarts", "1",
      ])
      let output = directory.file(item.name + ".gguf")
      let result = try CommandRunner.run([
        "export", container, output, "--to", "gguf", "--source", source,
      ])
      #expect(result.status == 2, "\(item.name): \(result.stderr)")
      #expect(result.stderr.contains(item.key), "\(item.name): \(result.stderr)")
      #expect(!FileSystem.exists(output), "\(item.name)")
      switch item.name {
      case "window", "types":
        #expect(result.stderr.contains("no sliding-window attention"), "\(result.stderr)")
      case "nfkc":
        #expect(result.stderr.contains("supported: none, NFC"), "\(result.stderr)")
      default:
        #expect(result.stderr.contains("'yarn'"), "\(result.stderr)")
      }
    }
  }
}
