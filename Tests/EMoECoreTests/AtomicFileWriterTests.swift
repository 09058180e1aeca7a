import EMoECore
import EMoETestSupport
import Foundation
import Testing

@Suite("Atomic writes and mapping")
struct AtomicFileWriterTests {
  @Test("commit renames into place; the mapped bytes equal what was written")
  func commitAndMap() throws {
    let directory = try TemporaryDirectory()
    let path = directory.file("out.bin")
    let writer = try AtomicFileWriter(destination: path, bufferCapacity: 16)
    try writer.write(Array("hello".utf8))
    try writer.pad(toMultipleOf: 8)
    try writer.write(contentsOf: [Float(1.5), -2])
    try writer.write([UInt8](repeating: 7, count: 100))
    #expect(!FileSystem.exists(path))
    try writer.commit()
    let file = try MappedFile(path: path)
    #expect(file.count == 8 + 8 + 100)
    #expect(Array(file.bytes[0..<8]) == Array("hello".utf8) + [0, 0, 0])
    #expect(file.bytes.loadUnaligned(fromByteOffset: 8, as: Float.self) == 1.5)
    #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["out.bin"])
  }

  @Test("an abandoned or aborted writer leaves no file behind")
  func abandon() throws {
    let directory = try TemporaryDirectory()
    let path = directory.file("never.bin")
    do {
      let writer = try AtomicFileWriter(destination: path)
      try writer.write([1, 2, 3])
    }
    let aborted = try AtomicFileWriter(destination: path)
    try aborted.write([4])
    aborted.abort()
    #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
  }

  @Test("an existing destination is replaced only on commit")
  func replaceOnCommit() throws {
    let directory = try TemporaryDirectory()
    let path = directory.file("f")
    try Data([9, 9]).write(to: URL(fileURLWithPath: path))
    let writer = try AtomicFileWriter(destination: path)
    try writer.write([1])
    #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data([9, 9]))
    try writer.commit()
    #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data([1]))
  }

  @Test("mapping a missing file, a folder or an empty file")
  func mappingErrors() throws {
    let directory = try TemporaryDirectory()
    #expect(throws: FileError.self) { try MappedFile(path: directory.file("missing")) }
    #expect(throws: FileError.self) { try MappedFile(path: directory.path) }
    let empty = directory.file("empty")
    try Data().write(to: URL(fileURLWithPath: empty))
    #expect(try MappedFile(path: empty).count == 0)
  }
}
