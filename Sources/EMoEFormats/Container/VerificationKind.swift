/// The kinds of check `emoe-pack verify` runs, in the order of their precedence when several
/// fail (the first failed kind decides the exit code).
///
/// A damaged file explains every later failure, and a layout that does not match the source
/// explains a wrong output, so the most fundamental failure is the one reported.
public enum VerificationKind: String, Sendable, CaseIterable, Comparable {
  /// Header, every tensor checksum, padding (exit 3).
  case integrity
  /// Every stored tensor, input and output holds numbers, not NaN or infinity (exit 8). A
  /// non-finite value explains any later failure and makes a passing comparison meaningless.
  case finite
  /// Each converted layer against the source: permutation, expert sizes, every stored matrix
  /// and bias row, gate rows, passthrough tensors (exit 5).
  case permutation
  /// EMoE FFN at k = E equals the dense source FFN; the whole model at k = E equals the
  /// dense source model (exit 6).
  case equivalence
  /// The sparse path equals the masked reference at top-k, with identical selections (exit 7).
  case sparseMasked = "sparse_masked"
  /// Whole-model figures at each requested k (reported; only k = E is judged, as equivalence).
  case model

  /// The kind whose failure decides the exit code; `model` failures count as equivalence.
  public var exitKind: VerificationKind { self == .model ? .equivalence : self }

  /// A heading for the text report.
  public var title: String {
    switch self {
    case .integrity: "integrity"
    case .finite: "finite values"
    case .permutation: "permutation against the source"
    case .equivalence: "equivalence at k = E"
    case .sparseMasked: "sparse path vs masked reference"
    case .model: "whole model"
    }
  }

  public static func < (lhs: VerificationKind, rhs: VerificationKind) -> Bool {
    allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
  }
}
