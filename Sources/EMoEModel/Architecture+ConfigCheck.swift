import EMoECore
import EMoEFormats

extension Architecture {
  /// config.json keys holding the hidden size d.
  static let hiddenSizeKeys = ["hidden_size", "n_embd"]
  /// config.json keys holding the FFN's neuron count n (`null` means a default, not checked).
  static let intermediateSizeKeys = ["intermediate_size", "n_inner"]

  /// Refuses a config.json that contradicts the tensors it describes.
  ///
  /// The container records the config verbatim and every later reader (export, the whole-model
  /// runners, other tools loading an export) trusts it, so a config whose hidden size, FFN size
  /// or layer count disagrees with the tensors would make a container that says one thing and
  /// holds another. Each of those keys, when present and not `null`, must be a positive integer
  /// equal to what every FFN layer's key tensor shows (d and n) and to the number of FFN layers
  /// the tensors hold.
  ///
  /// - Throws: ``ModelError/inconsistentConfig(reason:location:)`` naming config.json, the key,
  ///   the value it holds and the value the tensors show.
  static func checkConfig(
    _ source: any ModelSource, family: ModelFamily, match: Match, keyRole: FFNRole
  ) throws(ModelError) {
    guard let config = source.config else { return }
    let configPath = FileSystem.directory(of: source.files.first ?? source.path) + "/config.json"
    let pattern = family.ffn
    func positive(_ key: String) throws(ModelError) -> Int? {
      guard let value = config[key] else { return nil }
      if case .null = value { return nil }
      guard let number = value.intValue, number >= 1 else {
        throw .inconsistentConfig(
          reason: "must be a positive integer, not \(value.serialized()) (\(value.typeName))",
          location: ErrorLocation(file: configPath, key: key))
      }
      return number
    }
    func values(_ keys: [String]) throws(ModelError) -> [(key: String, value: Int)] {
      var result: [(key: String, value: Int)] = []
      for key in keys {
        if let value = try positive(key) { result.append((key, value)) }
      }
      return result
    }
    let hidden = try values(hiddenSizeKeys)
    let intermediate = try values(intermediateSizeKeys)
    let layerCounts = try values(family.layerCountKeys)
    for layer in match.layers {
      let name = pattern.name(keyRole, layer: layer, prefix: match.prefix) ?? ""
      guard let info = source.tensorInfo(named: name), info.shape.rank == 2 else { continue }
      let (n, d) =
        pattern.transposed ? (info.shape[1], info.shape[0]) : (info.shape[0], info.shape[1])
      for (key, value) in hidden where value != d {
        throw .inconsistentConfig(
          reason: "says \(value), but tensor '\(name)' \(info.shape) has hidden size d = \(d)",
          location: ErrorLocation(file: configPath, key: key))
      }
      for (key, value) in intermediate where value != n {
        throw .inconsistentConfig(
          reason: "says \(value), but tensor '\(name)' \(info.shape) has n = \(n) FFN neurons",
          location: ErrorLocation(file: configPath, key: key))
      }
    }
    let held = (match.layers.last ?? -1) + 1
    for (key, value) in layerCounts where value != held {
      throw .inconsistentConfig(
        reason: "says \(value) layers, but the tensors hold FFN layers 0...\(held - 1) "
          + "(\(held) layers)",
        location: ErrorLocation(file: configPath, key: key))
    }
  }
}
