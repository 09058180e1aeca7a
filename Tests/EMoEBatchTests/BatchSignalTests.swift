import EMoECore
import EMoEFormats
import EMoETestSupport
import Foundation
import Testing

@Suite("emoe-pack batch stopped by SIGTERM", .serialized)
struct BatchSignalTests {
  static let jobCount = 8

  @Test("SIGTERM midway leaves finished outputs valid and no partial files; a rerun finishes")
  func interruptAndResume() throws {
    let workspace = try BatchWorkspace(models: ["llama-tiny"])
    // Every layer with many restarts, so that each job takes a noticeable time.
    let jobs = (0..<Self.jobCount).map { seed in
      #"{"input": "llama-tiny/model.safetensors", "output": "out/m\#(seed).emoe", "seed": \#(seed)}"#
    }
    try workspace.writeManifest(
      """
      {"defaults": {"experts": 8, "layers": "all", "restarts": 10, "verify": true},
       "jobs": [\(jobs.joined(separator: ",\n"))]}
      """)
    let outputs = (0..<Self.jobCount).map { workspace.file("out/m\($0).emoe") }

    let process = try ChildProcess.start(
      CommandRunner.executable, ["batch", workspace.manifest, "--jobs", "2"])
    // Stop it as soon as the first output is published.
    let deadline = Date().addingTimeInterval(120)
    while process.isRunning, !outputs.contains(where: FileSystem.exists), Date() < deadline {
      usleep(5_000)
    }
    process.send(SIGTERM)
    let stopped = try #require(process.wait(deadline: .now() + 120), "the batch did not stop")
    #expect(stopped.status == 128 + SIGTERM, "the batch was not stopped by the signal")

    #expect(workspace.leftovers().isEmpty, "left behind: \(workspace.leftovers())")
    let finished = outputs.filter(FileSystem.exists)
    #expect(!finished.isEmpty)
    #expect(finished.count < Self.jobCount, "every job finished before the signal arrived")
    for output in finished {
      let report = try ContainerIntegrity.verify(path: output)
      #expect(report.ok, "\(output) is damaged: \(report.failures)")
    }

    let resumed = try workspace.batchJSON(["--jobs", "2"])
    let statuses = BatchWorkspace.statuses(resumed)
    for (index, output) in outputs.enumerated() {
      #expect(statuses[index] == (finished.contains(output) ? "skipped" : "converted"))
    }
    #expect(outputs.allSatisfy(FileSystem.exists))
    #expect(workspace.leftovers().isEmpty)
  }
}
