import EMoECore
import EMoEFormats
import EMoETestSupport
import Testing

/// The layer record's `router` member (revision 1.2): absent means average_key; readers refuse
/// an unknown kind, a kind the family cannot have, and tensors that do not fit the kind.
@Suite("layer records: the router kind")
struct ContainerRouterKindTests {
  typealias Fixture = ContainerMalformedTests.Fixture

  /// Layer 0 of the sample is a plain FFN (layer 3), layer 1 a GLU FFN (layer 7).
  static let plain: [JSONStep] = [.key("layers"), .index(0)]
  static let glu: [JSONStep] = [.key("layers"), .index(1)]

  @Test("today's files have no router member and read as average_key")
  func absentMeansAverageKey() throws {
    let fixture = try Fixture()
    let manifest = try fixture.manifest()
    #expect(manifest[path: Self.glu + [.key("router")]] == nil)
    #expect(try fixture.openError(fixture.bytes) == nil)
  }

  @Test(
    "an unknown kind, up on a plain FFN, and up_abs with a router tensor are refused",
    arguments: [
      ("sideways", true, "must be 'average_key', 'up' or 'up_abs', not 'sideways'"),
      ("up", false, "needs a GLU FFN"),
      ("up_abs", false, "needs a GLU FFN"),
      ("up_abs", true, "stores no 'router' tensor"),
    ])
  func refused(kind: String, onGLU: Bool, phrase: String) throws {
    let fixture = try Fixture()
    let error = try fixture.manifestError {
      $0.set((onGLU ? Self.glu : Self.plain) + [.key("router")], .string(kind))
    }
    let found = try #require(error, "\(kind) was accepted")
    #expect(found.kind == .invalidManifest)
    #expect(found.description.contains(phrase), "\(found)")
    #expect(found.description.contains("router"), "\(found)")
  }

  @Test("up keeps the router tensor; up_abs without router tensors reads")
  func accepted() throws {
    let fixture = try Fixture()
    let directory = try TemporaryDirectory()
    var up = fixture.bytes
    try ContainerBytes.editManifest(&up) { $0.set(Self.glu + [.key("router")], .string("up")) }
    try ContainerBytes.write(up, to: directory.file("up.emoe"))
    let upFile = try ContainerFile(path: directory.file("up.emoe"))
    #expect(upFile.manifest.layers[1].router == .up)
    #expect(upFile.manifest.layers[0].router == .averageKey)

    var upAbs = fixture.bytes
    try ContainerBytes.editManifest(&upAbs) {
      $0.set(Self.glu + [.key("router")], .string("up_abs"))
      for role in ["router", "router_bias", "gate", "gate_bias"] {
        $0.set(Self.glu + [.key("tensors"), .key(role)], nil)
      }
    }
    try ContainerBytes.write(upAbs, to: directory.file("up_abs.emoe"))
    let file = try ContainerFile(path: directory.file("up_abs.emoe"))
    let record = file.manifest.layers[1]
    #expect(record.router == .upAbs)
    #expect(record.tensors[.router] == nil)
    // Re-encoding keeps the member.
    #expect(file.manifest.json()[path: Self.glu + [.key("router")]] == .string("up_abs"))

    // Without the member, the same record lacks its required router.
    var missing = fixture.bytes
    try ContainerBytes.editManifest(&missing) {
      for role in ["router", "gate"] { $0.set(Self.glu + [.key("tensors"), .key(role)], nil) }
    }
    let error = try #require(try fixture.openError(missing))
    #expect(error.description.contains("'router' is missing"), "\(error)")
  }
}
