/// The part a tensor plays in a feed-forward block.
///
/// Plain FFNs (`y = W2 · act(W1 x + b1) + b2`) use ``w1``, ``b1``, ``w2`` and ``b2``; GLU FFNs
/// (`y = Wd · (act(Wg x) ⊙ (Wu x))`) use ``gate``, ``up`` and ``down`` with optional biases.
/// The raw values are the keys of the `--ffn-pattern` syntax.
public enum FFNRole: String, Sendable, Hashable, CaseIterable, Comparable, CustomStringConvertible {
  case w1
  case b1
  case w2
  case b2
  case gate
  case up
  case down
  case gateBias = "gate_bias"
  case upBias = "up_bias"
  case downBias = "down_bias"

  /// Whether the tensor is a matrix (as opposed to a bias vector).
  public var isWeight: Bool {
    switch self {
    case .w1, .w2, .gate, .up, .down: true
    default: false
    }
  }

  /// Whether the tensor sits on the input side of the neurons (indexed by neuron in its bias,
  /// one key per neuron in its weight); false for the output-side `w2`/`down` and their biases.
  public var isInputSide: Bool {
    switch self {
    case .w1, .b1, .gate, .up, .gateBias, .upBias: true
    case .w2, .b2, .down, .downBias: false
    }
  }

  /// The bias added to this matrix's outputs (`b1` for `w1`, `gate_bias` for `gate`), or
  /// `nil` for a bias.
  public var bias: FFNRole? {
    switch self {
    case .w1: .b1
    case .w2: .b2
    case .gate: .gateBias
    case .up: .upBias
    case .down: .downBias
    case .b1, .b2, .gateBias, .upBias, .downBias: nil
    }
  }

  /// The role's name as written in `--ffn-pattern`.
  public var description: String { rawValue }

  public static func < (lhs: FFNRole, rhs: FFNRole) -> Bool {
    allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
  }
}
