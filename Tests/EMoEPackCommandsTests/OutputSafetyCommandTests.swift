import EMoECore
import EMoEFormats
import EMoETestSupport
import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Output safety end to end (docs/reliability.md): no command replaces a non-regular or
/// write-protected file, writes over one of its inputs or outputs however the path is spelled,
/// exports into a checkpoint folder it did not write, or writes a depfile Make misreads.
@Suite("Output safety: convert, export, run and --depfile never destroy a file")
struct OutputSafetyCommandTests {
  static func fixture(_ name: String) -> String { TestPaths.fixtures + "/models/" + name }

  /// The bytes of `path`, to prove a refused command left it intact.
  static func bytes(_ path: String) throws -> Data {
    try Data(contentsOf: URL(fileURLWithPath: path))
  }

  /// Copies a fixture model folder into `directory` as `name`.
  static func copyModel(_ model: String, to directory: TemporaryDirectory, as name: String) throws
    -> String
  {
    let path = directory.file(name)
    try FileManager.default.copyItem(atPath: fixture(model), toPath: path)
    return path
  }

  /// Converts gpt2-tiny (one layer, four experts) into `path`.
  static func convert(_ input: String, to path: String) throws {
    let result = try CommandRunner.run([
      "convert", input, path, "--experts", "4", "--layers", "1", "-q",
    ])
    #expect(result.status == 0, "\(result.stderr)")
  }

  /// Runs `emoe-pack arguments`, expecting exit 2 and an error that names `path` and holds
  /// every phrase.
  static func expectRefused(_ arguments: [String], naming path: String, _ phrases: [String] = [])
    throws
  {
    let result = try CommandRunner.run(arguments)
    #expect(result.status == 2, "\(arguments): exit \(result.status), \(result.stderr)")
    #expect(result.stderr.hasPrefix("Error: "), "\(result.stderr)")
    #expect(result.stderr.contains(path), "\(arguments): \(result.stderr)")
    for phrase in phrases {
      #expect(result.stderr.contains(phrase), "\(arguments): '\(phrase)' not in \(result.stderr)")
    }
  }

  @Test("an output that is a FIFO, a symbolic link, a folder or a device is refused, not replaced")
  func nonRegularOutputs() throws {
    let directory = try TemporaryDirectory()
    let input = Self.fixture("gpt2-tiny")
    let fifo = directory.file("fifo.emoe")
    #expect(mkfifo(fifo, 0o644) == 0)
    try Self.expectRefused(
      ["convert", input, fifo], naming: fifo, ["a FIFO", "not a regular file"])
    let target = directory.file("target.emoe")
    try Data([1, 2, 3]).write(to: URL(fileURLWithPath: target))
    let link = directory.file("link.emoe")
    try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
    try Self.expectRefused(["convert", input, link], naming: link, ["a symbolic link"])
    let folder = directory.file("folder.emoe")
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
    try Self.expectRefused(["convert", input, folder], naming: folder, ["a folder"])
    var status = stat()
    #expect(lstat(fifo, &status) == 0 && status.st_mode & S_IFMT == S_IFIFO)
    #expect(lstat(link, &status) == 0 && status.st_mode & S_IFMT == S_IFLNK)
    #expect(try Self.bytes(target) == Data([1, 2, 3]))
    // A character device: a private copy of /dev/null's numbers when the system lets us make
    // one (root with CAP_MKNOD), so no test ever points the tool at the real /dev/null.
    let device = directory.file("null.emoe")
    if mknod(device, S_IFCHR | 0o666, dev_t((1 << 8) | 3)) == 0 {
      try Self.expectRefused(["convert", input, device], naming: device, ["a character device"])
      #expect(lstat(device, &status) == 0 && status.st_mode & S_IFMT == S_IFCHR)
    }
    // The depfile, run --out and export targets go through the same rule.
    try Self.expectRefused(
      ["convert", input, directory.file("ok.emoe"), "--depfile", fifo], naming: fifo, ["a FIFO"])
    #expect(!FileSystem.exists(directory.file("ok.emoe")))
    let container = directory.file("m.emoe")
    try Self.convert(input, to: container)
    try Self.expectRefused(
      ["export", container, fifo, "--to", "safetensors"], naming: fifo, ["not a folder"])
    try Self.expectRefused(["export", container, link, "--to", "gguf"], naming: link)
    try Self.expectRefused(
      ["run", container, "--inputs", container, "--out", fifo], naming: fifo, ["a FIFO"])
  }

