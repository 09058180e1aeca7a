import EMoEBatch
import EMoEFormats
import EMoETestSupport
import Foundation
import Testing

@testable import EMoECore

/// A batch shares one digest cache across its jobs and its freshness checks, and hashes its
/// outputs only for `--json`.
@Suite("emoe-pack batch: every input hashed once per run", .serialized)
struct BatchDigestTests {
  static let input = "bert-tiny/model.safetensors"
  static let outputs = ["a.emoe", "b.emoe", "c.emoe"]

  @Test("three parallel jobs on one input hash it once, and a no-op rerun does not hash it again")
  func sharedInputHashedOnce() throws {
    let workspace = try BatchWorkspace(models: ["bert-tiny"])
    try workspace.writeManifest(
      """
      {"defaults": {"experts": 4, "restarts": 1},
       "jobs": [
         {"input": "\(Self.input)", "output": "a.emoe"},
         {"input": "\(Self.input)", "output": "b.emoe", "seed": 1},
         {"input": "\(Self.input)", "output": "c.emoe", "seed": 2}
       ]}
      """)
    let manifest = try BatchManifest.load(path: workspace.manifest)
    let tool = ContainerTool(name: "emoe-pack", version: "0.0.0-test")
    let digests = FileDigests(racyInterval: .zero)
    let input = workspace.file(Self.input)

    let first = BatchRunner(
      manifest: manifest, settings: BatchSettings(jobs: 3), tool: tool, digests: digests
    ).run()
    #expect(first.results.map(\.status) == Array(repeating: .converted, count: 3))
    #expect(digests.timesHashed(input) == 1)
    // Without --json nothing needs the outputs' digests.
    #expect(first.results.allSatisfy { $0.outputSHA256 == nil })
    #expect(digests.filesHashed == 1)

    let second = BatchRunner(
      manifest: manifest, settings: BatchSettings(jobs: 3, outputDigests: true), tool: tool,
      digests: digests
    ).run()
    #expect(second.results.map(\.status) == Array(repeating: .skipped, count: 3))
    #expect(digests.timesHashed(input) == 1)
    for (result, output) in zip(second.results, Self.outputs) {
      let path = workspace.file(output)
      #expect(result.outputSHA256 == (try FileSystem.sha256(ofFile: path)))
      #expect(digests.timesHashed(path) == 1)
    }
    #expect(digests.filesHashed == 1 + Self.outputs.count)
  }

  @Test("--force converts again without hashing the input again; --json hashes each output once")
  func forcedRunReusesDigests() throws {
    let workspace = try BatchWorkspace(models: ["bert-tiny"])
    try workspace.writeManifest(
      """
      {"defaults": {"experts": 4, "restarts": 1},
       "jobs": [
         {"input": "\(Self.input)", "output": "a.emoe"},
         {"input": "\(Self.input)", "output": "b.emoe", "seed": 1}
       ]}
      """)
    let manifest = try BatchManifest.load(path: workspace.manifest)
    let tool = ContainerTool(name: "emoe-pack", version: "0.0.0-test")
    let digests = FileDigests(racyInterval: .zero)
    for _ in 0..<2 {
      let summary = BatchRunner(
        manifest: manifest, settings: BatchSettings(jobs: 2, force: true, outputDigests: true),
        tool: tool, digests: digests
      ).run()
      #expect(summary.results.map(\.status) == [.converted, .converted])
      for (result, output) in zip(summary.results, ["a.emoe", "b.emoe"]) {
        #expect(result.outputSHA256 == (try FileSystem.sha256(ofFile: workspace.file(output))))
      }
    }
    #expect(digests.timesHashed(workspace.file(Self.input)) == 1)
    // Each run's outputs are new files, hashed once each.
    #expect(digests.filesHashed == 1 + 2 * 2)
  }
}
