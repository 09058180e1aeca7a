import ArgumentParser

/// The documented exit codes of `emoe-pack`.
public enum ExitStatus {
  /// Everything succeeded.
  public static let success = ExitCode(0)
  /// An I/O failure or an internal error.
  public static let failure = ExitCode(1)
  /// An input file is malformed or of the wrong kind.
  public static let invalidInput = ExitCode(2)
  /// A container failed an integrity check of `verify` (it is damaged).
  public static let integrityFailure = ExitCode(3)
  /// The command line itself is wrong (argument-parser's validation failure, `EX_USAGE`).
  public static let usage = ExitCode(64)
}
