import EMoECore
import EMoEFormats
import EMoETestSupport
import Foundation
import Testing

/// `"verify": true` runs the checks of `emoe-pack verify` against the job's input, not only the
/// integrity checks: a container whose checksums are all valid but whose layer does not hold
/// its source's rows fails it.
@Suite("emoe-pack batch: verify runs the whole verifier", .serialized)
struct BatchVerifyTests {
  static let manifest = """
    {"jobs": [{"input": "bert-tiny/model.safetensors", "output": "out/bert.emoe",
               "experts": 4, "restarts": 1, "verify": true}]}
    """

  /// Rewrites the container at `path` with two stored rows of `role` of its first layer
  /// swapped: every checksum is valid and the manifest (so the recorded provenance) unchanged.
  static func swapRows(_ path: String, role: ContainerLayerRecord.Role) throws {
    let container = try ContainerFile(path: path)
    let record = try #require(container.layers.first)
    let target = try #require(record.tensors[role])
    let entry = try #require(container.entry(named: target))
    #expect(!entry.isCompressed)
    let manifest = container.manifest
    let plan = ContainerPlan(
      tool: manifest.tool, options: manifest.options, source: manifest.source,
      layers: manifest.layers, tensors: container.entries.map(\.declaration))
    let copy = path + ".swapped"
    let writer = try ContainerWriter(path: copy, plan: plan)
    for entry in container.entries {
      var bytes = Array(container.storedBytes(of: entry))
      if entry.name == target {
        let rowBytes = bytes.count / record.intermediateSize
        for offset in 0..<rowBytes { bytes.swapAt(offset, rowBytes + offset) }
      }
      let appended = bytes.withUnsafeBytes { raw in
        Result { () throws(ContainerError) in try writer.append(entry.name, bytes: raw) }
      }
      try appended.get()
    }
    try writer.commit()
    try FileManager.default.removeItem(atPath: path)
    try FileManager.default.moveItem(atPath: copy, toPath: path)
  }

  @Test("an up-to-date output whose layer no longer matches its source is rebuilt")
  func layerMismatchIsCaught() throws {
    let workspace = try BatchWorkspace(models: ["bert-tiny"])
    try workspace.writeManifest(Self.manifest)
    let first = try workspace.batchJSON()
    #expect(BatchWorkspace.statuses(first) == ["converted"])
    let honest = try workspace.bytes("out/bert.emoe")

    try Self.swapRows(workspace.file("out/bert.emoe"), role: .w1)
    // The damage is invisible to the integrity checks and to the recorded provenance.
    #expect(try ContainerIntegrity.verify(path: workspace.file("out/bert.emoe")).ok)
    let check = try CommandRunner.run([
      "verify", workspace.file("out/bert.emoe"), "--source",
      workspace.file("bert-tiny/model.safetensors"),
    ])
    #expect(check.status == 5, "\(check.stdout)")

    let second = try workspace.batchJSON()
    #expect(BatchWorkspace.statuses(second) == ["converted"])
    let reason = second["jobs"]?[0]?["reason"]?.stringValue ?? ""
    #expect(reason.contains("fails verification"), "\(reason)")
    #expect(reason.contains("(permutation)") && reason.contains("w1"), "\(reason)")
    #expect(try workspace.bytes("out/bert.emoe") == honest)
    #expect(BatchWorkspace.statuses(try workspace.batchJSON()) == ["skipped"])
  }
}
