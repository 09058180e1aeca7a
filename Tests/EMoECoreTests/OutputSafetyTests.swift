import EMoECore
import EMoETestSupport
import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

@Suite("Output safety: regular files only, and no output over an input")
struct OutputSafetyTests {
  @Test("AtomicFileWriter refuses a FIFO, a symbolic link, a folder and a write-protected file")
  func writerRefusesNonRegular() throws {
    let directory = try TemporaryDirectory()
    let fifo = directory.file("fifo")
    #expect(mkfifo(fifo, 0o644) == 0)
    let target = directory.file("target")
    try Data([7]).write(to: URL(fileURLWithPath: target))
    let link = directory.file("link")
    try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
    let folder = directory.file("folder")
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
    let readOnly = directory.file("read-only")
    try Data([8]).write(to: URL(fileURLWithPath: readOnly))
    #expect(chmod(readOnly, 0o444) == 0)
    for (path, phrase) in [
      (fifo, "a FIFO"), (link, "a symbolic link"), (folder, "a folder"),
      (readOnly, "write-protected"),
    ] {
      do {
        _ = try AtomicFileWriter(destination: path)
        Issue.record("\(path) was accepted")
      } catch {
        #expect(error.refusal != nil)
        #expect(error.description.contains(phrase), "\(error)")
      }
    }
    var status = stat()
    #expect(lstat(fifo, &status) == 0 && status.st_mode & S_IFMT == S_IFIFO)
    #expect(lstat(link, &status) == 0 && status.st_mode & S_IFMT == S_IFLNK)
    #expect(try Data(contentsOf: URL(fileURLWithPath: target)) == Data([7]))
    #expect(try Data(contentsOf: URL(fileURLWithPath: readOnly)) == Data([8]))
    // A destination replaced by a FIFO after the writer was made is refused at commit.
    let late = directory.file("late")
    let writer = try AtomicFileWriter(destination: late)
    try writer.write([1])
    #expect(mkfifo(late, 0o644) == 0)
    #expect(throws: FileError.self) { try writer.commit() }
    #expect(lstat(late, &status) == 0 && status.st_mode & S_IFMT == S_IFIFO)
    #expect(
      try FileManager.default.contentsOfDirectory(atPath: directory.path).allSatisfy {
        !$0.contains(".tmp-")
      })
  }

  @Test("a replaced file keeps its permission bits")
  func keepsMode() throws {
    let directory = try TemporaryDirectory()
    let path = directory.file("out")
    try Data([1]).write(to: URL(fileURLWithPath: path))
    #expect(chmod(path, 0o600) == 0)
    let writer = try AtomicFileWriter(destination: path)
    try writer.write([2])
    try writer.commit()
    var status = stat()
    #expect(stat(path, &status) == 0)
    #expect(status.st_mode & 0o777 == 0o600)
  }

  @Test("an output that is an input through a symbolic link, '..' or a hard link is refused")
  func claims() throws {
    let directory = try TemporaryDirectory()
    try FileManager.default.createDirectory(
      atPath: directory.file("in"), withIntermediateDirectories: false)
    let input = directory.file("in/model.bin")
    try Data([1]).write(to: URL(fileURLWithPath: input))
    try FileManager.default.createSymbolicLink(
      atPath: directory.file("alias"), withDestinationPath: directory.file("in"))
    #expect(link(input, directory.file("hard.bin")) == 0)
    for spelled in [
      input, directory.file("in/../in/./model.bin"), directory.file("alias/model.bin"),
      directory.file("hard.bin"),
    ] {
      var claims = PathClaims()
      try claims.read(input, as: "the input")
      #expect(throws: PathConflict.self, "\(spelled)") {
        try claims.write(spelled, as: "the output")
      }
    }
    // Two outputs that are one new file, spelled through the link, conflict too.
    var outputs = PathClaims()
    try outputs.write(directory.file("in/new.out"), as: "the output")
    do {
      try outputs.write(directory.file("alias/sub/../new.out"), as: "--depfile")
      Issue.record("a second spelling of one new output was accepted")
    } catch {
      #expect(!error.otherReads)
      #expect(error.refusal.description.contains("--depfile is the same file as the output"))
    }
    // Two reads of one file are fine, and distinct outputs are too.
    var fine = PathClaims()
    try fine.read(input, as: "a")
    try fine.read(directory.file("hard.bin"), as: "b")
    try fine.write(directory.file("in/other.out"), as: "c")
  }
}
