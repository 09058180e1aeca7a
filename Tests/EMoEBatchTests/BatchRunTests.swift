import EMoECore
import EMoEFormats
import EMoETestSupport
import Foundation
import Testing

@Suite("emoe-pack batch: parallel, incremental, fail-fast, dry runs", .serialized)
struct BatchRunTests {
  /// Five jobs over three models, two of them sharing an input, with an export and a depfile.
  static let manifest = """
    {
      "defaults": {"experts": 4, "restarts": 2},
      "jobs": [
        {"input": "bert-tiny/model.safetensors", "output": "out/bert-s0.emoe", "top-k": 2,
         "verify": true},
        {"input": "bert-tiny/model.safetensors", "output": "out/bert-s1.emoe", "seed": 1},
        {"input": "gpt2-tiny/model.safetensors", "output": "out/gpt2.emoe", "quantize": "int8",
         "export": [{"to": "safetensors", "output": "out/gpt2-hf"}]},
        {"input": "gpt2-tiny/model.safetensors", "output": "out/gpt2-z.emoe", "compress": true},
        {"input": "llama-tiny/model.safetensors", "output": "out/llama.emoe", "experts": 8,
         "depfile": "out/llama.d"}
      ]
    }
    """
  static let outputs = [
    "out/bert-s0.emoe", "out/bert-s1.emoe", "out/gpt2.emoe", "out/gpt2-z.emoe", "out/llama.emoe",
    "out/gpt2-hf/model.safetensors", "out/gpt2-hf/config.json", "out/llama.d",
  ]

  static func workspace() throws -> BatchWorkspace {
    let workspace = try BatchWorkspace(models: ["bert-tiny", "gpt2-tiny", "llama-tiny"])
    try workspace.writeManifest(manifest)
    return workspace
  }

