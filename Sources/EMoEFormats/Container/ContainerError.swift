import EMoECore

/// A `.emoe` container that cannot be read, fails a check, or a writer used against its plan.
///
/// Every error names where it was found (file, tensor or manifest key, byte offset), so messages
/// read like `model.emoe: tensor 'w' (byte 4096): checksum mismatch`.
public struct ContainerError: Error, Sendable, Equatable, CustomStringConvertible {
  /// What kind of problem this is, for callers and tests that act on it.
  public enum Kind: Sendable, Equatable {
    /// The operating system failed to open, map or write a file.
    case io
    /// The first 8 bytes are not `EMOEPACK`.
    case notAContainer
    /// The format version is not one this reader implements.
    case unsupportedVersion(UInt32)
    /// The file ends before the header says it does.
    case truncated
    /// A fixed header field is out of range or inconsistent.
    case invalidHeader
    /// The checksum over the header and manifest does not match.
    case headerChecksumMismatch
    /// The manifest is not valid JSON or breaks a rule of the schema.
    case invalidManifest
    /// The file requires a feature this reader does not implement.
    case unknownRequiredFeature(String)
    /// A tensor's data does not start on a 64-byte boundary.
    case misalignedTensor
    /// A tensor's data reaches outside the data section or the file.
    case tensorOutOfRange
    /// Two tensors' data overlap (or are out of table order).
    case overlappingTensors
    /// Bytes between two tensors that no tensor accounts for (beyond alignment padding).
    case unexpectedGap
    /// A padding byte is not zero.
    case nonzeroPadding
    /// A tensor's stored or decompressed bytes do not match their checksum.
    case checksumMismatch
    /// A compressed tensor's zstd frame is corrupt or has the wrong size.
    case decompressionFailed
    /// No tensor of that name is stored.
    case tensorNotFound
    /// The writer's plan is inconsistent, or appends do not follow it.
    case invalidPlan
  }

  /// What kind of problem this is.
  public var kind: Kind
  /// Where it was found.
  public var location: ErrorLocation
  /// A readable explanation.
  public var detail: String

  /// Creates an error.
  public init(_ kind: Kind, _ location: ErrorLocation, _ detail: String) {
    self.kind = kind
    self.location = location
    self.detail = detail
  }

  /// Wraps an operating-system failure.
  public init(_ error: FileError) {
    if let kind = error.wrongKind {
      self.init(.notAContainer, ErrorLocation(file: error.path), "is \(kind), not a regular file")
    } else {
      self.init(.io, ErrorLocation(file: error.path), "\(error)")
    }
  }

  /// `file: tensor 'name' (byte N): detail`.
  public var description: String {
    if kind == .io { return detail }
    return "\(location): \(detail)"
  }
}
