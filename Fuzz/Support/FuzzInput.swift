#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The scratch folder of one fuzzing process, and the file each input is written to.
///
/// The readers under test open files by path (they map them), so every input is written to one
/// file that is replaced in place for each run: writing costs microseconds, far less than a
/// parse, and keeps the readers' real open-and-map path under test.
enum FuzzInput {
  /// A folder private to this process, created on first use.
  static let directory: String = {
    let base = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
    let path = "\(base)/emoe-fuzz-\(getpid())"
    mkdir(path, 0o700)
    atexit { FuzzInput.removeScratch() }
    return path
  }()

  /// Writes `bytes` to `name` inside ``directory`` (truncating what was there) and returns its
  /// path.
  static func write(_ bytes: UnsafeRawBufferPointer, name: String) -> String {
    let path = directory + "/" + name
    let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    precondition(descriptor >= 0, "cannot create the fuzz input file \(path)")
    defer { close(descriptor) }
    var offset = 0
    while offset < bytes.count {
      let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
      precondition(written > 0, "cannot write the fuzz input file \(path)")
      offset += written
    }
    return path
  }

  /// Creates an empty file at `relative` inside ``directory``, with its folders.
  static func touch(_ relative: String) {
    var folder = directory
    let parts = relative.split(separator: "/")
    for part in parts.dropLast() {
      folder += "/" + part
      mkdir(folder, 0o700)
    }
    let descriptor = open(directory + "/" + relative, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
    if descriptor >= 0 { close(descriptor) }
  }

  /// Creates the folder `relative` inside ``directory``, with its parents.
  static func makeFolder(_ relative: String) {
    var folder = directory
    for part in relative.split(separator: "/") {
      folder += "/" + part
      mkdir(folder, 0o700)
    }
  }

  /// Removes the scratch folder (the fuzzer's files are few and shallow).
  static func removeScratch() {
    let command = "rm -rf '\(directory)'"
    _ = system(command)
  }
}
