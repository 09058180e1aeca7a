import EMoECore
import EMoEFormats

extension Architecture {
  /// Recognises `source`'s family and FFN layout.
  ///
  /// With `ffnPattern`, that pattern is used as given. Otherwise the family is taken from GGUF
  /// `general.architecture`, config.json `model_type`, or config.json `architectures`, in that
  /// order; a family named there whose FFN tensors are absent, or a model without such keys,
  /// falls back to matching every registered family's tensor names.
  ///
  /// - Throws: ``ModelError/unknownArchitecture(file:reason:names:)`` listing the model's tensor
  ///   name shapes when nothing matches; ``ModelError/unknownActivation(name:location:)``;
  ///   ``ModelError/notAMatrix(layer:role:found:location:)`` when the key tensor is not a
  ///   non-empty matrix; ``ModelError/inconsistentConfig(reason:location:)`` when config.json's
  ///   hidden size, FFN size or layer count contradicts the tensors or is not a positive integer.
  public static func detect(_ source: any ModelSource, ffnPattern: FFNPattern? = nil)
    throws(ModelError) -> Architecture
  {
    let infos = source.tensorInfos
    if let ffnPattern {
      let family = ModelFamily.custom(ffnPattern)
      guard let match = match(family.ffn, infos) else {
        let template = ffnPattern.templates[ffnPattern.keyRole] ?? ""
        throw .unknownArchitecture(
          file: source.path,
          reason: "--ffn-pattern's \(ffnPattern.keyRole) template '\(template)' matches no tensor",
          names: TensorNameShape.summarize(infos))
      }
      return try make(family, .userPattern, match, source)
    }

    var hints: [String] = []
    for (family, detection) in declaredFamilies(source) {
      if let match = match(family.ffn, infos) {
        return try make(family, detection, match, source)
      }
      hints.append("\(detection) names \(family.displayName), but its FFN tensors are absent")
    }
    for family in ModelFamily.registry {
      if let match = match(family.ffn, infos) {
        return try make(family, .tensorNames, match, source)
      }
    }
    let reason =
      hints.first
      ?? "the model declares no known family and no registered family's FFN names match"
    throw .unknownArchitecture(
      file: source.path, reason: reason, names: TensorNameShape.summarize(infos))
  }

  /// The families the model's metadata names, most specific first.
  private static func declaredFamilies(_ source: any ModelSource) -> [(ModelFamily, Detection)] {
    var result: [(ModelFamily, Detection)] = []
    if case .gguf(let pairs) = source.metadata,
      let name = pairs.first(where: { $0.key == "general.architecture" })?.value.stringValue
    {
      for family in ModelFamily.registry where family.ggufArchitectures.contains(name) {
        result.append((family, .ggufArchitecture(name)))
      }
    }
    if let config = source.config {
      if let modelType = config["model_type"]?.stringValue {
        for family in ModelFamily.registry where family.modelTypes.contains(modelType) {
          result.append((family, .configModelType(modelType)))
        }
      }
      for className in config["architectures"]?.arrayValue?.compactMap(\.stringValue) ?? [] {
        for family in ModelFamily.registry where family.matches(className: className) {
          if !result.contains(where: { $0.0 == family }) {
            result.append((family, .configArchitectures(className)))
          }
        }
      }
    }
    return result
  }

  /// Where a pattern's key tensors are: the shared prefix and the layer numbers.
  struct Match {
    var prefix: String
    var layers: [Int]
  }

