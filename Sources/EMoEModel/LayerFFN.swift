import EMoECore
import EMoEFormats

/// One layer's FFN: its tensors by role, and their values as F32 in canonical neuron-major form
/// whatever the storage (Linear or Conv1D layout, F32/F16/BF16, GGUF blocks).
///
/// Canonical forms: every weight is `[n, d]` with row i belonging to neuron i — the rows of W1,
/// Wg and Wu as stored by PyTorch's Linear, GPT-2's `c_fc` transposed, and W2/Wd transposed (row
/// i is neuron i's output vector). Input-side biases are `[n]`, output-side biases `[d]`.
public struct LayerFFN: Sendable {
  /// One tensor of the FFN.
  public struct Member: Sendable, Hashable {
    /// Its role.
    public var role: FFNRole
    /// Its description in the source (name, type, stored shape).
    public var info: TensorInfo
  }

  /// The layer index.
  public let layer: Int
  /// Whether the FFN is gated.
  public let isGLU: Bool
  /// The activation.
  public let activation: FFNActivation
  /// Whether weights are stored Conv1D-style (input side `[d, n]`, output side `[n, d]`).
  public let transposed: Bool
  /// The hidden size d.
  public let hiddenSize: Int
  /// The neuron count n.
  public let intermediateSize: Int
  /// The FFN's tensors present in this layer, in canonical role order.
  public let members: [Member]
  /// The model the tensors come from.
  public let source: any ModelSource

  /// Which matrix supplies the keys of a GLU FFN (plain FFNs always use W1).
  public enum KeyMatrix: String, Sendable, Hashable, CaseIterable {
    /// The gate projection Wg (EMoE's choice, the default).
    case gate
    /// The up projection Wu (LLaMA-MoE's choice).
    case up
    /// The neurons' activation patterns on calibration text (`convert --calibration`); the
    /// router still averages the rows of Wg (GLU) or W1 (plain).
    case activations
  }

  /// The member with `role`, or `nil` when the layer has none.
  public func member(_ role: FFNRole) -> Member? { members.first { $0.role == role } }

  /// The role whose rows are the keys for `choice`.
  public func keyRole(_ choice: KeyMatrix = .gate) -> FFNRole {
    isGLU ? (choice == .up ? .up : .gate) : .w1
  }

  /// Whether `role`'s rows can be this layer's keys: `w1` in a plain FFN, `gate` or `up` in a
  /// GLU one.
  public func canCluster(_ role: FFNRole) -> Bool {
    KeyMatrix.allCases.contains { keyRole($0) == role }
  }

  /// The canonical shape of `role`: `[n, d]` for weights, `[n]` or `[d]` for biases.
  public func canonicalShape(_ role: FFNRole) -> Shape {
    if role.isWeight { return [intermediateSize, hiddenSize] }
    return role.isInputSide ? [intermediateSize] : [hiddenSize]
  }

  /// The shape `role` must have as stored.
  func storedShape(_ role: FFNRole) -> Shape {
    guard role.isWeight else { return canonicalShape(role) }
    return TensorMove.neuronsAreColumns(role, transposed: transposed)
      ? [hiddenSize, intermediateSize] : [intermediateSize, hiddenSize]
  }

  /// The tensor with `role` as stored (mapped, not decoded).
  ///
  /// Useful to copy quantised rows without decoding them.
  public func tensor(_ role: FFNRole) throws(ModelError) -> Tensor {
    guard let member = member(role) else {
      throw .missingTensor(layer: layer, role: role, location: ErrorLocation(file: source.path))
    }
    do {
      return try source.tensor(named: member.info.name)
    } catch {
      throw .unreadableTensor(
        reason: "\(error)", location: ErrorLocation(file: source.path, tensor: member.info.name))
    }
  }

  /// The values of `role` as F32 in canonical form (see the type's summary).
  ///
  /// - Throws: ``ModelError/missingTensor(layer:role:location:)`` when the layer lacks the role,
  ///   ``ModelError/quantizedInputUnsupported(dtype:location:)`` and
  ///   ``ModelError/unsupportedDType(dtype:location:)`` for types that cannot be decoded.
  public func floats(_ role: FFNRole) throws(ModelError) -> [Float] {
    let tensor = try tensor(role)
    let location = ErrorLocation(file: source.path, tensor: tensor.name)
    var stored = try Self.decode(tensor, location: location)
    if TensorMove.neuronsAreColumns(role, transposed: transposed) {
      stored = Self.transposed(stored, rows: hiddenSize, columns: intermediateSize)
    }
    return stored
  }

  /// The keys: rows of W1 (or of Wg / Wu for a GLU FFN, by `choice`) as `[n, d]` F32.
  ///
  /// - Throws: ``ModelError/nonFinite(layer:row:location:)`` when a key holds NaN or infinity,
  ///   and the errors of ``floats(_:)``.
  public func keys(_ choice: KeyMatrix = .gate) throws(ModelError) -> [Float] {
    let role = keyRole(choice)
    let values = try floats(role)
    let d = hiddenSize
    let badRow = values.withUnsafeBufferPointer { buffer -> Int? in
      for row in 0..<intermediateSize {
        var finite = true
        for column in 0..<d where !buffer[row * d + column].isFinite {
          finite = false
          break
        }
        if !finite { return row }
      }
      return nil
    }
    if let badRow {
      throw .nonFinite(
        layer: layer, row: badRow,
        location: ErrorLocation(file: source.path, tensor: member(role)?.info.name))
    }
    return values
  }
}
