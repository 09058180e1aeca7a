import EMoECore
import EMoEFormats
import EMoETestSupport
import Foundation
import Testing

/// The manifest is decoded and encoded through Codable over JSONValue; the encoding must give
/// exactly the bytes the hand-built encoder wrote.
@Suite("container manifests through Codable")
struct ContainerManifestCodingTests {
  static let folder = TestPaths.repositoryRoot + "/Fuzz/corpus/container"

  @Test("re-encoding the manifest of every committed container gives its stored bytes")
  func reencodesCommittedContainers() throws {
    let names = try FileManager.default.contentsOfDirectory(atPath: Self.folder)
      .filter { $0.hasSuffix(".emoe") }.sorted()
    #expect(names.count >= 5)
    for name in names {
      let path = Self.folder + "/" + name
      let file = try ContainerFile(path: path)
      let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
      let start = file.header.manifestOffset
      let stored = Array(bytes[start..<(start + file.header.manifestLength)])
      let text = Array(file.manifest.json().serialized().utf8)
      #expect(Array(stored.prefix(text.count)) == text, "\(name)")
      #expect(stored.dropFirst(text.count).allSatisfy { $0 == UInt8(ascii: " ") }, "\(name)")
    }
  }
}