  /// Finds the key tensors of `pattern` among `infos`, allowing a prefix before the template.
  ///
  /// When several prefixes match, the one with most layers wins (then the shortest, then the
  /// first in order), so the choice does not depend on file order.
  static func match(_ pattern: FFNPattern, _ infos: [TensorInfo]) -> Match? {
    guard let template = pattern.templates[pattern.keyRole] else { return nil }
    let pieces = template.parts(separatedBy: "{L}")
    guard pieces.count == 2 else { return nil }
    let head = pieces[0]
    let tail = pieces[1]
    var layersByPrefix: [String: Set<Int>] = [:]
    for info in infos where info.name.hasSuffix(tail) {
      let rest = info.name.dropLast(tail.count)
      let digits = rest.reversed().prefix { $0.isASCII && $0.isNumber }
      guard !digits.isEmpty, digits.count <= 9, let layer = Int(String(digits.reversed())) else {
        continue
      }
      let beforeDigits = rest.dropLast(digits.count)
      guard beforeDigits.hasSuffix(head) else { continue }
      let prefix = String(beforeDigits.dropLast(head.count))
      guard prefix.isEmpty || prefix.hasSuffix(".") else { continue }
      layersByPrefix[prefix, default: []].insert(layer)
    }
    let best = layersByPrefix.min { a, b in
      if a.value.count != b.value.count { return a.value.count > b.value.count }
      if a.key.count != b.key.count { return a.key.count < b.key.count }
      return a.key < b.key
    }
    guard let best else { return nil }
    return Match(prefix: best.key, layers: best.value.sorted())
  }

  private static func make(
    _ family: ModelFamily, _ detection: Detection, _ match: Match, _ source: any ModelSource
  ) throws(ModelError) -> Architecture {
    try checkConfig(source, family: family, match: match, keyRole: family.ffn.keyRole)
    let activation = try resolveActivation(family, source)
    let present = (match.layers.last ?? -1) + 1
    var layerCount = present
    if let (declared, location) = declaredLayerCount(family, source) {
      // Every later loop runs over the layer count, so a count the tensors do not back (such as
      // 2^63 - 1) is refused here rather than trusted.
      guard declared <= present else {
        throw .layerCountContradicted(declared: declared, present: present, location: location)
      }
      layerCount = declared
    }
    let pattern = family.ffn
    let firstLayer = match.layers[0]
    let keyName = pattern.name(pattern.keyRole, layer: firstLayer, prefix: match.prefix) ?? ""
    guard let info = source.tensorInfo(named: keyName) else {
      throw .missingTensor(
        layer: firstLayer, role: pattern.keyRole,
        location: ErrorLocation(file: source.path, tensor: keyName))
    }
    guard info.shape.rank == 2, info.shape[0] > 0, info.shape[1] > 0 else {
      throw .notAMatrix(
        layer: firstLayer, role: pattern.keyRole, found: info.shape,
        location: ErrorLocation(file: source.path, tensor: keyName))
    }
    let (n, d) =
      pattern.transposed ? (info.shape[1], info.shape[0]) : (info.shape[0], info.shape[1])
    return Architecture(
      family: family, detection: detection, prefix: match.prefix, activation: activation,
      ffnLayers: match.layers, layerCount: max(layerCount, (match.layers.last ?? -1) + 1),
      hiddenSize: d, intermediateSize: n)
  }

  private static func resolveActivation(_ family: ModelFamily, _ source: any ModelSource)
    throws(ModelError) -> FFNActivation
  {
    if let override = family.ffn.activation { return override }
    guard let config = source.config else { return family.defaultActivation }
    for key in family.activationKeys {
      guard let name = config[key]?.stringValue else { continue }
      if let alias = family.activationAliases[name] { return alias }
      guard let activation = FFNActivation(configName: name) else {
        let configPath =
          FileSystem.directory(of: source.files.first ?? source.path) + "/config.json"
        throw .unknownActivation(name: name, location: ErrorLocation(file: configPath, key: key))
      }
      return activation
    }
    return family.defaultActivation
  }

  /// The GGUF block count (`ARCH.block_count`), where the file has one.
  ///
  /// A `config.json` layer count needs no reading here: ``checkConfig(_:family:match:keyRole:)``
  /// already refused any that differs from the layers the tensors hold.
  private static func declaredLayerCount(_ family: ModelFamily, _ source: any ModelSource) -> (
    Int, ErrorLocation
  )? {
    guard case .gguf(let pairs) = source.metadata,
      let name = pairs.first(where: { $0.key == "general.architecture" })?.value.stringValue,
      let count = pairs.first(where: { $0.key == name + ".block_count" })?.value.intValue,
      count > 0
    else { return nil }
    return (count, ErrorLocation(file: source.path, key: name + ".block_count"))
  }
}
