import Dispatch
import Synchronization

/// The SHA-256 of files, each computed at most once per file version and shared by every
/// step that needs it: provenance, freshness checks, source location and output checks.
///
/// Digests are keyed by what the file is on disk: device, inode, size, and the modification
/// and status-change times, so a file changed, replaced or rewritten in place is hashed again.
/// Concurrent requests for one file wait for the one computation instead of hashing it twice.
///
/// A digest is kept only when the file's identity is the same after hashing as before, and the
/// file was not changed within ``racyInterval`` of the request: file-system timestamps advance in
/// ticks, so a file rewritten with the same size within the tick of its hashing would keep its
/// identity ("racy" entries, as git calls them). Such a file is hashed on each request.
public final class FileDigests: Sendable {
  /// The process's cache, used by the commands and as the libraries' default.
  public static let shared = FileDigests()

  /// What identifies one version of a file.
  struct Identity: Hashable {
    var device: UInt64
    var inode: UInt64
    var size: Int64
    var modified: Stamp
    var changed: Stamp
  }

  /// A file time stamp, seconds and nanoseconds since the epoch.
  struct Stamp: Hashable, Comparable {
    var seconds: Int
    var nanoseconds: Int

    static func < (left: Stamp, right: Stamp) -> Bool {
      (left.seconds, left.nanoseconds) < (right.seconds, right.nanoseconds)
    }
  }

  /// One hashing in progress, which later requests for the same file wait for.
  private final class Computation: Sendable {
    let finished = DispatchGroup()
    let result = Mutex<Result<String, FileError>?>(nil)

    init() { finished.enter() }
  }

  private enum Entry {
    case known(String)
    case running(Computation)
  }

  private struct State {
    var entries: [Identity: Entry] = [:]
    var filesHashed = 0
    var hashes: [Identity: Int] = [:]
  }

  private let state = Mutex(State())
  /// Files changed this recently before a request are hashed but not remembered.
  let racyInterval: Duration

  /// Creates an empty cache.
  public convenience init() {
    self.init(racyInterval: .seconds(1))
  }

  /// Creates an empty cache that does not remember files changed within `racyInterval` of
  /// their hashing (tests use zero so that files they have just written are remembered).
  init(racyInterval: Duration) {
    self.racyInterval = racyInterval
  }

  /// The lowercase hex SHA-256 of the file at `path`, hashed only if this version of the file
  /// has not been hashed before.
  ///
  /// `progress` is told the bytes hashed as they are, or the file's whole size at once when its
  /// digest is already known or another request computes it.
  ///
  /// - Throws: ``FileError`` when the file cannot be examined or read.
  public func sha256(
    ofFile path: String, progress: (@Sendable (_ bytes: Int) -> Void)? = nil
  ) throws(FileError) -> String {
    let now = Self.now()
    let before = try Self.identity(of: path)
    enum Role {
      case known(String)
      case wait(Computation)
      case compute(Computation)
    }
    let role = state.withLock { (state: inout State) -> Role in
      switch state.entries[before] {
      case .known(let digest):
        return .known(digest)
      case .running(let computation):
        return .wait(computation)
      case nil:
        let computation = Computation()
        state.entries[before] = .running(computation)
        return .compute(computation)
      }
    }
    switch role {
    case .known(let digest):
      progress?(Int(before.size))
      return digest
    case .wait(let computation):
      computation.finished.wait()
      let result = computation.result.withLock { $0 }
      guard let result else { throw FileError(path: path, operation: "hash", code: EIO) }
      progress?(Int(before.size))
      return try result.get()
    case .compute(let computation):
      let result = Result { () throws(FileError) in
        try FileSystem.sha256(ofFile: path, progress: progress)
      }
      let after = try? Self.identity(of: path)
      let keep = after == before && !isRacy(before, now: now)
      state.withLock { state in
        state.filesHashed += 1
        state.hashes[before, default: 0] += 1
        if keep, case .success(let digest) = result {
          state.entries[before] = .known(digest)
        } else {
          state.entries[before] = nil
        }
      }
      computation.result.withLock { $0 = result }
      computation.finished.leave()
      return try result.get()
    }
  }

  /// How many times this cache has read a file through to hash it.
  var filesHashed: Int { state.withLock { $0.filesHashed } }

  /// How many times this cache has hashed the file now at `path`, in its current version.
  func timesHashed(_ path: String) -> Int {
    guard let identity = try? Self.identity(of: path) else { return 0 }
    return state.withLock { $0.hashes[identity] ?? 0 }
  }

  /// Whether `identity`'s file changed so shortly before `now` that a later change within the
  /// same time-stamp tick could leave its identity as it is.
  private func isRacy(_ identity: Identity, now: Stamp) -> Bool {
    let window = racyInterval.components
    var limit = Stamp(
      seconds: now.seconds - Int(window.seconds),
      nanoseconds: now.nanoseconds - Int(window.attoseconds / 1_000_000_000))
    if limit.nanoseconds < 0 {
      limit.seconds -= 1
      limit.nanoseconds += 1_000_000_000
    }
    return racyInterval > .zero && max(identity.modified, identity.changed) >= limit
  }

  /// The identity of the file at `path` as it is on disk now (`stat`, following links).
  static func identity(of path: String) throws(FileError) -> Identity {
    var status = stat()
    guard stat(path, &status) == 0 else { throw .fromErrno(path, "stat") }
    let modified = POSIX.modificationTime(status)
    let changed = POSIX.statusChangeTime(status)
    return Identity(
      device: UInt64(status.st_dev), inode: UInt64(status.st_ino), size: Int64(status.st_size),
      modified: Stamp(seconds: Int(modified.tv_sec), nanoseconds: Int(modified.tv_nsec)),
      changed: Stamp(seconds: Int(changed.tv_sec), nanoseconds: Int(changed.tv_nsec)))
  }

  /// The wall-clock time, as file time stamps count it.
  private static func now() -> Stamp {
    var time = timespec()
    clock_gettime(CLOCK_REALTIME, &time)
    return Stamp(seconds: Int(time.tv_sec), nanoseconds: Int(time.tv_nsec))
  }
}
