import EMoECore
import EMoEFormats

/// The EMoE settings an export records: in `config.json` for safetensors, as `emoe.*` keys for
/// GGUF.
///
/// `config.json` keeps every key of the source's config and adds EMoE's LLaMA keys: `n_expert`
/// (E), `topk` (k), `mode` (`"EMoE"`), `select` (`"gate"` or `"up"`, GLU models only), and
/// `split_start_layer`/`split_every_layer` when the converted layers are exactly `start,
/// start + every, ...` up to the last layer (the only sets EMoE's code can express). The
/// object `emoe` holds everything exactly: `layers`, `expert_sizes` per layer, `shared` per
/// layer (the always-active shared neurons, stored first; only when a layer has some),
/// `experts`, `top_k`, `keys`, `layout`, `router_bias`, `source_format` and the writing tool.
enum ExportConfig {
  /// The number of layers the model has, from config.json or GGUF metadata.
  static func layerCount(_ container: ContainerFile) -> Int? {
    if let config = container.config {
      for key in ["num_hidden_layers", "n_layer", "num_layers"] {
        if let count = config[key]?.intValue, count > 0 { return count }
      }
    }
    if case .gguf(let pairs) = container.metadata,
      let arch = pairs.first(where: { $0.key == "general.architecture" })?.value.stringValue,
      let count = pairs.first(where: { $0.key == arch + ".block_count" })?.value.intValue
    {
      return count
    }
    return nil
  }

  /// `(start, every)` when `layers` (ascending) are exactly `start, start + every, ...` up to
  /// the last of `layerCount` layers.
  static func stride(_ layers: [Int], layerCount: Int?) -> (start: Int, every: Int)? {
    guard let first = layers.first, let last = layers.last, let layerCount else { return nil }
    if layers.count == 1 { return (first, max(1, layerCount - first)) }
    let every = layers[1] - layers[0]
    guard every > 0 else { return nil }
    for (a, b) in zip(layers, layers.dropFirst()) where b - a != every { return nil }
    guard last + every >= layerCount else { return nil }
    return (first, every)
  }

  /// The `config.json` of a safetensors export.
  static func huggingFace(_ container: ContainerFile, layout: SafeTensorsExport.Layout)
    -> JSONValue
  {
    var members = container.config?.objectValue ?? []
    let reserved: Set<String> = [
      "n_expert", "topk", "mode", "select", "split_start_layer", "split_every_layer", "emoe",
    ]
    members.removeAll { reserved.contains($0.key) }
    let records = container.layers.sorted { $0.layer < $1.layer }
    let layers = records.map(\.layer)
    if let first = records.first {
      members.append(JSONMember("n_expert", .integer(Int64(first.expertCount))))
      members.append(JSONMember("topk", .integer(Int64(first.topK))))
      members.append(JSONMember("mode", .string("EMoE")))
      if first.family == .glu {
        members.append(JSONMember("select", .string(first.routerKeys.rawValue)))
      }
      if let (start, every) = stride(layers, layerCount: layerCount(container)) {
        members.append(JSONMember("split_start_layer", .integer(Int64(start))))
        members.append(JSONMember("split_every_layer", .integer(Int64(every))))
      }
    }
    members.append(JSONMember("emoe", emoeObject(container, layout: layout.rawValue)))
    return .object(members)
  }

  /// The top-k: one integer when every converted layer has the same, otherwise an object
  /// from layer index to its top-k.
  static func topK(_ records: [ContainerLayerRecord]) -> JSONValue {
    guard let first = records.first else { return .null }
    if records.allSatisfy({ $0.topK == first.topK }) { return .integer(Int64(first.topK)) }
    return .object(records.map { JSONMember(String($0.layer), .integer(Int64($0.topK))) })
  }

  /// The exact EMoE settings as one object.
  static func emoeObject(_ container: ContainerFile, layout: String) -> JSONValue {
    let records = container.layers.sorted { $0.layer < $1.layer }
    let manifest = container.manifest
    var members = [
      JSONMember("layers", .array(records.map { .integer(Int64($0.layer)) })),
      JSONMember("experts", records.first.map { .integer(Int64($0.expertCount)) } ?? .null),
      JSONMember("top_k", topK(records)),
      JSONMember("router", records.first.map { .string($0.router.rawValue) } ?? .null),
      JSONMember("keys", records.first.map { .string($0.clustering.keys.rawValue) } ?? .null),
      JSONMember(
        "expert_sizes",
        .object(
          records.map { record in
            JSONMember(String(record.layer), .array(record.expertSizes.map { .integer(Int64($0)) }))
          })),
    ]
    if records.contains(where: { $0.sharedCount > 0 }) {
      members.append(
        JSONMember(
          "shared",
          .object(
            records.map { JSONMember(String($0.layer), .integer(Int64($0.sharedCount))) })))
    }
    members += [
      JSONMember("router_bias", .bool(records.contains { $0.tensors[.routerBias] != nil })),
      JSONMember("layout", .string(layout)),
      JSONMember("source_format", .string(manifest.source.format)),
      JSONMember("tool", .string("\(manifest.tool.name) \(manifest.tool.version)")),
    ]
    return .object(members)
  }
}