  @Test("--jobs 4 writes the same bytes as --jobs 1, and as `emoe-pack convert` does")
  func parallelOutputsAreIdentical() throws {
    let serial = try Self.workspace()
    let parallel = try Self.workspace()
    let first = try serial.batchJSON(["--jobs", "1"])
    let second = try parallel.batchJSON(["--jobs", "4"])
    #expect(BatchWorkspace.statuses(first) == Array(repeating: "converted", count: 5))
    #expect(BatchWorkspace.statuses(second) == BatchWorkspace.statuses(first))
    for output in Self.outputs where !output.hasSuffix(".d") {
      #expect(try serial.bytes(output) == parallel.bytes(output), "\(output) differs")
    }
    // Dependency files name their workspace's paths.
    let serialRule = String(decoding: try serial.bytes("out/llama.d"), as: UTF8.self)
    let parallelRule = String(decoding: try parallel.bytes("out/llama.d"), as: UTF8.self)
    #expect(serialRule.replacingOccurrences(of: serial.path, with: parallel.path) == parallelRule)
    // The summary lists jobs in manifest order with the digests of the files written.
    for (index, job) in (second["jobs"]?.arrayValue ?? []).enumerated() {
      let output = Self.outputs[index]
      #expect(job["output"]?.stringValue == parallel.file(output))
      #expect(
        job["output_sha256"]?.stringValue == (try FileSystem.sha256(ofFile: parallel.file(output))))
      #expect(job["output_bytes"]?.intValue == FileSystem.size(parallel.file(output)))
    }
    // The batch's container is byte for byte what the convert command writes for that job.
    let single = try CommandRunner.run([
      "convert", serial.file("gpt2-tiny/model.safetensors"), serial.file("single.emoe"),
      "--experts", "4", "--quantize", "int8", "--restarts", "2",
    ])
    #expect(single.status == 0, "\(single.stderr)")
    #expect(try serial.bytes("single.emoe") == serial.bytes("out/gpt2.emoe"))
    let depfile = String(decoding: try serial.bytes("out/llama.d"), as: UTF8.self)
    #expect(depfile.hasPrefix(serial.file("out/llama.emoe") + ": "))
    #expect(depfile.contains(serial.file("llama-tiny/config.json")))
    #expect(serial.leftovers().isEmpty && parallel.leftovers().isEmpty)
  }

  @Test("a second run skips everything; changing an input byte or an option reruns only its jobs")
  func incremental() throws {
    let workspace = try Self.workspace()
    _ = try workspace.batchJSON(["--jobs", "2"])
    let before = try workspace.snapshot()

    let again = try workspace.batchJSON(["--jobs", "2"])
    #expect(BatchWorkspace.statuses(again) == Array(repeating: "skipped", count: 5))
    #expect(again["counts"]?["skipped"]?.intValue == 5)
    #expect((again["jobs"]?.arrayValue ?? []).allSatisfy { $0["skipped"]?.boolValue == true })
    #expect(try workspace.snapshot() == before, "a run with nothing to do changed files")

    // One byte of gpt2's weights (a low mantissa bit, same size): both gpt2 jobs rerun.
    try workspace.flipBit("gpt2-tiny/model.safetensors", at: -4)
    let touched = try workspace.batchJSON(["--jobs", "2"])
    #expect(
      BatchWorkspace.statuses(touched) == [
        "skipped", "skipped", "converted", "converted", "skipped",
      ])
    #expect(
      touched["jobs"]?[2]?["reason"]?.stringValue
        == "input model.safetensors changed (SHA-256 differs)")

    // One option of one job.
    try workspace.writeManifest(
      Self.manifest.replacingOccurrences(of: #""seed": 1"#, with: #""seed": 2"#))
    let changed = try workspace.batchJSON()
    #expect(
      BatchWorkspace.statuses(changed) == ["skipped", "converted", "skipped", "skipped", "skipped"])
    #expect(changed["jobs"]?[1]?["reason"]?.stringValue == "options changed: seed 1 → 2")

    // config.json is part of the input: reformatting it changes nothing the container records,
    // a new value reruns the job.
    let configPath = workspace.file("llama-tiny/config.json")
    let configText = try String(contentsOfFile: configPath, encoding: .utf8)
    try (configText + "\n").write(toFile: configPath, atomically: false, encoding: .utf8)
    #expect(BatchWorkspace.statuses(try workspace.batchJSON()).allSatisfy { $0 == "skipped" })
    try configText.replacingOccurrences(of: "{", with: #"{"batch_test": 1, "#)
      .write(toFile: configPath, atomically: false, encoding: .utf8)
    let config = try workspace.batchJSON()
    #expect(
      BatchWorkspace.statuses(config) == ["skipped", "skipped", "skipped", "skipped", "converted"])
    #expect(config["jobs"]?[4]?["reason"]?.stringValue == "config.json changed")

    // --force reruns everything.
    let forced = try workspace.batchJSON(["--force"])
    #expect(BatchWorkspace.statuses(forced) == Array(repeating: "converted", count: 5))

    // A damaged output of a verified job is rebuilt; an export deleted by hand is redone.
    try workspace.flipBit("out/bert-s0.emoe", at: -100)
    try FileManager.default.removeItem(atPath: workspace.file("out/gpt2-hf"))
    let repaired = try workspace.batchJSON()
    #expect(
      BatchWorkspace.statuses(repaired) == [
        "converted", "skipped", "converted", "skipped", "skipped",
      ])
    #expect(FileSystem.exists(workspace.file("out/gpt2-hf/model.safetensors")))
    let verify = try CommandRunner.run(["verify", workspace.file("out/bert-s0.emoe")])
    #expect(verify.status == 0)
  }

  @Test("--dry-run reports what would run and touches nothing")
  func dryRun() throws {
    let workspace = try Self.workspace()
    let untouched = try workspace.snapshot()
    let fresh = try workspace.batchJSON(["--dry-run"])
    #expect(try workspace.snapshot() == untouched)
    #expect(BatchWorkspace.statuses(fresh) == Array(repeating: "not-run", count: 5))
    #expect(fresh["dry_run"]?.boolValue == true && fresh["ok"]?.boolValue == true)
    #expect(fresh["jobs"]?[0]?["reason"]?.stringValue == "no output yet")

    _ = try workspace.batchJSON()
    try workspace.writeManifest(
      Self.manifest.replacingOccurrences(of: #""top-k": 2"#, with: #""top-k": 1"#))
    let converted = try workspace.snapshot()
    let text = try workspace.batch(["--dry-run"])
    #expect(text.status == 0)
    #expect(try workspace.snapshot() == converted)
    #expect(text.stdout.contains("would run \(workspace.file("bert-tiny/model.safetensors"))"))
    #expect(text.stdout.contains("(options changed: top_k 2 → 1)"))
    #expect(text.stdout.hasSuffix("5 jobs: 0 converted, 4 skipped, 0 failed, 1 would run\n"))
  }

  @Test("fail-fast stops starting jobs after a failure; --keep-going runs the rest; exit 4")
  func failures() throws {
    let workspace = try BatchWorkspace(models: ["bert-tiny", "gpt2-tiny"])
    try workspace.makeNaNModel()
    try workspace.writeManifest(
      """
      {"jobs": [
        {"input": "bert-tiny/model.safetensors", "output": "ok-first.emoe"},
        {"input": "bert-nan/model.safetensors", "output": "bad.emoe"},
        {"input": "gpt2-tiny/model.safetensors", "output": "ok-second.emoe"},
        {"input": "bert-tiny/model.safetensors", "output": "ok-third.emoe", "seed": 5}
      ]}
      """)
    // An earlier container at the failing job's path is left exactly as it was.
    let earlier = try CommandRunner.run([
      "convert", workspace.file("bert-tiny/model.safetensors"), workspace.file("bad.emoe"),
    ])
    #expect(earlier.status == 0)
    let earlierBytes = try workspace.bytes("bad.emoe")

    let failFast = try workspace.batch(["--json"])
    #expect(failFast.status == 4)
    let summary = try JSONValue.parse(failFast.stdout)
    #expect(BatchWorkspace.statuses(summary) == ["converted", "failed", "not-run", "not-run"])
    #expect(summary["ok"]?.boolValue == false)
    // The documented shape: the same members for every job, `error` only for a failure.
    let members = [
      "input", "output", "status", "reason", "seconds", "skipped", "output_bytes", "output_sha256",
    ]
    let jobs = summary["jobs"]?.arrayValue ?? []
    #expect(
      jobs.map { $0.objectValue?.map(\.key) ?? [] }
        == [members, members + ["error"], members, members])
    #expect(jobs[0]["output_sha256"]?.stringValue?.count == 64)
    #expect(jobs[2]["output_bytes"] == .null && jobs[2]["output_sha256"] == .null)
    #expect(jobs.allSatisfy { ($0["seconds"]?.doubleValue ?? -1) >= 0 })
    #expect(
      summary["counts"]
        == .object([
          JSONMember("jobs", .integer(4)), JSONMember("converted", .integer(1)),
          JSONMember("skipped", .integer(0)), JSONMember("failed", .integer(1)),
          JSONMember("not_run", .integer(2)),
        ]))
    let error = summary["jobs"]?[1]?["error"]?.stringValue ?? ""
    #expect(error.contains("encoder.layer.1.intermediate.dense.weight"), "\(error)")
    #expect(!error.contains(".partial"), "the message names the staging file: \(error)")
    #expect(failFast.stderr.contains("Error: jobs[1] "))
    #expect(try workspace.bytes("bad.emoe") == earlierBytes)
    #expect(!FileSystem.exists(workspace.file("ok-second.emoe")))
    #expect(workspace.leftovers().isEmpty)

    let keepGoing = try workspace.batchJSON(["--keep-going", "--jobs", "2"], status: 4)
    #expect(BatchWorkspace.statuses(keepGoing) == ["skipped", "failed", "converted", "converted"])
    #expect(try workspace.bytes("bad.emoe") == earlierBytes)
    let check = try CommandRunner.run(["verify", workspace.file("ok-second.emoe")])
    #expect(check.status == 0)
  }

  @Test("an invalid manifest exits 2 before any job starts, naming line and key")
  func invalidManifest() throws {
    let workspace = try BatchWorkspace(models: ["bert-tiny"])
    try workspace.writeManifest(
      """
      {"jobs": [
        {"input": "bert-tiny/model.safetensors", "output": "a.emoe"},
        {"input": "bert-tiny/model.safetensors", "output": "b.emoe", "top-k": "2"}
      ]}
      """)
    let untouched = try workspace.snapshot()
    let output = try workspace.batch(["--jobs", "2"])
    #expect(output.status == 2)
    #expect(output.stdout.isEmpty)
    #expect(
      output.stderr
        == "Error: \(workspace.manifest):3:64: jobs[1].top-k: must be an integer, not the string \"2\"\n"
    )
    #expect(try workspace.snapshot() == untouched)
    let missing = try CommandRunner.run(["batch", workspace.file("absent.json")])
    #expect(missing.status == 1)
    let usage = try CommandRunner.run(["batch", workspace.manifest, "--jobs", "0"])
    #expect(usage.status == 64)
  }
}
