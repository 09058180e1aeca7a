import EMoECore
import EMoEFormats
import EMoETestSupport
import Foundation
import Testing

@Suite("emoe-pack verify and inspect on .emoe containers")
struct VerifyCommandTests {
  /// Writes a small container with one converted layer and returns its bytes.
  static func writeContainer(to path: String) throws -> [UInt8] {
    let declarations = [
      ContainerTensorDeclaration(
        name: "embed", dtype: .f32, shape: [4, 8],
        source: ContainerTensorSource(
          name: "embed", dtype: .f32, shape: [4, 8], transposed: false, values: .exact)),
      ContainerTensorDeclaration(name: "perm", dtype: .i64, shape: [4]),
      ContainerTensorDeclaration(name: "gate", dtype: .f32, shape: [2, 8]),
      ContainerTensorDeclaration(
        name: "w1", dtype: .f16, shape: [4, 8], compression: .zstd(level: 3)),
      ContainerTensorDeclaration(name: "w2", dtype: .f32, shape: [4, 8]),
    ]
    let layer = ContainerLayerRecord(
      layer: 1, family: .plain, activation: "gelu", transposedSource: false, hiddenSize: 8,
      intermediateSize: 4, expertCount: 2, expertSizes: [2, 2], topK: 1,
      clustering: .init(
        method: "balanced_kmeans", keys: .w1, seed: 0, restarts: 2, iterations: 3, sse: 0.75),
      tensors: [.permutation: "perm", .router: "gate", .w1: "w1", .w2: "w2"])
    let plan = ContainerPlan(
      tool: ContainerTool(name: "emoe-pack", version: "0.1.0"),
      options: .object([JSONMember("experts", .integer(2))]),
      source: ContainerSourceDescription(
        format: "safetensors",
        files: [
          ContainerSourceFile(
            name: "model.safetensors", size: 1000, sha256: String(repeating: "0", count: 64))
        ],
        metadata: .safetensors([("format", "pt")]), config: nil),
      layers: [layer], tensors: declarations)
    let writer = try ContainerWriter(path: path, plan: plan)
    try writer.append("embed", floats: (0..<32).map { Float($0) })
    try [Int64(3), 1, 0, 2].withUnsafeBytes { try writer.append("perm", bytes: $0) }
    try writer.append("gate", floats: (0..<16).map { Float($0) / 4 })
    try writer.append("w1", floats: (0..<32).map { Float($0) / 3 })
    try writer.append("w2", floats: (0..<32).map { -Float($0) })
    try writer.commit()
    return Array(try Data(contentsOf: URL(fileURLWithPath: path)))
  }

