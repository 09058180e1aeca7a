import EMoEFormats
import EMoEModel

/// One tensor a converted layer stores, and how it is made from the source.
public struct PlannedTensor: Sendable {
  /// What the stored bytes are.
  public enum Content: Sendable, Equatable {
    /// σ, the original neuron of every stored position (I32 or I64).
    case permutation
    /// The average-key router `[E, d]` F32.
    case router
    /// The router's bias: the mean of the key bias over each expert, `[E]` F32.
    case routerBias
    /// An FFN matrix made neuron-major `[n, d]` (``EMoEModel/TensorMove`` `rows`, `columns` or
    /// `decodedColumns`), possibly requantised.
    case matrix(FFNRole, TensorMove, ExpertQuantization)
    /// The per-row scales of the `int8_rows` matrix stored just before.
    case scales(FFNRole)
    /// An input-side `[n]` bias, permuted (decoded to F32 first when `decode` is set).
    case neuronVector(FFNRole, decode: Bool)
    /// An output-side `[d]` bias, copied unchanged.
    case outputBias(FFNRole)
  }

  /// The container declaration.
  public var declaration: ContainerTensorDeclaration
  /// What the bytes are.
  public var content: Content
}
