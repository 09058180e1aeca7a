import EMoECore
import EMoEFormats

extension GGUFExport {
  /// The router scale of every converted layer for an export at k < E (none at k = E, where
  /// the router is zero).
  ///
  /// - Throws: ``ConversionError/invalidInput(_:)`` when a layer stores a router bias (llama.cpp's
  ///   `llama` MoE adds no bias to `ffn_gate_inp · x`), has no router matrix or no `ffn_norm`,
  ///   or holds a value that is not finite.
  func routerScales(
    converted: [Int: ContainerLayerRecord], experts: Int, used: Int
  ) throws(ConversionError) -> [Int: GGUFRouterScale] {
    guard used < experts else { return [:] }
    let file = container.path
    let biased = converted.values.filter { $0.tensors[.routerBias] != nil }.map(\.layer).sorted()
    guard biased.isEmpty else {
      throw .invalidInput(
        "\(file): layers \(biased) have a router bias; llama.cpp's MoE computes the router as "
          + "ffn_gate_inp · x with no bias (its exp_probs_b is added to the softmax "
          + "probabilities, not to the scores), so --top-k below E cannot select EMoE's experts; "
          + "export with k = E or --to safetensors")
    }
    let reader = StoredTensors(container: container)
    var scales: [Int: GGUFRouterScale] = [:]
    for (layer, record) in converted {
      guard let routerName = record.tensors[.router] else {
        throw .invalidInput("\(file): layer \(layer) stores no router matrix")
      }
      let normName = "blk.\(layer).ffn_norm.weight"
      guard container.entry(named: normName) != nil else {
        throw .invalidInput(
          "\(ErrorLocation(file: file, tensor: normName)): the layer's FFN norm is missing")
      }
      let router = try reader.floats(routerName)
      let norm = try reader.floats(normName)
      guard norm.count == record.hiddenSize,
        let scale = GGUFRouterScale(router: router, experts: experts, norm: norm)
      else {
        throw .invalidInput(
          "\(ErrorLocation(file: file, tensor: routerName)): no score bound: the router or "
            + "\(normName) is not finite or does not match d = \(record.hiddenSize)")
      }
      scales[layer] = scale
    }
    return scales
  }

  /// The `emoe.router_scale` and `emoe.weighting_bound` keys of an export at k < E.
  func routerScaleMetadata(_ layout: Layout) -> [(key: String, value: GGUFValue)] {
    guard !layout.scales.isEmpty else { return [] }
    let layers = layout.scales.keys.sorted()
    let bound = layers.map { layout.scales[$0]!.weightingError(topK: layout.used) }.max() ?? 0
    return [
      (
        "emoe.router_scale",
        .array(
          elementType: .float32, elements: layers.map { .float32(layout.scales[$0]!.scale) })
      ),
      ("emoe.weighting_bound", .float32(Float(bound))),
    ]
  }
}
