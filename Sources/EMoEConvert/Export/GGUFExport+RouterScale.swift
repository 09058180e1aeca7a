import EMoECore
import EMoEFormats

extension GGUFExport {
  /// Refuses converted layers with biases: llama.cpp's MoE experts (`ffn_*_exps`) and router
  /// (`ffn_gate_inp`) have none in the `llama` and `ernie4_5-moe` architectures, and its
  /// `exp_probs_b` is added to the softmax probabilities, not to the scores, so it cannot stand
  /// for EMoE's router bias either (a router bias is the mean of the gate bias anyway).
  func refuseBiases(_ records: [ContainerLayerRecord]) throws(ConversionError) {
    let roles: [ContainerLayerRecord.Role] = [.bg, .bu, .bd, .routerBias]
    let biased = records.filter { record in roles.contains { record.tensors[$0] != nil } }
    guard let first = biased.first else { return }
    let names = roles.filter { first.tensors[$0] != nil }.map(\.rawValue)
    throw .invalidInput(
      "\(container.path): layers \(biased.map(\.layer).sorted()) have biases (layer "
        + "\(first.layer): \(names.joined(separator: ", "))); llama.cpp's MoE experts and router "
        + "have no bias tensors (its exp_probs_b is added to the softmax probabilities, not to "
        + "the router scores); export with --to safetensors")
  }

  /// The router scale of every converted layer for an export at k < E (none at k = E, where
  /// the router is zero).
  ///
  /// `stored` maps a GGUF tensor name to the container's name for it (a container made from
  /// safetensors stores Hugging Face names).
  ///
  /// - Throws: ``ConversionError/invalidInput(_:)`` when a layer has no router matrix or no
  ///   `ffn_norm`, or holds a value that is not finite.
  func routerScales(
    converted: [Int: ContainerLayerRecord], experts: Int, used: Int,
    stored: (String) -> String = { $0 }
  ) throws(ConversionError) -> [Int: GGUFRouterScale] {
    guard used < experts else { return [:] }
    let file = container.path
    let reader = StoredTensors(container: container)
    var scales: [Int: GGUFRouterScale] = [:]
    for (layer, record) in converted {
      guard let routerName = record.tensors[.router] else {
        throw .invalidInput("\(file): layer \(layer) stores no router matrix")
      }
      let normName = stored("blk.\(layer).ffn_norm.weight")
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
