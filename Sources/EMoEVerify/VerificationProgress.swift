/// Where a verification is, for a progress display.
public struct VerificationProgress: Sendable, Equatable {
  /// What the verifier is doing.
  public enum Phase: String, Sendable, CaseIterable {
    /// Checking the container's checksums.
    case integrity = "checking integrity"
    /// Hashing the source files to match them to the record.
    case hashing = "hashing source"
    /// Checking converted layers against the source.
    case layers = "checking layers"
    /// Running the whole model at each k.
    case model = "running the whole model"
  }

  /// The current phase.
  public var phase: Phase
  /// Units done in this phase: bytes while hashing, layers while checking layers, else 0.
  public var done: Int
  /// Units in all in this phase (0 when unknown).
  public var total: Int

  /// Creates a snapshot.
  public init(phase: Phase, done: Int = 0, total: Int = 0) {
    self.phase = phase
    self.done = done
    self.total = total
  }

  /// Whether the units are bytes.
  public var countsBytes: Bool { phase == .hashing }
}
