import EMoECore
import EMoETestSupport
import Foundation
import Testing

@testable import EMoEFormats

/// The manifest is decoded and encoded through Codable over JSONValue; the encoding must give
/// exactly the bytes the hand-built encoder wrote.
@Suite("container manifests through Codable")
struct ContainerManifestCodingTests {
  static let folder = TestPaths.repositoryRoot + "/Fuzz/corpus/container"

  /// The committed containers were written under revision 1.0, which named the router's roles
  /// `gate` and `gate_bias`; apart from those keys, re-encoding must give their bytes.
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
      let old = String(decoding: bytes[start..<(start + file.header.manifestLength)], as: UTF8.self)
      #expect(old.contains(#""gate":""#), "\(name) is a revision 1.0 file")
      #expect(file.manifest.layers.allSatisfy { $0.tensors[.router] != nil }, "\(name)")
      let stored = Array(
        old.replacingOccurrences(of: #""gate":""#, with: #""router":""#)
          .replacingOccurrences(of: #""gate_bias":""#, with: #""router_bias":""#).utf8)
      let text = Array(file.manifest.json().serialized().utf8)
      #expect(Array(stored.prefix(text.count)) == text, "\(name)")
      #expect(stored.dropFirst(text.count).allSatisfy { $0 == UInt8(ascii: " ") }, "\(name)")
    }
  }

  @Test("a layer naming the router under both its names is refused")
  func bothRouterNames() throws {
    let path = Self.folder + "/llama-tiny-plain.emoe"
    let file = try ContainerFile(path: path)
    var json = file.manifestJSON
    guard case .object(var members) = json,
      let layersIndex = members.firstIndex(where: { $0.key == "layers" }),
      case .array(var layers) = members[layersIndex].value, case .object(var record) = layers[0],
      let tensorsIndex = record.firstIndex(where: { $0.key == "tensors" }),
      case .object(var roles) = record[tensorsIndex].value,
      let router = roles.first(where: { $0.key == "gate" })
    else {
      Issue.record("unexpected manifest shape")
      return
    }
    roles.append(JSONMember("router", router.value))
    record[tensorsIndex].value = .object(roles)
    layers[0] = .object(record)
    members[layersIndex].value = .array(layers)
    json = .object(members)
    do {
      _ = try ContainerManifest.decode(json, file: path)
      Issue.record("accepted")
    } catch {
      #expect(error.kind == .invalidManifest)
      #expect(error.location.key == "layers[0].tensors.router", "\(error)")
    }
  }
}
