import EMoECore
import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The SHA-256 of input files, computed once per run: several jobs often read one model with
/// different options, and hashing a large model costs seconds.
///
/// Entries are keyed by device, inode, size and modification time, so a file replaced during
/// the run is hashed again.
final class InputDigests: Sendable {
  private struct Identity: Hashable {
    var device: UInt64
    var inode: UInt64
    var size: Int64
    var seconds: Int
    var nanoseconds: Int
  }

  private let cache = Mutex<[Identity: String]>([:])

  /// The lowercase hex SHA-256 of the file at `path`, or `nil` when it cannot be read.
  func sha256(of path: String) -> String? {
    var status = stat()
    guard stat(path, &status) == 0 else { return nil }
    let identity = Identity(
      device: UInt64(status.st_dev), inode: UInt64(status.st_ino), size: Int64(status.st_size),
      seconds: Int(status.st_mtim.tv_sec), nanoseconds: Int(status.st_mtim.tv_nsec))
    if let known = cache.withLock({ $0[identity] }) { return known }
    guard let digest = try? FileSystem.sha256(ofFile: path) else { return nil }
    cache.withLock { $0[identity] = digest }
    return digest
  }
}
