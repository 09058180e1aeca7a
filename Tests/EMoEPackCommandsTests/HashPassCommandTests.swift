import EMoEFormats
import EMoETestSupport
import Foundation
import Testing

@testable import EMoECore

/// Each run of a real `emoe-pack` process reads every input through for its SHA-256 at most
/// once, and its output only when something needs the digest (`--json`, export's check that it
/// does not replace a source file).
///
/// The process logs every hash pass (`EMOE_TEST_HASH_LOG`, ``TestHooks``); the digests it records
/// and prints are checked against coreutils' `sha256sum`.
@Suite("emoe-pack hashes each file at most once per process", .serialized)
struct HashPassCommandTests {
  static let sharded = TestPaths.fixtures + "/models/llama-tiny-sharded"
  static let shards = [
    sharded + "/model-00001-of-00002.safetensors", sharded + "/model-00002-of-00002.safetensors",
  ]
  static let bert = TestPaths.fixtures + "/models/bert-tiny/model.safetensors"
  static let convertOptions = ["--experts", "4", "--layers", "1", "--restarts", "1", "-q"]

  @Test("convert hashes each source shard once, and its output only for --json")
  func convert() throws {
    let directory = try TemporaryDirectory()
    let plain = directory.file("plain.emoe")
    let (quiet, quietPasses) = try Self.run(
      ["convert", Self.sharded, plain] + Self.convertOptions, log: directory.file("plain.log"))
    #expect(quiet.status == 0, "stderr: \(quiet.stderr)")
    #expect(quietPasses == Self.once(Self.shards))

    let reported = directory.file("json.emoe")
    let (json, jsonPasses) = try Self.run(
      ["convert", Self.sharded, reported, "--json"] + Self.convertOptions,
      log: directory.file("json.log"))
    #expect(json.status == 0, "stderr: \(json.stderr)")
    #expect(jsonPasses == Self.once(Self.shards + [reported]))

    let oracle = try Self.sha256sum(Self.shards + [reported])
    #expect(try JSONValue.parse(json.stdout)["sha256"]?.stringValue == oracle[2])
    // The provenance is the shards' SHA-256, and the two runs wrote the same bytes.
    let recorded = try ContainerFile(path: plain).manifest.source.files
    #expect(recorded.map(\.name) == Self.shards.map { FileSystem.basename(of: $0) })
    #expect(recorded.map(\.sha256) == Array(oracle[0..<2]))
    #expect(try Self.bytes(plain) == Self.bytes(reported))
  }

  @Test("verify --source hashes each source file once and the container not at all")
  func verify() throws {
    let directory = try TemporaryDirectory()
    let container = directory.file("model.emoe")
    let made = try CommandRunner.run(["convert", Self.sharded, container] + Self.convertOptions)
    #expect(made.status == 0, "stderr: \(made.stderr)")

    let (checked, passes) = try Self.run(
      ["verify", container, "--source", Self.sharded, "--tokens", "4"],
      log: directory.file("verify.log"))
    #expect(checked.status == 0, "stdout: \(checked.stdout)\nstderr: \(checked.stderr)")
    #expect(passes == Self.once(Self.shards))
  }

  @Test("export hashes nothing, but an existing output the size of a source file once")
  func export() throws {
    let directory = try TemporaryDirectory()
    let container = directory.file("model.emoe")
    let made = try CommandRunner.run(["convert", Self.sharded, container] + Self.convertOptions)
    #expect(made.status == 0, "stderr: \(made.stderr)")

    let (written, writtenPasses) = try Self.run(
      ["export", container, directory.file("dense"), "--to", "safetensors", "-q"],
      log: directory.file("written.log"))
    #expect(written.status == 0, "stderr: \(written.stderr)")
    #expect(writtenPasses.isEmpty)

    // A copy of the first shard as the output: its digest is needed, once, to refuse it.
    let copy = directory.file("SOURCE.gguf")
    try FileManager.default.copyItem(atPath: Self.shards[0], toPath: copy)
    let (refused, refusedPasses) = try Self.run(
      ["export", container, copy, "--to", "gguf"], log: directory.file("refused.log"))
    #expect(refused.status == 2, "stderr: \(refused.stderr)")
    #expect(refused.stderr.contains("is the source file model-00001-of-00002.safetensors"))
    #expect(refusedPasses == Self.once([copy]))
    #expect(try Self.bytes(copy) == Self.bytes(Self.shards[0]))
  }

