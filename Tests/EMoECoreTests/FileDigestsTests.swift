import EMoETestSupport
import Foundation
import Synchronization
import Testing

@testable import EMoECore

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The per-process digest cache: one hashing per file version, a changed file hashed again,
/// concurrent requests served by one computation.
@Suite("FileDigests: each file version hashed once")
struct FileDigestsTests {
  /// Writes `bytes` to `path`, replacing its content in place (same inode).
  static func write(_ bytes: [UInt8], to path: String) throws {
    let handle = try #require(
      FileHandle(forWritingAtPath: path)
        ?? {
          FileManager.default.createFile(atPath: path, contents: nil)
          return FileHandle(forWritingAtPath: path)
        }())
    try handle.truncate(atOffset: 0)
    try handle.write(contentsOf: Data(bytes))
    try handle.close()
  }

  static func bytes(_ count: Int, seed: UInt8) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed)) }
  }

  @Test("a file asked for twice is read once, and its digest is the file's SHA-256")
  func hashedOnce() throws {
    let directory = try TemporaryDirectory()
    let path = directory.file("a.bin")
    try Self.write(Self.bytes(100_000, seed: 1), to: path)
    let digests = FileDigests(racyInterval: .zero)
    let first = try digests.sha256(ofFile: path)
    let second = try digests.sha256(ofFile: path)
    #expect(first == (try FileSystem.sha256(ofFile: path)))
    #expect(second == first)
    #expect(digests.filesHashed == 1)
    #expect(digests.timesHashed(path) == 1)
  }

  @Test("a file changed between two requests is hashed again: new size, or replaced by rename")
  func changedFileHashedAgain() throws {
    let directory = try TemporaryDirectory()
    let path = directory.file("a.bin")
    try Self.write(Self.bytes(4096, seed: 1), to: path)
    let digests = FileDigests(racyInterval: .zero)
    let first = try digests.sha256(ofFile: path)
    try Self.write(Self.bytes(4097, seed: 1), to: path)
    let grown = try digests.sha256(ofFile: path)
    #expect(grown != first)
    #expect(grown == (try FileSystem.sha256(ofFile: path)))
    let replacement = directory.file("b.bin")
    try Self.write(Self.bytes(4097, seed: 2), to: replacement)
    #expect(rename(replacement, path) == 0)
    let replaced = try digests.sha256(ofFile: path)
    #expect(replaced != grown)
    #expect(replaced == (try FileSystem.sha256(ofFile: path)))
    #expect(digests.filesHashed == 3)
  }

  @Test("a file changed within the last second is not remembered; an older one is")
  func recentlyChangedFileNotRemembered() throws {
    // Time stamps advance in ticks: a same-size rewrite within the tick of the hashing would
    // leave size, inode and times as they were, so a file changed this recently is hashed on
    // every request, and its rewrite is seen.
    let directory = try TemporaryDirectory()
    let path = directory.file("a.bin")
    try Self.write(Self.bytes(4096, seed: 1), to: path)
    let digests = FileDigests()
    let first = try digests.sha256(ofFile: path)
    #expect(try digests.sha256(ofFile: path) == first)
    #expect(digests.filesHashed == 2)
    try Self.write(Self.bytes(4096, seed: 2), to: path)
    let rewritten = try digests.sha256(ofFile: path)
    #expect(rewritten != first)
    #expect(rewritten == (try FileSystem.sha256(ofFile: path)))
    #expect(digests.filesHashed == 3)
    // Once the file is older than the interval, its digest is kept.
    Thread.sleep(forTimeInterval: 1.2)
    #expect(try digests.sha256(ofFile: path) == rewritten)
    #expect(try digests.sha256(ofFile: path) == rewritten)
    #expect(digests.filesHashed == 4)
  }

  @Test("concurrent requests for one file wait for one computation")
  func concurrentRequestsHashOnce() throws {
    let directory = try TemporaryDirectory()
    let path = directory.file("big.bin")
    // Large enough that hashing takes tens of milliseconds, while every thread asks.
    try Self.write(Self.bytes(48 << 20, seed: 3), to: path)
    let expected = try FileSystem.sha256(ofFile: path)
    let digests = FileDigests(racyInterval: .zero)
    let threads = 6
    let results = Mutex<[String]>([])
    let group = DispatchGroup()
    let start = DispatchSemaphore(value: 0)
    for _ in 0..<threads {
      group.enter()
      Thread {
        start.wait()
        let digest = (try? digests.sha256(ofFile: path)) ?? "error"
        results.withLock { $0.append(digest) }
        group.leave()
      }.start()
    }
    for _ in 0..<threads { start.signal() }
    group.wait()
    #expect(results.withLock { $0 } == Array(repeating: expected, count: threads))
    #expect(digests.filesHashed == 1)
  }

  @Test("a missing file throws a FileError naming it")
  func missingFile() throws {
    let directory = try TemporaryDirectory()
    let path = directory.file("absent.bin")
    let error = #expect(throws: FileError.self) { try FileDigests().sha256(ofFile: path) }
    #expect(error?.path == path)
    #expect(FileDigests().timesHashed(path) == 0)
  }
}
