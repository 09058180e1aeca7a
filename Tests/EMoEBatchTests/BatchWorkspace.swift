import EMoECore
import EMoEFormats
import EMoETestSupport
import Foundation
import Testing

/// A temporary folder holding copies of fixture models and a batch manifest, with helpers to
/// run `emoe-pack batch` on it and to look at what it wrote.
final class BatchWorkspace: @unchecked Sendable {
  let directory: TemporaryDirectory
  var path: String { directory.path }
  var manifest: String { directory.file("batch.json") }

  /// Copies `Fixtures/models/<name>/` for each name into the workspace.
  init(models: [String]) throws {
    directory = try TemporaryDirectory()
    for model in models { try copyModel(model) }
  }

  /// Copies `Fixtures/models/<model>/` to `<as>/` in the workspace.
  func copyModel(_ model: String, as name: String? = nil) throws {
    let source = TestPaths.fixtures + "/models/" + model
    try FileManager.default.copyItem(atPath: source, toPath: file(name ?? model))
  }

  func file(_ relative: String) -> String { directory.file(relative) }

  /// Writes the manifest text.
  func writeManifest(_ text: String) throws {
    try text.write(toFile: manifest, atomically: false, encoding: .utf8)
  }

  /// Runs `emoe-pack batch <manifest> arguments...`.
  func batch(_ arguments: [String] = []) throws -> CommandRunner.Output {
    try CommandRunner.run(["batch", manifest] + arguments)
  }

  /// Runs `emoe-pack batch --json`, checks it exited with `status`, and returns the summary.
  func batchJSON(_ arguments: [String] = [], status: Int32 = 0) throws -> JSONValue {
    let output = try batch(arguments + ["--json"])
    #expect(output.status == status, "stderr: \(output.stderr)")
    return try JSONValue.parse(output.stdout)
  }

  /// The bytes of a workspace file.
  func bytes(_ relative: String) throws -> [UInt8] {
    Array(try Data(contentsOf: URL(fileURLWithPath: file(relative))))
  }

  /// Flips the lowest bit of the byte at `offset` (negative: from the end) of a workspace file.
  func flipBit(_ relative: String, at offset: Int) throws {
    var data = try bytes(relative)
    let index = offset < 0 ? data.count + offset : offset
    data[index] ^= 1
    try Data(data).write(to: URL(fileURLWithPath: file(relative)))
  }

  /// Every file and folder below the workspace (hidden ones too), with size and modification
  /// time, to prove that a run touched nothing.
  func snapshot() throws -> [String: String] {
    var result: [String: String] = [:]
    let manager = FileManager.default
    guard let enumerator = manager.enumerator(atPath: path) else { return result }
    while let relative = enumerator.nextObject() as? String {
      let attributes = try manager.attributesOfItem(atPath: file(relative))
      let size = (attributes[.size] as? NSNumber)?.intValue ?? -1
      let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
      result[relative] = "\(size) \(modified)"
    }
    return result
  }

  /// Hidden staging or temporary files left anywhere below the workspace.
  func leftovers() -> [String] {
    let enumerator = FileManager.default.enumerator(atPath: path)
    var found: [String] = []
    while let relative = enumerator?.nextObject() as? String {
      let name = FileSystem.basename(of: relative)
      if name.hasPrefix("."), name.contains(".partial") || name.contains(".tmp-") {
        found.append(relative)
      }
    }
    return found
  }

  /// The `jobs` array of a summary, as (status, reason) pairs in manifest order.
  static func statuses(_ summary: JSONValue) -> [String] {
    (summary["jobs"]?.arrayValue ?? []).map { $0["status"]?.stringValue ?? "?" }
  }

  /// Makes `bert-nan/`: bert-tiny with a NaN in layer 1's W1, which planning accepts without
  /// reading data and the conversion then refuses.
  func makeNaNModel() throws {
    try copyModel("bert-tiny", as: "bert-nan")
    let path = file("bert-nan/model.safetensors")
    let entry = try #require(
      try SafeTensorsFile(path: path).entry(named: "encoder.layer.1.intermediate.dense.weight"))
    var data = try bytes("bert-nan/model.safetensors")
    let nan = Float.nan.bitPattern
    for byte in 0..<4 {
      data[entry.fileOffset + byte] = UInt8(truncatingIfNeeded: nan >> (8 * byte))
    }
    try Data(data).write(to: URL(fileURLWithPath: path))
  }
}

extension JSONValue {
  /// The element at `index` of an array, or `nil`.
  subscript(index: Int) -> JSONValue? {
    guard let elements = arrayValue, elements.indices.contains(index) else { return nil }
    return elements[index]
  }
}