  @Test("--depfile naming the input, a shard, config.json or the output exits 2 and keeps it")
  func depfileOverInputs() throws {
    let directory = try TemporaryDirectory()
    let model = try Self.copyModel("llama-tiny-sharded", to: directory, as: "model")
    let output = directory.file("out.emoe")
    let index = model + "/model.safetensors.index.json"
    let shard = model + "/model-00002-of-00002.safetensors"
    let config = model + "/config.json"
    let before = try [index, shard, config].map(Self.bytes)
    for (input, depfile) in [
      (model, index), (index, index), (model, shard), (model, config),
      (model, directory.file("model/../model/config.json")), (model, output),
    ] {
      try Self.expectRefused(
        ["convert", input, output, "--experts", "8", "--layers", "1", "--depfile", depfile],
        naming: depfile, ["--depfile"])
      #expect(!FileSystem.exists(output))
    }
    #expect(try [index, shard, config].map(Self.bytes) == before)
    // A symbolic link and a hard link to a shard are the shard.
    let symbolic = directory.file("shard-link")
    try FileManager.default.createSymbolicLink(atPath: symbolic, withDestinationPath: shard)
    let hard = directory.file("shard-hard")
    #expect(link(shard, hard) == 0)
    for depfile in [symbolic, hard] {
      try Self.expectRefused(
        ["convert", model, output, "--experts", "8", "--layers", "1", "--depfile", depfile],
        naming: depfile, ["would overwrite the input"])
    }
    try Self.expectRefused(
      ["convert", model, hard, "--experts", "8", "--layers", "1"], naming: hard,
      ["would overwrite the input"])
    #expect(try [index, shard, config].map(Self.bytes) == before)
  }

  @Test("export and run refuse to write over their input or the container's source")
  func exportAndRunOverInputs() throws {
    let directory = try TemporaryDirectory()
    let source = try Self.copyModel("gpt2-tiny", to: directory, as: "src")
    let weights = source + "/model.safetensors"
    let container = directory.file("c.emoe")
    try Self.convert(weights, to: container)
    let containerBytes = try Self.bytes(container)
    let sourceBytes = try Self.bytes(weights)
    let configBytes = try Self.bytes(source + "/config.json")
    try Self.expectRefused(
      ["export", container, container, "--to", "gguf"], naming: container,
      ["would overwrite the container"])
    try Self.expectRefused(
      ["export", container, directory.file("src/../c.emoe"), "--to", "gguf"],
      naming: "c.emoe", ["would overwrite the container"])
    // The container's source, wherever it lies and whatever it is called now.
    let renamed = directory.file("SOURCE.gguf")
    try FileManager.default.copyItem(atPath: weights, toPath: renamed)
    try Self.expectRefused(
      ["export", container, renamed, "--to", "gguf"], naming: renamed,
      ["is the source file model.safetensors"])
    try Self.expectRefused(
      ["export", container, source, "--to", "safetensors"], naming: source,
      ["did not write", "config.json"])
    let inputs = directory.file("x.safetensors")
    try SafeTensorsWriter.write(
      to: inputs,
      tensors: [
        Tensor(
          name: "hidden_states", shape: [2, 48],
          float32: (0..<96).map { Float($0 % 7) / 7 })
      ])
    let inputBytes = try Self.bytes(inputs)
    try Self.expectRefused(
      ["run", container, "--inputs", inputs, "--out", container], naming: container,
      ["--out would overwrite the model"])
    try Self.expectRefused(
      ["run", container, "--inputs", inputs, "--out", inputs], naming: inputs,
      ["--out would overwrite the inputs"])
    try Self.expectRefused(
      ["run", source, "--dense", "--layer", "1", "--inputs", inputs, "--out", weights],
      naming: weights, ["--out would overwrite the model"])
    #expect(try Self.bytes(container) == containerBytes)
    #expect(try Self.bytes(weights) == sourceBytes)
    #expect(try Self.bytes(source + "/config.json") == configBytes)
    #expect(try Self.bytes(inputs) == inputBytes)
    // What the rules allow still works: a new folder, then the same folder again.
    let folder = directory.file("hf")
    for _ in 0..<2 {
      let export = try CommandRunner.run(["export", container, folder, "--to", "safetensors"])
      #expect(export.status == 0, "\(export.stderr)")
    }
    let run = try CommandRunner.run([
      "run", container, "--inputs", inputs, "--out", directory.file("y.safetensors"),
    ])
    #expect(run.status == 0, "\(run.stderr)")
  }

