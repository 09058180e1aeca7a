import EMoECore

/// The expert count, top-k and size rule of a conversion, checked against the model's layers
/// before any work starts.
public struct ExpertSettings: Sendable, Hashable {
  /// The number of experts per layer.
  public var experts: Int
  /// Experts selected per token.
  public var topK: Int
  /// Whether a neuron count not divisible by ``experts`` is allowed (sizes ⌊n/E⌋ and ⌈n/E⌉).
  public var allowUneven: Bool

  /// Creates settings.
  public init(experts: Int, topK: Int, allowUneven: Bool = false) {
    self.experts = experts
    self.topK = topK
    self.allowUneven = allowUneven
  }

  /// Checks the settings against each layer.
  ///
  /// - Throws: ``ModelError/topKOutOfRange(topK:experts:)``,
  ///   ``ModelError/expertCountOutOfRange(layer:neurons:experts:location:)`` or
  ///   ``ModelError/expertsDoNotDivide(layer:neurons:experts:location:)``, naming the layer and
  ///   its key tensor.
  public func validate(_ layers: [LayerFFN]) throws(ModelError) {
    guard experts >= 1, topK >= 1, topK <= experts else {
      throw .topKOutOfRange(topK: topK, experts: experts)
    }
    for ffn in layers {
      let keyName = ffn.member(ffn.keyRole())?.info.name
      let location = ErrorLocation(file: ffn.source.path, tensor: keyName)
      let n = ffn.intermediateSize
      guard experts <= n else {
        throw .expertCountOutOfRange(
          layer: ffn.layer, neurons: n, experts: experts, location: location)
      }
      if n % experts != 0 && !allowUneven {
        throw .expertsDoNotDivide(
          layer: ffn.layer, neurons: n, experts: experts, location: location)
      }
    }
  }
}
