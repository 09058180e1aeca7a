import ArgumentParser

/// The documented exit codes of `emoe-pack`.
public enum ExitStatus {
  /// Everything succeeded.
  public static let success = ExitCode(0)
  /// An I/O failure or an internal error.
  public static let failure = ExitCode(1)
  /// An input file is malformed or of the wrong kind.
  public static let invalidInput = ExitCode(2)
  /// A container failed an integrity check of `verify` or `inspect --check`: a checksum, the
  /// header or the padding does not hold (it is damaged).
  public static let integrityFailure = ExitCode(3)
  /// A job of `batch` failed (or did not run because an earlier one failed); the outputs of the
  /// jobs that succeeded are complete.
  public static let batchJobFailed = ExitCode(4)
  /// `verify`: a converted layer does not hold what its source and permutation say (a stored
  /// row, bias value, gate row or passthrough tensor differs, or the permutation or expert
  /// sizes are wrong).
  public static let permutationMismatch = ExitCode(5)
  /// `verify`: the EMoE FFN at k = E (or the whole model, with `--model`) differs from the dense
  /// source by more than the tolerance or the quantisation bound.
  public static let equivalenceFailure = ExitCode(6)
  /// `verify`: the sparse path disagrees with the masked reference (outputs or selections).
  public static let sparseMaskedMismatch = ExitCode(7)
  /// A tensor holds NaN or infinity where numbers are needed: a source tensor (`convert`), a
  /// stored tensor of a container, an `--inputs` value, or a computed output (`verify`, `run`).
  public static let nonFinite = ExitCode(8)
  /// The command line itself is wrong (argument-parser's validation failure, `EX_USAGE`).
  ///
  /// An unknown option, a missing argument, or an option value that is invalid on its own
  /// (`--experts 0`, `--layers 2-1`, `--tolerance -1`); a value that is only invalid against the
  /// model or file (`--top-k` above E, `--layers` past the last layer) is exit 2.
  public static let usage = ExitCode(64)
}
