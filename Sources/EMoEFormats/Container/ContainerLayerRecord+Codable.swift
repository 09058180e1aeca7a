import EMoECore

extension ContainerLayerRecord: Codable {
  enum CodingKeys: String, CodingKey {
    case layer, family, activation
    case transposedSource = "transposed_source"
    case d, n, experts
    case expertSizes = "expert_sizes"
    case shared
    case topK = "top_k"
    case clustering, router, tensors
  }

  public init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    let family = try container.choice(.family, Family.self) {
      "must be 'plain' or 'glu', not '\($0)'"
    }
    let activation = try container.string(.activation)
    guard ContainerManifestIssue.isIdentifier(activation) else {
      throw container.issue(.activation, "must be a lowercase identifier such as 'gelu'")
    }
    var sizes: [Int] = []
    for (index, value) in try container.array(.expertSizes, of: JSONValue.self).enumerated() {
      guard let size = ContainerManifestIssue.exactInteger(value), size >= 1 else {
        throw ContainerManifestIssue(
          codingPath: container.codingPath + [CodingKeys.expertSizes, JSONIndexKey(index)],
          detail: "must be an integer >= 1")
      }
      sizes.append(size)
    }
    let clustering = try container.object(.clustering, as: Clustering.self)
    guard case .object(let members) = try container.required(.tensors) else {
      throw container.issue(.tensors, "must be an object")
    }
    var tensors: [Role: String] = [:]
    for member in members {
      let path = container.codingPath + [CodingKeys.tensors, JSONKey(member.key)]
      guard let role = Role(storedName: member.key) else {
        throw ContainerManifestIssue(
          codingPath: path, detail: "'\(member.key)' is not a layer tensor role")
      }
      guard tensors[role] == nil else {
        throw ContainerManifestIssue(
          codingPath: path, detail: "role '\(role.rawValue)' is given twice (under its old name)")
      }
      guard let name = member.value.stringValue, !name.isEmpty else {
        throw ContainerManifestIssue(codingPath: path, detail: "must be a tensor name")
      }
      tensors[role] = name
    }
    var router = RouterKind.averageKey
    if container.contains(.router) {
      router = try container.choice(.router, RouterKind.self) {
        "must be 'average_key', 'up' or 'up_abs', not '\($0)'"
      }
    }
    self.init(
      layer: try container.integer(.layer, minimum: 0), family: family, activation: activation,
      transposedSource: try container.bool(.transposedSource),
      hiddenSize: try container.integer(.d, minimum: 1),
      intermediateSize: try container.integer(.n, minimum: 1),
      expertCount: try container.integer(.experts, minimum: 1), expertSizes: sizes,
      sharedCount: container.contains(.shared) ? try container.integer(.shared, minimum: 0) : 0,
      topK: try container.integer(.topK, minimum: 1), clustering: clustering, tensors: tensors,
      router: router)
  }

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(layer, forKey: .layer)
    try container.encode(family.rawValue, forKey: .family)
    try container.encode(activation, forKey: .activation)
    try container.encode(transposedSource, forKey: .transposedSource)
    try container.encode(hiddenSize, forKey: .d)
    try container.encode(intermediateSize, forKey: .n)
    try container.encode(expertCount, forKey: .experts)
    try container.encode(expertSizes, forKey: .expertSizes)
    // Written only when there is a shared block, so files without one keep their bytes.
    if sharedCount > 0 { try container.encode(sharedCount, forKey: .shared) }
    try container.encode(topK, forKey: .topK)
    try container.encode(clustering, forKey: .clustering)
    // Absent means average_key, so files with today's router keep their bytes.
    if router != .averageKey { try container.encode(router.rawValue, forKey: .router) }
    var roles = container.nestedContainer(keyedBy: JSONKey.self, forKey: .tensors)
    for role in tensors.keys.sorted() {
      try roles.encode(tensors[role] ?? "", forKey: JSONKey(role.rawValue))
    }
  }
}

extension ContainerLayerRecord.Clustering: Codable {
  enum CodingKeys: String, CodingKey {
    case method, keys, seed, restarts, iterations, sse
  }

  public init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    let keys = try container.choice(.keys, ContainerLayerRecord.KeySource.self) {
      "must be 'w1', 'gate', 'up' or 'activations', not '\($0)'"
    }
    let method = try container.string(.method)
    guard !method.isEmpty else { throw container.issue(.method, "must not be empty") }
    guard let sse = try container.required(.sse).doubleValue, sse.isFinite, sse >= 0 else {
      throw container.issue(.sse, "must be a finite number >= 0")
    }
    self.init(
      method: method, keys: keys, seed: try container.integer(.seed, minimum: 0),
      restarts: try container.integer(.restarts, minimum: 1),
      iterations: try container.integer(.iterations, minimum: 0), sse: sse)
  }

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(method, forKey: .method)
    try container.encode(keys.rawValue, forKey: .keys)
    try container.encode(seed, forKey: .seed)
    try container.encode(restarts, forKey: .restarts)
    try container.encode(iterations, forKey: .iterations)
    try container.encode(sse, forKey: .sse)
  }
}