  @Test("verify passes an intact container (exit 0) and lists every check")
  func intact() throws {
    let directory = try TemporaryDirectory()
    let path = directory.file("model.emoe")
    _ = try Self.writeContainer(to: path)
    let text = try CommandRunner.run(["verify", path])
    #expect(text.status == 0, "\(text.stderr)")
    #expect(text.stdout.contains("verify OK"))
    #expect(text.stdout.contains("header, 5 tensor checksums, padding"))
    let json = try CommandRunner.run(["verify", "--json", path])
    #expect(json.status == 0)
    let report = try JSONValue.parse(json.stdout)
    #expect(report["ok"] == .bool(true))
    #expect(report["file"] == .string(path))
    let names = report["checks"]?.arrayValue?.filter { $0["kind"] == .string("integrity") }
      .compactMap { $0["name"]?.stringValue }
    #expect(
      names == [
        "header", "tensor:embed", "tensor:perm", "tensor:gate", "tensor:w1", "tensor:w2", "padding",
      ])
  }

  @Test("verify exits 3 on a damaged tensor and names it")
  func damagedTensor() throws {
    let directory = try TemporaryDirectory()
    let path = directory.file("model.emoe")
    var bytes = try Self.writeContainer(to: path)
    let container = try ContainerFile(path: path)
    let w2 = try #require(container.entry(named: "w2"))
    bytes[w2.offset + 3] ^= 0x04
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    let output = try CommandRunner.run(["verify", "--json", path])
    #expect(output.status == 3)
    let report = try JSONValue.parse(output.stdout)
    #expect(report["ok"] == .bool(false))
    let failed = report["checks"]?.arrayValue?.filter { $0["ok"] == .bool(false) }
    #expect(failed?.compactMap { $0["name"]?.stringValue } == ["tensor:w2"])
    let text = try CommandRunner.run(["verify", path])
    #expect(text.status == 3)
    #expect(text.stdout.contains("FAILED"))
  }

  @Test("verify detects single-bit flips across the file (a sample of positions)")
  func flippedBits() throws {
    let directory = try TemporaryDirectory()
    let original = try Self.writeContainer(to: directory.file("model.emoe"))
    let path = directory.file("flipped.emoe")
    let positions = Array(
      Set(
        Array(stride(from: 0, to: original.count, by: 89)) + [
          0, 8, 20, 48, 63, 64, original.count - 1,
        ])
    ).sorted()
    for position in positions {
      var bytes = original
      bytes[position] ^= UInt8(1) << UInt8(position % 8)
      try Data(bytes).write(to: URL(fileURLWithPath: path))
      let output = try CommandRunner.run(["verify", path])
      // 3 = damaged; 2 = the flip hit the magic or version, so it is no longer a readable .emoe.
      let expected: Set<Int32> = position < 12 ? [2] : [3]
      #expect(
        expected.contains(output.status), "byte \(position): exit \(output.status) \(output.stderr)"
      )
    }
  }

  @Test("verify exits 2 for a file that is not a container and 1 for a missing one")
  func wrongInput() throws {
    let directory = try TemporaryDirectory()
    let path = directory.file("other.bin")
    try Data("GGUF and some bytes".utf8).write(to: URL(fileURLWithPath: path))
    let other = try CommandRunner.run(["verify", path])
    #expect(other.status == 2)
    #expect(other.stderr.contains("not an .emoe container"))
    let missing = try CommandRunner.run(["verify", directory.file("missing.emoe")])
    #expect(missing.status == 1)
    #expect(missing.stderr.contains("No such file"))
  }

  @Test("inspect summarises a container; --json carries the manifest; --check exits 3 when damaged")
  func inspect() throws {
    let directory = try TemporaryDirectory()
    let path = directory.file("model.emoe")
    var bytes = try Self.writeContainer(to: path)
    let text = try CommandRunner.run(["inspect", path])
    #expect(text.status == 0, "\(text.stderr)")
    #expect(text.stdout.contains("converted layers: 1"))
    #expect(text.stdout.contains("passthrough tensors: 1"))
    #expect(text.stdout.contains("model.safetensors"))
    #expect(text.stdout.contains("F16, zstd 3 + F32"))
    let checked = try CommandRunner.run(["inspect", "--check", path])
    #expect(checked.status == 0)
    #expect(checked.stdout.contains("checksums: OK"))
    let json = try JSONValue.parse(try CommandRunner.run(["inspect", "--json", path]).stdout)
    #expect(json["manifest"]?["layers"]?.arrayValue?.count == 1)
    #expect(json["file_size"]?.intValue == bytes.count)
    #expect(json["source_size"]?.intValue == 1000)
    #expect(json["checksums_ok"] == .null)

    let w1 = try #require(try ContainerFile(path: path).entry(named: "w1"))
    bytes[w1.offset + 1] ^= 0x01
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    let damaged = try CommandRunner.run(["inspect", "--check", "--json", path])
    #expect(damaged.status == 3)
    let report = try JSONValue.parse(damaged.stdout)
    #expect(report["checksums_ok"] == .bool(false))
  }

  @Test("--help lists verify and documents exit code 3")
  func help() throws {
    let output = try CommandRunner.run(["--help"])
    #expect(output.stdout.contains("verify"))
    #expect(output.stdout.contains("integrity failure"))
  }
}
