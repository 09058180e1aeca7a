import EMoECore
import EMoEFormats
import EMoETestSupport
import Foundation
import Testing

@testable import EMoEBatch

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

@Suite("emoe-pack batch: resolved path identities, staged exports, refused outputs", .serialized)
struct BatchOutputSafetyTests {
  static let bert = "bert-tiny/model.safetensors"
  static let gpt2 = "gpt2-tiny/model.safetensors"

  @Test("links, export folders and containers are compared by what they resolve to")
  func resolvedIdentities() throws {
    let workspace = try BatchWorkspace(models: ["bert-tiny", "gpt2-tiny"])
    // A hard link to job 0's input, as job 1's output.
    #expect(link(workspace.file(Self.bert), workspace.file("hard.emoe")) == 0)
    let hard = BatchManifestTests.rejection(
      #"{"jobs": [{"input": "\#(Self.bert)", "output": "a.emoe"}, {"input": "\#(Self.gpt2)", "output": "hard.emoe"}]}"#,
      in: workspace)
    #expect(hard?.keyPath == "jobs[1].output")
    #expect(hard?.reason.contains("would overwrite a file read by jobs[0].input") == true)
    // A symbolic link to the config.json that job 0 reads.
    try FileManager.default.createSymbolicLink(
      atPath: workspace.file("alias.emoe"),
      withDestinationPath: workspace.file("bert-tiny/config.json"))
    let symbolic = BatchManifestTests.rejection(
      #"{"jobs": [{"input": "\#(Self.bert)", "output": "alias.emoe"}]}"#, in: workspace)
    #expect(symbolic?.keyPath == "jobs[0].output")
    #expect(symbolic?.reason.contains("jobs[0].input") == true)
    // An export into the source checkpoint's folder.
    let source = BatchManifestTests.rejection(
      #"{"jobs": [{"input": "\#(Self.bert)", "output": "a.emoe", "export": [{"to": "safetensors", "output": "bert-tiny"}]}]}"#,
      in: workspace)
    #expect(source?.keyPath == "jobs[0].export[0].output")
    #expect(source?.reason.contains("jobs[0].input") == true)
    // An export folder whose model.safetensors is another job's container.
    let container = BatchManifestTests.rejection(
      #"{"jobs": [{"input": "\#(Self.bert)", "output": "hf/model.safetensors"}, {"input": "\#(Self.gpt2)", "output": "b.emoe", "export": [{"to": "safetensors", "output": "hf"}]}]}"#,
      in: workspace)
    #expect(container?.keyPath == "jobs[1].export[0].output")
    #expect(container?.reason.contains("also written by jobs[0].output") == true)
    // An export folder holding weights emoe-pack did not write.
    try FileManager.default.createDirectory(
      atPath: workspace.file("foreign"), withIntermediateDirectories: false)
    try Data([0]).write(to: URL(fileURLWithPath: workspace.file("foreign/pytorch_model.bin")))
    let foreign = BatchManifestTests.rejection(
      #"{"jobs": [{"input": "\#(Self.bert)", "output": "a.emoe", "export": [{"to": "safetensors", "output": "foreign"}]}]}"#,
      in: workspace)
    #expect(foreign?.keyPath == "jobs[0].export[0].output")
    #expect(foreign?.reason.contains("did not write") == true)
    // A write-protected output, a FIFO, and a depfile whose rule Make could not read.
    try Data([1]).write(to: URL(fileURLWithPath: workspace.file("locked.emoe")))
    #expect(chmod(workspace.file("locked.emoe"), 0o444) == 0)
    let locked = BatchManifestTests.rejection(
      #"{"jobs": [{"input": "\#(Self.bert)", "output": "locked.emoe"}]}"#, in: workspace)
    #expect(locked?.keyPath == "jobs[0].output")
    #expect(locked?.reason.contains("write-protected") == true)
    #expect(mkfifo(workspace.file("fifo.d"), 0o644) == 0)
    let fifo = BatchManifestTests.rejection(
      #"{"jobs": [{"input": "\#(Self.bert)", "output": "a.emoe", "depfile": "fifo.d"}]}"#,
      in: workspace)
    #expect(fifo?.keyPath == "jobs[0].depfile")
    #expect(fifo?.reason.contains("a FIFO") == true)
    let newline = BatchManifestTests.rejection(
      #"{"jobs": [{"input": "\#(Self.bert)", "output": "a\nb.emoe", "depfile": "a.d"}]}"#,
      in: workspace)
    #expect(newline?.keyPath == "jobs[0].depfile")
    #expect(newline?.reason.contains("a newline") == true)
    // The command exits 2 and writes nothing.
    try workspace.writeManifest(
      #"{"jobs": [{"input": "\#(Self.bert)", "output": "x.emoe"}, {"input": "\#(Self.gpt2)", "output": "hard.emoe"}]}"#
    )
    let before = try workspace.bytes(Self.bert)
    let run = try workspace.batch()
    #expect(run.status == 2, "\(run.stderr)")
    #expect(!FileSystem.exists(workspace.file("x.emoe")))
    #expect(try workspace.bytes(Self.bert) == before)
  }

  /// The container job of the staging tests, with the options `extra` and the exports `exports`.
  static func manifest(_ extra: String, exports: String) -> String {
    #"{"jobs": [{"input": "\#(bert)", "output": "out/b.emoe", \#(extra) "export": [\#(exports)]}]}"#
  }

  @Test("a job failing after one of its exports is written leaves the old export and container")
  func failedJobLeavesExports() throws {
    let workspace = try BatchWorkspace(models: ["bert-tiny"])
    let first = #"{"to": "safetensors", "output": "out/hf"}"#
    try workspace.writeManifest(Self.manifest(#""experts": 4,"#, exports: first))
    #expect(BatchWorkspace.statuses(try workspace.batchJSON()) == ["converted"])
    let export = try workspace.bytes("out/hf/model.safetensors")
    let container = try workspace.bytes("out/b.emoe")
    // Other options, and a second export that fails (uneven experts cannot be stacked) after
    // the first was written.
    try workspace.writeManifest(
      Self.manifest(
        #""experts": 3, "top-k": 1, "allow-uneven": true,"#,
        exports: first + #", {"to": "safetensors", "output": "out/hf2", "layout": "experts"}"#))
    let failed = try workspace.batchJSON([], status: 4)
    #expect(BatchWorkspace.statuses(failed) == ["failed"])
    #expect(try workspace.bytes("out/hf/model.safetensors") == export)
    #expect(try workspace.bytes("out/b.emoe") == container)
    #expect(workspace.leftovers().isEmpty, "\(workspace.leftovers())")
    // The original manifest is up to date, with the export it wrote.
    try workspace.writeManifest(Self.manifest(#""experts": 4,"#, exports: first))
    #expect(BatchWorkspace.statuses(try workspace.batchJSON()) == ["skipped"])
  }

  @Test("a commit failing after the exports moved leaves no container, so the job runs again")
  func failedCommitRerunsJob() throws {
    let workspace = try BatchWorkspace(models: ["bert-tiny"])
    let first = #"{"to": "safetensors", "output": "out/hf"}"#
    try workspace.writeManifest(Self.manifest(#""experts": 4,"#, exports: first))
    #expect(BatchWorkspace.statuses(try workspace.batchJSON()) == ["converted"])
    // A commit whose first export lands in place and whose second cannot (its folder is a
    // file), as a full disk or a vanished folder would make it fail.
    let stagedExport = workspace.file("out/hf/.model.safetensors.staged")
    try Data([1, 2, 3]).write(to: URL(fileURLWithPath: stagedExport))
    let stagedBlocked = workspace.file("out/.x.gguf.staged")
    try Data([4]).write(to: URL(fileURLWithPath: stagedBlocked))
    try Data([5]).write(to: URL(fileURLWithPath: workspace.file("out/blocker")))
    let stagedContainer = workspace.file("out/.b.emoe.staged")
    try Data([6]).write(to: URL(fileURLWithPath: stagedContainer))
    let commit = JobCommit(
      container: .init(staged: stagedContainer, final: workspace.file("out/b.emoe")),
      files: [
        .init(staged: stagedExport, final: workspace.file("out/hf/model.safetensors")),
        .init(staged: stagedBlocked, final: workspace.file("out/blocker/sub/x.gguf")),
      ])
    #expect(throws: BatchJobError.self) { try commit.publish() }
    commit.discard()
    #expect(try workspace.bytes("out/hf/model.safetensors") == [1, 2, 3])
    #expect(!FileSystem.exists(workspace.file("out/b.emoe")))
    #expect(!FileSystem.exists(stagedContainer) && !FileSystem.exists(stagedBlocked))
    // The rerun does not trust the replaced export: the job converts again.
    let rerun = try workspace.batchJSON()
    #expect(BatchWorkspace.statuses(rerun) == ["converted"])
    let export = try SafeTensorsFile(path: workspace.file("out/hf/model.safetensors"))
    #expect(!export.entries.isEmpty)
  }
}
