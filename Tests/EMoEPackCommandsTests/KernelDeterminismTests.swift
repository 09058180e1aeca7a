import EMoECore
import EMoEFormats
import EMoETestSupport
import Foundation
import Testing

/// What holds across the CPU kernels OpenBLAS may pick and across thread counts, checked by
/// running the real binary under `OPENBLAS_CORETYPE` and `EMOE_THREADS` (docs/reliability.md).
///
/// - convert writes the same bytes on every kernel and with every thread count;
/// - run gives the same bits for every thread count on one kernel, and agrees across kernels to
///   float rounding (the kernels round their products differently).
@Suite("Determinism across OpenBLAS kernels and thread counts", .serialized)
struct KernelDeterminismTests {
  /// The x86-64 kernels named in the issue, from the oldest baseline to AVX-512.
  static let kernels = ["Prescott", "Haswell", "Zen", "SkylakeX"]
  static let threadCounts = [1, 2, 3]
  /// Kernel and thread-count pairs for convert: every kernel, and both counts on two of them.
  static let runs = [
    ("Prescott", 1), ("Haswell", 2), ("Zen", 1), ("Zen", 2), ("SkylakeX", 1), ("SkylakeX", 3),
  ]
  /// Fewer pairs for the real models, whose conversions take seconds each.
  static let realModelRuns = [("Prescott", 2), ("Zen", 1), ("SkylakeX", 2)]

  /// Relative difference allowed between kernels: max|Δ| / max|y|.
  static let crossKernelTolerance: Float = 1e-4

  static func environment(kernel: String, threads: Int) -> [String: String] {
    var environment = ProcessInfo.processInfo.environment
    environment["OPENBLAS_CORETYPE"] = kernel
    environment["EMOE_THREADS"] = String(threads)
    return environment
  }

  static func fixture(_ name: String) -> String {
    TestPaths.fixtures + "/models/" + name + "/model.safetensors"
  }

  static func bytes(_ path: String) throws -> Data {
    try Data(contentsOf: URL(fileURLWithPath: path))
  }

  /// The models converted under every kernel: the fixtures and, where present, the real ones.
  static func conversions() throws -> [(name: String, input: String, options: [String])] {
    var cases: [(String, String, [String])] = [
      ("llama-tiny", fixture("llama-tiny"), []),
      ("bert-tiny", fixture("bert-tiny"), ["--experts", "8"]),
      ("gpt2-tiny", fixture("gpt2-tiny"), ["--quantize", "int8"]),
    ]
    if let miniLM = try TestPaths.miniLM() { cases.append(("minilm", miniLM, [])) }
    if let smol = try TestPaths.smolLM2() {
      cases.append(("smollm2", smol, ["--layers", "last:2", "--experts", "16"]))
    }
    return cases
  }

  @Test("convert writes the same bytes on every kernel and thread count")
  func convertBytes() throws {
    let directory = try TemporaryDirectory()
    let fixtureModels: Set = ["llama-tiny", "bert-tiny", "gpt2-tiny"]
    for (name, input, options) in try Self.conversions() {
      var reference: (label: String, data: Data)?
      for (kernel, threads) in fixtureModels.contains(name) ? Self.runs : Self.realModelRuns {
        let output = directory.file("\(name)-\(kernel)-\(threads).emoe")
        let result = try CommandRunner.run(
          ["convert", input, output, "--quiet"] + options,
          environment: Self.environment(kernel: kernel, threads: threads))
        try #require(result.status == 0, "\(name) on \(kernel): \(result.stderr)")
        let data = try Self.bytes(output)
        let label = "\(kernel), \(threads) threads"
        if let reference {
          #expect(data == reference.data, "\(name): \(label) differs from \(reference.label)")
        } else {
          reference = (label, data)
        }
        try? FileManager.default.removeItem(atPath: output)
      }
    }
  }

  /// Random hidden states `[tokens, d]` for `run --layer`.
  static func hiddenStates(tokens: Int, d: Int, to path: String) throws {
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    let values = (0..<(tokens * d)).map { _ -> Float in
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return Float(Int64(bitPattern: state >> 11) % 2001 - 1000) / 500
    }
    try SafeTensorsWriter.write(
      to: path,
      tensors: [
        Tensor(
          name: "hidden_states", dtype: .f32, shape: [tokens, d],
          storage: .owned(values.withUnsafeBytes { Array($0) }))
      ])
  }