  @Test("a batch of four jobs on two inputs hashes each input once per run, outputs for --json")
  func batch() throws {
    let directory = try TemporaryDirectory()
    let manifest = directory.file("batch.json")
    let outputs = ["a.emoe", "b.emoe", "c.emoe", "d.emoe"].map(directory.file)
    func write(seedOfA: Int) throws {
      // Three jobs share the sharded input (one also verified after converting, against the
      // same source); one converts BERT.
      let text = """
        {"defaults": {"experts": 4, "restarts": 1, "layers": "1"},
         "jobs": [
           {"input": "\(Self.sharded)", "output": "a.emoe", "seed": \(seedOfA)},
           {"input": "\(Self.sharded)", "output": "b.emoe", "seed": 1, "verify": true},
           {"input": "\(Self.sharded)", "output": "c.emoe", "seed": 2},
           {"input": "\(Self.bert)", "output": "d.emoe"}
         ]}
        """
      try text.write(toFile: manifest, atomically: true, encoding: .utf8)
    }
    let inputs = Self.shards + [Self.bert]
    try write(seedOfA: 0)

    // A first run converts all four jobs: each input file once, no output.
    let (first, firstPasses) = try Self.run(
      ["batch", manifest, "--jobs", "2", "-q"], log: directory.file("first.log"))
    #expect(first.status == 0, "stderr: \(first.stderr)")
    #expect(firstPasses == Self.once(inputs))

    // An up-to-date run with --json: the freshness checks hash each input once between them
    // (and the verified job's check reuses those digests); each output is hashed for the summary.
    let (again, againPasses) = try Self.run(
      ["batch", manifest, "--jobs", "2", "-q", "--json"], log: directory.file("again.log"))
    #expect(again.status == 0, "stderr: \(again.stderr)")
    #expect(againPasses == Self.once(inputs + outputs))
    let summary = try JSONValue.parse(again.stdout)
    let jobs = summary["jobs"]?.arrayValue ?? []
    #expect(jobs.map { $0["status"]?.stringValue } == Array(repeating: "skipped", count: 4))
    #expect(jobs.map { $0["output_sha256"]?.stringValue } == (try Self.sha256sum(outputs)))

    // One job's options change: the three fresh jobs' checks and the fourth's conversion share
    // one digest per input.
    try write(seedOfA: 3)
    let (changed, changedPasses) = try Self.run(
      ["batch", manifest, "--jobs", "2", "-q", "--json"], log: directory.file("changed.log"))
    #expect(changed.status == 0, "stderr: \(changed.stderr)")
    #expect(changedPasses == Self.once(inputs + outputs))
    let statuses = (try JSONValue.parse(changed.stdout)["jobs"]?.arrayValue ?? []).map {
      $0["status"]?.stringValue
    }
    #expect(statuses == ["converted", "skipped", "skipped", "skipped"])
    let recorded = try ContainerFile(path: outputs[0]).manifest.source.files.map(\.sha256)
    #expect(recorded == Array(try Self.sha256sum(inputs)[0..<2]))
  }

  /// Runs `emoe-pack` with the hash-pass log at `log`; returns its output and how many times it
  /// hashed each file (by canonical path).
  static func run(_ arguments: [String], log: String) throws -> (ChildProcess.Output, [String: Int])
  {
    var environment = ProcessInfo.processInfo.environment
    environment[TestHooks.hashLogVariable] = log
    let output = try CommandRunner.run(arguments, environment: environment)
    var passes: [String: Int] = [:]
    if FileManager.default.fileExists(atPath: log) {
      for line in try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n") {
        passes[String(line), default: 0] += 1
      }
    }
    return (output, passes)
  }

  /// One pass for each of `paths`, keyed as the log keys them.
  static func once(_ paths: [String]) -> [String: Int] {
    Dictionary(uniqueKeysWithValues: paths.map { (FileIdentity.canonicalPath($0), 1) })
  }

  /// The SHA-256 of each of `paths` by coreutils' `sha256sum`, in order.
  static func sha256sum(_ paths: [String]) throws -> [String] {
    let output = try ChildProcess.run("/usr/bin/sha256sum", ["--"] + paths)
    #expect(output.status == 0, "sha256sum: \(output.stderr)")
    return output.stdout.split(separator: "\n").map { String($0.prefix(64)) }
  }

  static func bytes(_ path: String) throws -> Data {
    try Data(contentsOf: URL(fileURLWithPath: path))
  }
}
