import EMoECore

/// An FFN activation function, applied elementwise in `Float`.
///
/// The formulas are PyTorch's: `gelu` is `0.5·x·(1 + erf(x/√2))`, the tanh approximation
/// ("gelu_new", "gelu_pytorch_tanh") is `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`, and SiLU
/// is `x / (1 + e^(−x))`.
public enum Activation: String, Sendable, CaseIterable, Hashable {
  /// GELU with the exact error function (BERT, RoBERTa, ViT).
  case geluErf = "gelu"
  /// GELU with the tanh approximation (GPT-2).
  case geluTanh = "gelu_tanh"
  /// `max(x, 0)` (NaN stays NaN, as in PyTorch).
  case relu
  /// `x·sigmoid(x)`, also called swish (LLaMA's GLU).
  case silu

  /// The activation named by a Hugging Face `hidden_act` / `hidden_activation` value, or `nil`
  /// for a name this runner does not implement.
  public init?(huggingFaceName name: String) {
    switch name.lowercased() {
    case "gelu", "gelu_python", "gelu_erf": self = .geluErf
    case "gelu_new", "gelu_pytorch_tanh", "gelu_fast", "gelu_tanh": self = .geluTanh
    case "relu": self = .relu
    case "silu", "swish": self = .silu
    default: return nil
    }
  }

  /// The activation of one value.
  @inlinable
  public func callAsFunction(_ x: Float) -> Float {
    switch self {
    case .geluErf:
      return 0.5 * x * (1 + erff(x * 0.70710678118654752))
    case .geluTanh:
      let inner = 0.79788456080286536 * (x + 0.044715 * x * x * x)
      return 0.5 * x * (1 + tanhf(inner))
    case .relu:
      return x < 0 ? 0 : x
    case .silu:
      return x / (1 + expf(-x))
    }
  }

  /// Replaces every value of `values` by its activation.
  @inlinable
  public func apply(_ values: UnsafeMutablePointer<Float>, count: Int) {
    switch self {
    case .relu:
      for index in 0..<count where values[index] < 0 { values[index] = 0 }
    default:
      for index in 0..<count { values[index] = self(values[index]) }
    }
  }

  /// Computes the GLU product in place: `gate[i] = act(gate[i]) · up[i]`.
  @inlinable
  public func applyGated(
    _ gate: UnsafeMutablePointer<Float>, times up: UnsafePointer<Float>, count: Int
  ) {
    for index in 0..<count { gate[index] = self(gate[index]) * up[index] }
  }
}