  @Test("an export folder holding a stale index or a foreign checkpoint is refused, naming it")
  func staleExportFolder() throws {
    let directory = try TemporaryDirectory()
    let container = directory.file("c.emoe")
    try Self.convert(Self.fixture("gpt2-tiny"), to: container)
    let folder = directory.file("hf")
    let first = try CommandRunner.run(["export", container, folder, "--to", "safetensors"])
    #expect(first.status == 0, "\(first.stderr)")
    let stale = folder + "/model.safetensors.index.json"
    try Data("{\"weight_map\": {}}".utf8).write(to: URL(fileURLWithPath: stale))
    let weights = try Self.bytes(folder + "/model.safetensors")
    try Self.expectRefused(
      ["export", container, folder, "--to", "safetensors"], naming: stale,
      ["would not write", "remove it"])
    #expect(try Self.bytes(folder + "/model.safetensors") == weights)
    try FileManager.default.removeItem(atPath: stale)
    // Files that are not checkpoints (a tokenizer) may stay beside an earlier export.
    try Data("{}".utf8).write(to: URL(fileURLWithPath: folder + "/tokenizer.json"))
    let again = try CommandRunner.run(["export", container, folder, "--to", "safetensors"])
    #expect(again.status == 0, "\(again.stderr)")
    // A folder with weights but no config.json of an export is not replaced.
    let foreign = directory.file("foreign")
    try FileManager.default.createDirectory(atPath: foreign, withIntermediateDirectories: false)
    try Data([0]).write(to: URL(fileURLWithPath: foreign + "/pytorch_model.bin"))
    try Self.expectRefused(
      ["export", container, foreign, "--to", "safetensors"], naming: foreign,
      ["pytorch_model.bin"])
    #expect(!FileSystem.exists(foreign + "/model.safetensors"))
  }

  @Test("outputs get 0666 less the umask, a replaced output keeps its mode, a read-only one stays")
  func permissions() throws {
    let directory = try TemporaryDirectory()
    let input = Self.fixture("gpt2-tiny")
    let output = directory.file("m.emoe")
    let shell = try ChildProcess.run(
      "/bin/sh",
      [
        "-c", "umask 027 && exec \"$0\" convert \"$1\" \"$2\" --experts 4 --layers 1 -q",
        CommandRunner.executable, input, output,
      ])
    #expect(shell.status == 0, "\(shell.stderr)")
    #expect(try Self.mode(output) == 0o640)
    #expect(chmod(output, 0o600) == 0)
    try Self.convert(input, to: output)
    #expect(try Self.mode(output) == 0o600)
    #expect(chmod(output, 0o444) == 0)
    let before = try Self.bytes(output)
    try Self.expectRefused(
      ["convert", input, output, "--experts", "4", "--layers", "1"], naming: output,
      ["write-protected"])
    #expect(try Self.bytes(output) == before)
    #expect(try Self.mode(output) == 0o444)
  }

  /// The permission bits of `path`.
  static func mode(_ path: String) throws -> mode_t {
    var status = stat()
    try #require(stat(path, &status) == 0)
    return status.st_mode & 0o7777
  }

  @Test("depfile paths are escaped so that make reads them back; unreadable ones exit 2")
  func depfileEscaping() throws {
    let directory = try TemporaryDirectory()
    let odd = directory.file("in dir #1 $x:y|z*")
    try FileManager.default.createDirectory(atPath: odd, withIntermediateDirectories: false)
    try FileManager.default.copyItem(
      atPath: Self.fixture("gpt2-tiny") + "/model.safetensors", toPath: odd + "/m [a].safetensors")
    try FileManager.default.copyItem(
      atPath: Self.fixture("gpt2-tiny") + "/config.json", toPath: odd + "/config.json")
    let input = odd + "/m [a].safetensors"
    let output = directory.file("out dir #2 $o:|.emoe")
    let depfile = directory.file("out.d")
    let result = try CommandRunner.run([
      "convert", input, output, "--experts", "4", "--layers", "1", "--depfile", depfile, "-q",
    ])
    #expect(result.status == 0, "\(result.stderr)")
    // make reads the rule back: a pattern rule gives the target a recipe that prints $@ and $^.
    let makefile = directory.file("Makefile")
    try "include out.d\n%.emoe:\n\t@printf '[%s]\\n' '$@' '$^'\n".write(
      toFile: makefile, atomically: true, encoding: .utf8)
    let make = try ChildProcess.run(
      "/usr/bin/make", ["-C", directory.path, "--no-print-directory", "-B", output])
    #expect(make.status == 0, "make: \(make.stderr)")
    #expect(
      make.stdout == "[\(output)]\n[\(input) \(odd)/config.json]\n", "make printed: \(make.stdout)")
    // Paths Make cannot read are refused before anything is converted.
    for name in ["new\nline", "semi;colon", "equals=sign", "back\\slash"] {
      let bad = directory.file(name + ".emoe")
      try Self.expectRefused(
        [
          "convert", input, bad, "--experts", "4", "--layers", "1", "--depfile",
          directory.file("bad.d"),
        ], naming: "cannot be written into a Make dependency file")
      #expect(!FileSystem.exists(bad))
      #expect(!FileSystem.exists(directory.file("bad.d")))
    }
    try Self.expectRefused(
      [
        "convert", input, directory.file("pattern%.emoe"), "--experts", "4", "--depfile",
        directory.file("bad.d"),
      ], naming: "pattern%.emoe", ["'%'"])
  }
}
