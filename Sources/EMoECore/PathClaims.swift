/// The files one command (or one batch) reads and writes, compared by what they resolve to, so
/// that no output is, or resolves to, an input or another output.
///
/// Every path is recorded with its ``FileIdentity``: a canonical real path and, for an existing
/// file, its device and inode, so `out/../model.safetensors`, a symbolic link to the input and
/// a hard link to it are all recognised as the input. Two reads of one file are fine; a write
/// that meets any other claim on the same file is refused.
public struct PathClaims: Sendable {
  /// How a claimed path is used.
  public enum Use: Sendable {
    /// The command reads the file.
    case read
    /// The command writes (replaces) the file.
    case write
  }

  private struct Claim: Sendable {
    var path: String
    var label: String
    var use: Use
  }

  private var byPath: [String: Claim] = [:]
  private var byInode: [FileIdentity.Inode: Claim] = [:]

  /// An empty set of claims.
  public init() {}

  /// Records that `path` is read; throws when an earlier output is the same file.
  ///
  /// - Parameter label: how a message names this use, such as `the input model.safetensors` or
  ///   `jobs[2].input`.
  public mutating func read(_ path: String, as label: String) throws(PathConflict) {
    try claim(path, label: label, use: .read)
  }

  /// Records that `path` is written; throws when it is the same file as any earlier claim.
  ///
  /// - Parameter label: how a message names this output, such as `the output` or `--depfile`.
  public mutating func write(_ path: String, as label: String) throws(PathConflict) {
    try claim(path, label: label, use: .write)
  }

  private mutating func claim(_ path: String, label: String, use: Use) throws(PathConflict) {
    let identity = FileIdentity(path: path)
    let earlier = [byPath[identity.canonicalPath], identity.inode.flatMap { byInode[$0] }]
      .compactMap { $0 }
    if let conflict = earlier.first(where: { use == .write || $0.use == .write }) {
      let current = Claim(path: path, label: label, use: use)
      let (output, other) = use == .write ? (current, conflict) : (conflict, current)
      throw PathConflict(
        path: output.path, label: output.label, otherPath: other.path, otherLabel: other.label,
        otherReads: other.use == .read)
    }
    let claim = Claim(path: path, label: label, use: use)
    if byPath[identity.canonicalPath] == nil { byPath[identity.canonicalPath] = claim }
    if let inode = identity.inode, byInode[inode] == nil { byInode[inode] = claim }
  }
}