  static func tokenIDs(_ ids: [Int64], to path: String) throws {
    try SafeTensorsWriter.write(
      to: path,
      tensors: [
        Tensor(
          name: "input_ids", dtype: .i64, shape: [1, ids.count],
          storage: .owned(ids.withUnsafeBytes { Array($0) }))
      ])
  }

  /// Runs `run` under every kernel and thread count; checks bit equality across thread counts
  /// per kernel and closeness across kernels, for the tensor `name` of the output.
  static func checkRun(
    _ label: String, arguments: [String], tensor name: String, in directory: TemporaryDirectory
  ) throws {
    var perKernel: [(kernel: String, values: [Float])] = []
    for kernel in kernels {
      var first: [Float]?
      for threads in threadCounts {
        let output = directory.file("\(label)-\(kernel)-\(threads).safetensors")
        let result = try CommandRunner.run(
          ["run"] + arguments + ["--out", output, "--quiet"],
          environment: environment(kernel: kernel, threads: threads))
        try #require(result.status == 0, "\(label) on \(kernel): \(result.stderr)")
        let values = try SafeTensorsFile(path: output).tensor(named: name).floatValues()
        if let first {
          let difference = BitDifference.between(first, values)
          #expect(
            difference == nil,
            "\(label) on \(kernel), \(threads) threads vs 1: \(difference.map(String.init(describing:)) ?? "")"
          )
        } else {
          first = values
          perKernel.append((kernel, values))
        }
      }
    }
    let (baseKernel, base) = perKernel[0]
    let scale = base.map { abs($0) }.max() ?? 1
    #expect(scale > 0 && scale.isFinite)
    for (kernel, values) in perKernel.dropFirst() {
      try #require(values.count == base.count)
      let error = zip(base, values).map { abs($0 - $1) }.max() ?? 0
      #expect(
        error / scale <= crossKernelTolerance,
        "\(label): \(kernel) vs \(baseKernel) differ by \(error / scale) of max|y|")
    }
  }

  @Test("run gives the same bits for every thread count on each kernel")
  func runOutputs() throws {
    let directory = try TemporaryDirectory()
    let container = directory.file("llama.emoe")
    let converted = try CommandRunner.run([
      "convert", Self.fixture("llama-tiny"), container, "--restarts", "1", "--quiet",
    ])
    try #require(converted.status == 0, "\(converted.stderr)")
    let hidden = directory.file("hidden.safetensors")
    try Self.hiddenStates(tokens: 300, d: 64, to: hidden)
    for path in ["sparse", "masked-k-e"] {
      let topK = path == "sparse" ? ["--top-k", "5"] : ["--top-k", "64"]
      try Self.checkRun(
        "llama-tiny-\(path)", arguments: [container, "--layer", "2", "--inputs", hidden] + topK,
        tensor: "output", in: directory)
    }
    let ids = directory.file("ids.safetensors")
    try Self.tokenIDs([1, 7, 3, 42, 95, 8, 11, 12], to: ids)
    try Self.checkRun(
      "llama-tiny-model", arguments: [container, "--model", "--inputs", ids], tensor: "logits",
      in: directory)
  }

  /// Whether the real SmolLM2 runs here: always under `make test`, where a missing model fails.
  static var smolLM2Runs: Bool { TestPaths.oraclesRequired || (try? TestPaths.smolLM2()) != nil }

  @Test(
    "run on the real SmolLM2: same bits for every thread count, close across kernels",
    .enabled(if: smolLM2Runs))
  func runSmolLM2() throws {
    let directory = try TemporaryDirectory()
    let smol = try #require(try TestPaths.smolLM2())
    let smolContainer = directory.file("smol.emoe")
    let smolConverted = try CommandRunner.run([
      "convert", smol, smolContainer, "--layers", "last:2", "--experts", "16", "--quiet",
    ])
    try #require(smolConverted.status == 0, "\(smolConverted.stderr)")
    let smolHidden = directory.file("smol-hidden.safetensors")
    try Self.hiddenStates(tokens: 300, d: 576, to: smolHidden)
    try Self.checkRun(
      "smollm2-layer",
      arguments: [smolContainer, "--layer", "29", "--inputs", smolHidden, "--top-k", "4"],
      tensor: "output", in: directory)
    let smolIDs = directory.file("smol-ids.safetensors")
    try Self.tokenIDs((0..<48).map { Int64(($0 * 977) % 49_152) }, to: smolIDs)
    try Self.checkRun(
      "smollm2-model", arguments: [smolContainer, "--model", "--inputs", smolIDs],
      tensor: "logits", in: directory)
  }
}
