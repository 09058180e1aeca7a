import EMoECore
import EMoEFormats

/// A model as emoe-pack understands it.
///
/// Its family, where each layer's FFN tensors are, the activation and the sizes. Made by
/// ``detect(_:ffnPattern:)``.
public struct Architecture: Sendable {
  /// How the family was recognised.
  public enum Detection: Sendable, Hashable, CustomStringConvertible {
    /// The user's `--ffn-pattern`.
    case userPattern
    /// GGUF `general.architecture`.
    case ggufArchitecture(String)
    /// config.json `model_type`.
    case configModelType(String)
    /// config.json `architectures`.
    case configArchitectures(String)
    /// Only the tensor names matched.
    case tensorNames

    /// How detection went, for reports.
    public var description: String {
      switch self {
      case .userPattern: "--ffn-pattern"
      case .ggufArchitecture(let name): "GGUF general.architecture '\(name)'"
      case .configModelType(let name): "config.json model_type '\(name)'"
      case .configArchitectures(let name): "config.json architectures '\(name)'"
      case .tensorNames: "tensor names"
      }
    }
  }

  /// The family (``ModelFamily/custom(_:)`` for a user pattern).
  public var family: ModelFamily
  /// How the family was recognised.
  public var detection: Detection
  /// The prefix shared by every FFN tensor name before the family's templates (`""`, `bert.`,
  /// `transformer.`, ...).
  public var prefix: String
  /// The FFN activation (config.json, else the family default; a user pattern's `act` wins).
  public var activation: FFNActivation
  /// The layer indices whose key tensor exists, ascending.
  public var ffnLayers: [Int]
  /// The number of layers (config.json or GGUF `<arch>.block_count`, else the last FFN layer + 1).
  public var layerCount: Int
  /// The hidden size d, from the first FFN layer's key tensor.
  public var hiddenSize: Int
  /// The FFN's neuron count n, from the first FFN layer's key tensor.
  public var intermediateSize: Int

  /// The FFN tensor pattern.
  public var pattern: FFNPattern { family.ffn }

  /// Whether the FFN is gated.
  public var isGLU: Bool { pattern.isGLU }

  /// The full tensor name of `role` in `layer`, or `nil` when the FFN has no such role.
  public func tensorName(_ role: FFNRole, layer: Int) -> String? {
    pattern.name(role, layer: layer, prefix: prefix)
  }

  /// A one-line summary of the model.
  ///
  /// For example `LLaMA (config.json model_type 'llama'): 4 layers, d 64, n 256, GLU silu`.
  public var summary: String {
    "\(family.displayName) (\(detection)): \(layerCount) layers, d \(hiddenSize), n \(intermediateSize), "
      + (isGLU ? "GLU " : "") + activation.rawValue
  }
}
