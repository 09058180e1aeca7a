/// The activation applied to the FFN's first projection (the gate's, for GLU FFNs).
public enum FFNActivation: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
  /// GELU with the exact error function (BERT, RoBERTa, ViT: `hidden_act: gelu`).
  case gelu
  /// GELU's tanh approximation (GPT-2: `gelu_new`, also `gelu_pytorch_tanh`, `gelu_fast`).
  case geluTanh = "gelu_tanh"
  /// `max(0, x)`.
  case relu
  /// `x · sigmoid(x)` (LLaMA-family GLU gates: `silu`, `swish`).
  case silu

  /// Reads a Hugging Face `hidden_act` / `activation_function` value, or `nil` when it names an
  /// activation emoe-pack does not implement.
  public init?(configName: String) {
    switch configName.lowercased() {
    case "gelu", "gelu_python", "gelu_erf": self = .gelu
    case "gelu_new", "gelu_pytorch_tanh", "gelu_fast", "gelu_tanh", "gelu_accurate":
      self = .geluTanh
    case "relu": self = .relu
    case "silu", "swish": self = .silu
    default: return nil
    }
  }

  /// The name used in `--ffn-pattern` and reports.
  public var description: String { rawValue }
}
