import EMoECore
import EMoEFormats
import EMoETestSupport
import Foundation
import Testing

/// Files whose header or manifest claims sizes or counts they cannot back: every one is a
/// typed error, never an overflow trap, an allocation of what the file claims, or a long scan
/// (docs/reliability.md, "Limits on what a file may claim").
@Suite("readers refuse what a file claims but cannot hold")
struct HostileClaimTests {
  /// A sample container's bytes with room made in the manifest (options and config dropped)
  /// so that edits may lengthen numbers.
  static func roomySample(in directory: TemporaryDirectory) throws -> [UInt8] {
    let path = directory.file("valid.emoe")
    try SampleContainer.make(compression: .zstd(level: 3), alternate: true).write(to: path)
    var bytes = try ContainerBytes.read(path)
    try ContainerBytes.editManifest(&bytes) { json in
      json.set([.key("options")], .object([]))
      json.set([.key("source"), .key("config")], nil)
    }
    return bytes
  }

  /// Writes `bytes` with `edit` applied to the manifest and returns the error of opening it.
  static func openError(
    _ bytes: [UInt8], in directory: TemporaryDirectory, _ edit: (inout JSONValue) -> Void
  ) throws -> ContainerError? {
    var copy = bytes
    try ContainerBytes.editManifest(&copy, edit)
    let path = directory.file("edited.emoe")
    try ContainerBytes.write(copy, to: path)
    do {
      _ = try ContainerFile(path: path)
      return nil
    } catch {
      return error
    }
  }

  @Test("a layer claiming n, d, E or expert sizes near 2^63 is a manifest error, not a trap")
  func hugeLayerValues() throws {
    let directory = try TemporaryDirectory()
    let bytes = try Self.roomySample(in: directory)
    let big = JSONValue.integer(Int64.max)
    let layer: [JSONStep] = [.key("layers"), .index(0)]
    let edits: [(String, (inout JSONValue) -> Void)] = [
      ("n", { $0.set(layer + [.key("n")], big) }),
      ("d", { $0.set(layer + [.key("d")], big) }),
      (
        "n and experts",
        { json in
          json.set(layer + [.key("n")], big)
          json.set(layer + [.key("experts")], .integer(Int64.max - 1))
        }
      ),
      (
        "expert_sizes",
        { json in
          json.set(layer + [.key("expert_sizes")], .array([big, big, big, .integer(6)]))
        }
      ),
      (
        "n with sizes",
        { json in
          json.set(layer + [.key("n")], big)
          json.set(layer + [.key("expert_sizes")], .array([big, big, big, big]))
        }
      ),
      ("top_k", { $0.set(layer + [.key("top_k")], big) }),
      ("offset", { $0.set([.key("tensors"), .index(1), .key("offset")], big) }),
      ("stored_length", { $0.set([.key("tensors"), .index(1), .key("stored_length")], big) }),
      ("shape", { $0.set([.key("tensors"), .index(1), .key("shape")], .array([big, big])) }),
    ]
    for (what, edit) in edits {
      let error = try Self.openError(bytes, in: directory, edit)
      #expect(error != nil, "\(what): accepted")
      #expect(error?.kind != .io, "\(what): \(String(describing: error))")
    }
  }

