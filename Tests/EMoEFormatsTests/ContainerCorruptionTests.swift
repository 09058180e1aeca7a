import EMoECore
import EMoEFormats
import EMoETestSupport
import Testing

/// Every single-bit flip and every truncation of a small container is detected, never a crash.
@Suite("Container corruption is always detected")
struct ContainerCorruptionTests {
  /// A small container (about 4 KB) with compressed and uncompressed tensors, int8 rows, a
  /// layer record and alignment padding.
  static func smallContainer(in directory: TemporaryDirectory) throws -> [UInt8] {
    let w1 = (0..<48).map { Float($0) / 8 - 3 }
    let declarations = [
      ContainerTensorDeclaration(name: "embed", dtype: .f32, shape: [3, 5]),
      ContainerTensorDeclaration(name: "perm", dtype: .i32, shape: [6]),
      ContainerTensorDeclaration(
        name: "gate", dtype: .f32, shape: [2, 8], compression: .zstd(level: 3)),
      ContainerTensorDeclaration(
        name: "w1", dtype: .f32, shape: [6, 8], compression: .zstd(level: 1)),
      ContainerTensorDeclaration(
        name: "w2", dtype: .i8, shape: [6, 8], encoding: .int8Rows(scales: "w2.scale")),
      ContainerTensorDeclaration(name: "w2.scale", dtype: .f32, shape: [6]),
      ContainerTensorDeclaration(
        name: "tail", dtype: .q8_0, shape: [1, 32], compression: .zstd(level: 3)),
    ]
    let layer = ContainerLayerRecord(
      layer: 0, family: .plain, activation: "relu", transposedSource: false, hiddenSize: 8,
      intermediateSize: 6, expertCount: 2, expertSizes: [3, 3], topK: 1,
      clustering: .init(
        method: "balanced_kmeans", keys: .w1, seed: 1, restarts: 1, iterations: 2, sse: 1.5),
      tensors: [.permutation: "perm", .router: "gate", .w1: "w1", .w2: "w2"])
    let plan = ContainerPlan(
      tool: ContainerTool(name: "emoe-pack", version: "0.1.0"), options: .object([]),
      source: ContainerSourceDescription(
        format: "gguf", files: [], metadata: .gguf([("general.architecture", .string("tiny"))]),
        config: nil),
      layers: [layer], tensors: declarations)
    let path = directory.file("small.emoe")
    let writer = try ContainerWriter(path: path, plan: plan)
    try writer.append("embed", floats: (0..<15).map { Float($0) })
    try [Int32(5), 0, 3, 1, 4, 2].withUnsafeBytes { try writer.append("perm", bytes: $0) }
    try writer.append("gate", floats: (0..<16).map { Float($0) * 0.25 })
    try writer.append("w1", floats: w1)
    try [Int8](repeating: -3, count: 48).withUnsafeBytes { try writer.append("w2", bytes: $0) }
    try writer.append("w2.scale", floats: [Float](repeating: 0.01, count: 6))
    try [UInt8](repeating: 9, count: 34).withUnsafeBytes { try writer.append("tail", bytes: $0) }
    try writer.commit()
    return try ContainerBytes.read(path)
  }

  /// Whether the integrity checks find a problem with the file at `path`.
  static func detected(_ path: String) -> Bool {
    do {
      return !(try ContainerIntegrity.verify(path: path).ok)
    } catch {
      return true
    }
  }

  @Test("flipping any one bit anywhere in the file is detected by verify")
  func everyBitFlip() throws {
    let directory = try TemporaryDirectory()
    let original = try Self.smallContainer(in: directory)
    #expect(original.count < 8192, "keep the sweep small: \(original.count) bytes")
    let path = directory.file("flipped.emoe")
    try ContainerBytes.write(original, to: path)
    #expect(!Self.detected(path), "the unflipped file must pass")
    var missed: [Int] = []
    for position in original.indices {
      var bytes = original
      bytes[position] ^= UInt8(1) << UInt8(position % 8)
      try ContainerBytes.write(bytes, to: path)
      if !Self.detected(path) { missed.append(position) }
    }
    #expect(missed.isEmpty, "undetected flips at bytes \(missed.prefix(20))")
  }

  @Test("truncating the file at any byte gives an error, never a crash")
  func everyTruncation() throws {
    let directory = try TemporaryDirectory()
    let original = try Self.smallContainer(in: directory)
    let path = directory.file("cut.emoe")
    var accepted: [Int] = []
    for length in 0..<original.count {
      try ContainerBytes.write(Array(original[0..<length]), to: path)
      do {
        _ = try ContainerFile(path: path)
        accepted.append(length)
      } catch {
        if length >= 8, error.kind != .truncated { accepted.append(length) }
      }
    }
    #expect(accepted.isEmpty, "lengths not reported as truncated: \(accepted.prefix(20))")
  }
}
