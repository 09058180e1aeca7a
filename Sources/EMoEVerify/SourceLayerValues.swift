import EMoEModel

/// One source layer's FFN with its canonical F32 values decoded once and kept, since several
/// checks of a layer read the same matrices.
final class SourceLayerValues {
  /// The layer in the source model.
  let ffn: LayerFFN
  private var cache: [FFNRole: [Float]] = [:]

  init(_ ffn: LayerFFN) { self.ffn = ffn }

  /// The canonical values of `role` (see ``EMoEModel/LayerFFN/floats(_:)``).
  func floats(_ role: FFNRole) throws -> [Float] {
    if let cached = cache[role] { return cached }
    let values = try ffn.floats(role)
    cache[role] = values
    return values
  }
}