  @Test("source file sizes that overflow when summed are refused, naming the key")
  func hugeSourceSizes() throws {
    let directory = try TemporaryDirectory()
    var bytes = try Self.roomySample(in: directory)
    let file = JSONValue.object([
      JSONMember("name", .string("b.safetensors")), JSONMember("size", .integer(Int64.max)),
      JSONMember("sha256", .string(String(repeating: "cd", count: 32))),
    ])
    try ContainerBytes.editManifest(&bytes) { json in
      json.set([.key("source"), .key("files"), .index(0), .key("size")], .integer(Int64.max))
      json.set([.key("source"), .key("files")], .array([file, file]))
    }
    let path = directory.file("sizes.emoe")
    try ContainerBytes.write(bytes, to: path)
    let error = #expect(throws: ContainerError.self) {
      try Inspection.report(path: path, verifyChecksums: true)
    }
    #expect(error?.location.key == "source.files[1].size", "\(String(describing: error))")
  }

  @Test("a compressed tensor claiming 2 GiB or 4 TiB from a small frame is refused at open")
  func compressedClaims() throws {
    let directory = try TemporaryDirectory()
    let bytes = try Self.roomySample(in: directory)
    let manifest = try ContainerBytes.manifest(bytes)
    // Tensor 0 (F32 [8, 16]) is compressed in the alternating sample.
    let entry: [JSONStep] = [.key("tensors"), .index(0)]
    #expect(manifest[path: entry + [.key("compression")]] == .string("zstd"))
    for (elements, dtype) in [(Int64(1) << 29, "F32"), (Int64(1) << 42, "U8")] {
      let bytesClaimed = dtype == "F32" ? elements * 4 : elements
      let error = try Self.openError(bytes, in: directory) { json in
        json.set(entry + [.key("dtype")], .string(dtype))
        json.set(entry + [.key("shape")], .array([.integer(elements)]))
        json.set(entry + [.key("source"), .key("dtype")], .string(dtype))
        json.set(entry + [.key("source"), .key("shape")], .array([.integer(elements)]))
        json.set(entry + [.key("raw_length")], .integer(bytesClaimed))
      }
      #expect(
        error?.kind == .invalidManifest, "\(bytesClaimed) bytes: \(String(describing: error))")
      #expect(error?.description.contains("raw_length \(bytesClaimed)") == true)
    }
  }

  @Test("a zstd frame whose blocks inflate past its declared size stops at that size")
  func inflatingFrame() throws {
    // Frame: magic, descriptor (single segment, 2-byte content size), size 4096 - 256, then
    // 8000 RLE blocks of 128 KiB (1 GB if decoded in full) in 32 KB.
    var frame: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD, 0x60]
    let declared = 4096
    frame += [UInt8((declared - 256) & 0xFF), UInt8((declared - 256) >> 8)]
    let blockSize = 128 << 10
    for index in 0..<8000 {
      let header = UInt32(blockSize) << 3 | 1 << 1 | (index == 7999 ? 1 : 0)
      frame += [UInt8(header & 0xFF), UInt8((header >> 8) & 0xFF), UInt8(header >> 16), 0x41]
    }
    let started = Date()
    var output = [UInt8](repeating: 0, count: declared)
    #expect(throws: ZstdError.self) {
      try frame.withUnsafeBytes { source in
        try output.withUnsafeMutableBytes { try Zstd.decompress(source, into: $0) }
      }
    }
    #expect(Date().timeIntervalSince(started) < 1)
  }

  @Test("a frame must be exactly the stored bytes and declare the claimed size before allocation")
  func frameChecks() throws {
    let raw = [UInt8](repeating: 7, count: 1000)
    let frame = try raw.withUnsafeBytes { try Zstd.compress($0, level: 3) }
    try frame.withUnsafeBytes { try Zstd.checkFrame($0, declaring: 1000) }
    #expect(throws: ZstdError.self) {
      try frame.withUnsafeBytes { try Zstd.checkFrame($0, declaring: 1 << 31) }
    }
    let twice = frame + frame
    #expect(throws: ZstdError.self) {
      try twice.withUnsafeBytes { try Zstd.checkFrame($0, declaring: 1000) }
    }
    #expect(throws: ZstdError.self) {
      try [UInt8](repeating: 0, count: 4).withUnsafeBytes {
        try Zstd.checkFrame($0, declaring: 1 << 31)
      }
    }
  }

  @Test("checking a frame that inflates 64 MiB of zeros holds 1 MiB at a time")
  func streamedCheck() throws {
    let size = 64 << 20
    let zeros = [UInt8](repeating: 0, count: size)
    let frame = try zeros.withUnsafeBytes { try Zstd.compress($0, level: 3) }
    #expect(frame.count * 1000 < size, "the frame should inflate more than 1000-fold")
    var largest = 0
    var total = 0
    var hasher = XXH64()
    try frame.withUnsafeBytes { source in
      try Zstd.decompressStreaming(source, expectedSize: size) { chunk in
        largest = max(largest, chunk.count)
        total += chunk.count
        hasher.update(chunk)
      }
    }
    #expect(largest <= 1 << 20)
    #expect(total == size)
    #expect(hasher.finalize() == XXH64.hash(zeros))
    #expect(throws: ZstdError.self) {
      try frame.withUnsafeBytes {
        try Zstd.decompressStreaming($0, expectedSize: size / 2) { _ in }
      }
    }
    let cut = Array(frame.dropLast(3))
    #expect(throws: ZstdError.self) {
      try cut.withUnsafeBytes { try Zstd.decompressStreaming($0, expectedSize: size) { _ in } }
    }
  }

  @Test("a safetensors header of 169,000 empty tensors is refused quickly by its count")
  func tooManyTensors() throws {
    let directory = try TemporaryDirectory()
    let path = directory.file("many.safetensors")
    var header = "{"
    let count = SafeTensorsHeader.maximumTensorCount + 37_856
    header.reserveCapacity(count * 60)
    for index in 0..<count {
      if index > 0 { header += "," }
      header += #""t\#(index)":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}"#
    }
    header += "}"
    var bytes = withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { Array($0) }
    bytes += Array(header.utf8)
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    let started = Date()
    do {
      _ = try SafeTensorsFile(path: path)
      Issue.record("a header of \(count) tensors was accepted")
    } catch let error as SafeTensorsError {
      #expect(error.kind == .tooManyTensors, "\(error)")
      #expect(error.description.contains(path))
    }
    #expect(Date().timeIntervalSince(started) < 2)
  }

  @Test("a header at the tensor-count limit is read in a few seconds")
  func tensorsAtTheLimit() throws {
    let directory = try TemporaryDirectory()
    let path = directory.file("limit.safetensors")
    var header = "{"
    let count = SafeTensorsHeader.maximumTensorCount
    header.reserveCapacity(count * 60)
    for index in 0..<count {
      if index > 0 { header += "," }
      header += #""t\#(index)":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}"#
    }
    header += "}"
    var bytes = withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { Array($0) }
    bytes += Array(header.utf8)
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    let started = Date()
    let file = try SafeTensorsFile(path: path)
    #expect(file.tensorInfos.count == count)
    // About a second on an idle machine; the bound leaves room for a loaded CI runner while
    // still catching a parse that grows faster than the header.
    #expect(Date().timeIntervalSince(started) < 10)
  }

  @Test("a folder or a device is refused as a file before it is read, as of the wrong kind")
  func nonRegularFiles() throws {
    // FIFOs are tested through the command line (HostileInputCommandTests), in a child process
    // with a time limit: opening one in this process could block the suite for ever.
    let directory = try TemporaryDirectory()
    for (path, kind) in [(directory.path, "a directory"), ("/dev/null", "a character device")] {
      do {
        _ = try MappedFile(path: path)
        Issue.record("\(path) was mapped")
      } catch {
        #expect(error.isWrongKind)
        #expect(error.description == "\(path): is \(kind), not a regular file")
      }
    }
  }
}
