import EMoECore
import EMoEFormats
import EMoETestSupport
import Foundation
import Testing

/// The command line against files that claim what they cannot hold, inputs that are not regular
/// files, inputs that shrink while read, and names that carry terminal escapes: each ends with
/// a documented exit code and a message naming the file, within a time limit, never a trap, a
/// hang or a leftover temporary file.
@Suite("emoe-pack on hostile inputs")
struct HostileInputCommandTests {
  static func fixture(_ name: String) -> String { TestPaths.fixtures + "/models/" + name }

  /// Runs `emoe-pack` with a time limit; a run that has to be killed fails the test.
  static func run(
    _ arguments: [String], timeout: TimeInterval = 60, environment: [String: String]? = nil
  ) throws -> CommandRunner.Output {
    let output = try ChildProcess.run(
      CommandRunner.executable, arguments, environment: environment, timeout: timeout)
    return try #require(
      output, "emoe-pack \(arguments.joined(separator: " ")) ran past \(timeout) s")
  }

  /// A copy of llama-tiny in `directory` with `edit` applied to its config.json.
  static func llamaTiny(in directory: TemporaryDirectory, config edit: (String) -> String = { $0 })
    throws -> String
  {
    try FileManager.default.copyItem(
      atPath: fixture("llama-tiny") + "/model.safetensors",
      toPath: directory.file("model.safetensors"))
    let config = try String(contentsOfFile: fixture("llama-tiny") + "/config.json", encoding: .utf8)
    try edit(config).write(toFile: directory.file("config.json"), atomically: true, encoding: .utf8)
    return directory.file("model.safetensors")
  }

  /// A GGUF llama of llama-tiny's FFN tensors (4 layers) declaring `blockCount` layers.
  static func tinyGGUF(at path: String, blockCount: UInt32) throws {
    let source = try SafeTensorsFile(path: fixture("llama-tiny") + "/model.safetensors")
    var tensors: [Tensor] = []
    for layer in 0..<4 {
      for (hf, gg) in [("gate_proj", "ffn_gate"), ("up_proj", "ffn_up"), ("down_proj", "ffn_down")]
      {
        let tensor = try source.tensor(named: "model.layers.\(layer).mlp.\(hf).weight")
        tensors.append(
          Tensor(
            name: "blk.\(layer).\(gg).weight", dtype: tensor.dtype, shape: tensor.shape,
            storage: .owned(tensor.withUnsafeBytes { Array($0) })))
      }
    }
    try GGUFWriter.write(
      to: path,
      metadata: [
        ("general.architecture", .string("llama")), ("llama.block_count", .uint32(blockCount)),
      ], tensors: tensors)
  }

  /// Replaces the manifest of the container at `path` by `edit` of its text (re-padded to the
  /// same length, after dropping `options` to make room) and repairs the header checksum.
  static func editManifest(_ path: String, _ edit: (String) throws -> String) throws {
    var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    let dataOffset = bytes[32..<40].withUnsafeBytes {
      Int(UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)))
    }
    var text = String(decoding: bytes[64..<dataOffset], as: UTF8.self)
    while text.hasSuffix(" ") { text.removeLast() }
    let options = try #require(try JSONValue.parse(text)["options"]).serialized()
    text = text.replacingOccurrences(of: #""options":"# + options, with: #""options":{}"#)
    text = try edit(text)
    let length = dataOffset - 64
    try #require(text.utf8.count <= length, "the edited manifest does not fit")
    bytes.replaceSubrange(
      64..<dataOffset,
      with: Array(text.utf8) + [UInt8](repeating: 0x20, count: length - text.utf8.count))
    var head = Array(bytes[0..<dataOffset])
    for index in 48..<56 { head[index] = 0 }
    let digest = XXH64.hash(head)
    bytes.replaceSubrange(48..<56, with: withUnsafeBytes(of: digest.littleEndian) { Array($0) })
    try Data(bytes).write(to: URL(fileURLWithPath: path))
  }

  /// `text` with the first `"key":<digits>` set to `value`.
  static func setting(_ key: String, to value: String, in text: String) throws -> String {
    let pattern = try Regex("\"\(key)\":[0-9]+")
    let match = try #require(text.firstMatch(of: pattern))
    return text.replacingCharacters(in: match.range, with: "\"\(key)\":\(value)")
  }

  @Test("a container layer claiming n = 2^63 - 1 fails cleanly in every command")
  func hugeLayerInEveryCommand() throws {
    let directory = try TemporaryDirectory()
    let container = directory.file("huge.emoe")
    let convert = try Self.run([
      "convert", Self.fixture("llama-tiny"), container, "--restarts", "1", "--quiet",
    ])
    try #require(convert.status == 0, "\(convert.stderr)")
    try Self.editManifest(container) { try Self.setting("n", to: "9223372036854775807", in: $0) }
    let inputs = directory.file("inputs.safetensors")
    try SafeTensorsWriter.write(
      to: inputs,
      tensors: [
        Tensor(
          name: "hidden_states", dtype: .f32, shape: [1, 64],
          storage: .owned([UInt8](repeating: 0, count: 256)))
      ])
    let commands: [([String], Set<Int32>)] = [
      (["inspect", container], [2]),
      (["inspect", container, "--json"], [2]),
      (["inspect", container, "--check"], [2, 3]),
      (["verify", container], [3]),
      (["run", container, "--inputs", inputs, "--out", directory.file("y.safetensors")], [2]),
      (["export", container, directory.file("hf"), "--to", "safetensors"], [2]),
    ]
    for (arguments, expected) in commands {
      let output = try Self.run(arguments)
      #expect(
        expected.contains(output.status),
        "\(arguments.joined(separator: " ")): exit \(output.status): \(output.stderr)")
      #expect(!output.stderr.contains("Fatal error"), "\(output.stderr)")
    }
  }

  @Test("a recorded config.json whose head_dim x heads overflows fails run --model cleanly")
  func hugeHeadSize() throws {
    let directory = try TemporaryDirectory()
    let container = directory.file("heads.emoe")
    let convert = try Self.run([
      "convert", Self.fixture("llama-tiny"), container, "--restarts", "1", "--quiet",
    ])
    try #require(convert.status == 0, "\(convert.stderr)")
    try Self.editManifest(container) {
      try Self.setting("head_dim", to: "4611686018427387904", in: $0)
    }
    let ids = directory.file("ids.safetensors")
    try SafeTensorsWriter.write(
      to: ids,
      tensors: [
        Tensor(
          name: "input_ids", dtype: .i64, shape: [2],
          storage: .owned([1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0]))
      ])
    let output = try Self.run([
      "run", container, "--model", "--inputs", ids, "--out", directory.file("y.safetensors"),
    ])
    #expect(output.status == 2, "\(output.stderr)")
    #expect(output.stderr.contains("overflows"), "\(output.stderr)")
  }

  @Test("verify --tokens beyond the limit exits 2 naming the limit, allocating nothing")
  func tokensLimit() throws {
    let directory = try TemporaryDirectory()
    let container = directory.file("tiny.emoe")
    let convert = try Self.run([
      "convert", Self.fixture("llama-tiny"), container, "--restarts", "1", "--quiet",
    ])
    try #require(convert.status == 0, "\(convert.stderr)")
    let output = try Self.run(["verify", container, "--tokens", "100000000000"])
    #expect(output.status == 2, "\(output.stderr)")
    #expect(output.stderr.contains("--tokens 100000000000 is above the limit of 65536"))
  }

  @Test("a FIFO as input, config, shard, index or manifest is refused at once with exit 2")
  func fifoInputs() throws {
    let directory = try TemporaryDirectory()
    let fifo = directory.file("model.safetensors")
    #expect(mkfifo(fifo, 0o600) == 0)
    let output = directory.file("out.emoe")
    for arguments in [
      ["inspect", fifo], ["convert", fifo, output], ["verify", fifo], ["batch", fifo],
      ["export", fifo, directory.file("hf"), "--to", "safetensors"],
    ] {
      let result = try Self.run(arguments, timeout: 30)
      #expect(result.status == 2, "\(arguments[0]): exit \(result.status): \(result.stderr)")
      #expect(result.stderr.contains("\(fifo): is a FIFO, not a regular file"), "\(result.stderr)")
    }
    // A config.json that is a FIFO beside a real model.
    let model = try TemporaryDirectory()
    try FileManager.default.copyItem(
      atPath: Self.fixture("llama-tiny") + "/model.safetensors",
      toPath: model.file("model.safetensors"))
    #expect(mkfifo(model.file("config.json"), 0o600) == 0)
    let config = try Self.run(["convert", model.file("model.safetensors"), output], timeout: 30)
    #expect(config.status == 2, "\(config.stderr)")
    #expect(config.stderr.contains(model.file("config.json")), "\(config.stderr)")
    #expect(!FileManager.default.fileExists(atPath: output))
  }

  @Test("num_hidden_layers = 2^63 - 1 in config.json is refused at once, naming the key")
  func hugeConfigLayerCount() throws {
    let directory = try TemporaryDirectory()
    let model = try Self.llamaTiny(in: directory) {
      $0.replacingOccurrences(
        of: #""num_hidden_layers": 4"#, with: #""num_hidden_layers": 9223372036854775807"#)
    }
    let output = directory.file("out.emoe")
    let result = try Self.run(["convert", model, output], timeout: 60)
    #expect(result.status == 2, "\(result.stderr)")
    #expect(result.stderr.contains("num_hidden_layers"), "\(result.stderr)")
    #expect(result.stderr.contains("9223372036854775807 layers"), "\(result.stderr)")
    #expect(!FileManager.default.fileExists(atPath: output))
  }

  @Test("a config.json of 3 million values is refused before json-c builds them")
  func configOfManyValues() throws {
    let directory = try TemporaryDirectory()
    let model = try Self.llamaTiny(in: directory) { config in
      let zeros = Array(repeating: "0", count: 3_000_000).joined(separator: ",")
      return String(config.dropLast(2)) + #","padding":["# + zeros + "]}\n"
    }
    let output = directory.file("out.emoe")
    let result = try Self.run(["convert", model, output], timeout: 60)
    #expect(result.status == 2, "\(result.stderr)")
    #expect(result.stderr.contains(directory.file("config.json")), "\(result.stderr)")
    #expect(result.stderr.contains("more than 2097152 values"), "\(result.stderr)")
  }

  @Test("block_count = 2^32 - 1 in a GGUF is refused by convert and by export --to gguf")
  func hugeBlockCount() throws {
    let directory = try TemporaryDirectory()
    let huge = directory.file("huge.gguf")
    try Self.tinyGGUF(at: huge, blockCount: UInt32.max)
    let refused = try Self.run(["convert", huge, directory.file("huge.emoe")], timeout: 60)
    #expect(refused.status == 2, "\(refused.stderr)")
    #expect(refused.stderr.contains("llama.block_count"), "\(refused.stderr)")

    let honest = directory.file("tiny.gguf")
    try Self.tinyGGUF(at: honest, blockCount: 4)
    let container = directory.file("tiny.emoe")
    let convert = try Self.run([
      "convert", honest, container, "--experts", "4", "--layers", "all", "--restarts", "1",
      "--quiet",
    ])
    try #require(convert.status == 0, "\(convert.stderr)")
    try Self.editManifest(container) { text in
      let old = #""key":"llama.block_count","type":"uint32","value":4"#
      #expect(text.contains(old))
      return text.replacingOccurrences(
        of: old, with: #""key":"llama.block_count","type":"uint32","value":4294967295"#)
    }
    let output = directory.file("moe.gguf")
    let export = try Self.run(["export", container, output, "--to", "gguf"], timeout: 60)
    #expect(export.status == 2, "\(export.stderr)")
    #expect(export.stderr.contains("declares 4294967295 layers"), "\(export.stderr)")
    #expect(!FileManager.default.fileExists(atPath: output))
  }

  @Test("an input truncated during convert: exit 1 naming it, no temporary file left")
  func inputShrinksWhileRead() throws {
    let input = try TemporaryDirectory()
    let model = try Self.llamaTiny(in: input)
    let outputs = try TemporaryDirectory()
    let marker = input.file("paused")
    var environment = ProcessInfo.processInfo.environment
    environment["EMOE_TEST_PAUSE_AFTER_TEMPORARY"] = marker
    let process = try ChildProcess.start(
      CommandRunner.executable,
      ["convert", model, outputs.file("out.emoe"), "--restarts", "1", "--quiet"],
      environment: environment)
    var waited = 0
    while !FileManager.default.fileExists(atPath: marker), process.isRunning, waited < 6000 {
      usleep(10_000)
      waited += 1
    }
    #expect(FileManager.default.fileExists(atPath: marker), "the hook never paused")
    #expect(truncate(model, 0) == 0)
    try? FileManager.default.removeItem(atPath: marker)
    let result = try #require(
      process.wait(deadline: .now() + 60), "convert did not finish after its input was truncated")
    let stderr = result.stderr
    #expect(result.exited, "killed by signal \(result.status)")
    #expect(result.status == 1, "\(stderr)")
    #expect(stderr.contains("Error: \(model): the file changed"), "\(stderr)")
    #expect(try FileManager.default.contentsOfDirectory(atPath: outputs.path).isEmpty)
  }

  @Test("inspect escapes control characters of names and metadata; --json stays valid")
  func inspectEscapes() throws {
    let directory = try TemporaryDirectory()
    let path = directory.file("escapes.safetensors")
    let header =
      #"{"__metadata__":{"note":"a\u001b[2Jb\rc"},"x\u001b]0;pwned\u0007":"#
      + #"{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#
    var bytes = withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { Array($0) }
    bytes += Array(header.utf8) + [0, 0, 0, 0]
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    let text = try Self.run(["inspect", path])
    #expect(text.status == 0, "\(text.stderr)")
    for control in ["\u{1B}", "\r", "\u{07}"] {
      #expect(!text.stdout.contains(control), "raw \(control.unicodeScalars.first!.value)")
    }
    #expect(text.stdout.contains(#"x\u{1B}]0;pwned\u{7}"#), "\(text.stdout)")
    #expect(text.stdout.contains(#"a\u{1B}[2Jb\rc"#), "\(text.stdout)")
    // An error quoting a hostile name escapes it too.
    let bad = directory.file("bad.safetensors")
    let badHeader = #"{"y\u001b[2J":{"dtype":"F99","shape":[1],"data_offsets":[0,4]}}"#
    var badBytes = withUnsafeBytes(of: UInt64(badHeader.utf8.count).littleEndian) { Array($0) }
    badBytes += Array(badHeader.utf8) + [0, 0, 0, 0]
    try Data(badBytes).write(to: URL(fileURLWithPath: bad))
    let failure = try Self.run(["inspect", bad])
    #expect(failure.status == 2, "\(failure.stderr)")
    #expect(!failure.stderr.contains("\u{1B}"), "\(failure.stderr)")
    #expect(failure.stderr.contains(#"y\u{1B}[2J"#), "\(failure.stderr)")
    let json = try Self.run(["inspect", path, "--json"])
    #expect(json.status == 0)
    let document = try JSONValue.parse(json.stdout)
    #expect(json.stdout.contains(#"\u001b"#))
    #expect(document.serialized().contains("pwned"))
  }
}
