import EMoECore

extension ContainerManifest: Codable {
  enum CodingKeys: String, CodingKey {
    case requiredFeatures = "required_features"
    case checksumAlgorithm = "checksum_algorithm"
    case tool, options, calibration, source, layers, tensors
  }

  /// Decodes and checks `json`, the manifest of the file at `file`.
  ///
  /// Every type, required member and enumeration the schema (Formats/emoe-manifest.schema.json)
  /// states is checked, and the error names the JSON path of the first violation. Members it
  /// does not know are ignored, as the compatibility rules require. `required_features` is
  /// checked first, so a file needing a newer reader is refused by name before anything else.
  static func decode(_ json: JSONValue, file: String) throws(ContainerError) -> ContainerManifest {
    func fail(_ path: String, _ detail: String) -> ContainerError {
      ContainerError(
        .invalidManifest, ErrorLocation(file: file, key: path.isEmpty ? nil : path),
        "invalid manifest: " + detail)
    }
    guard case .object = json else { throw fail("", "the manifest is not a JSON object") }
    do {
      return try JSONValueDecoder().decode(ContainerManifest.self, from: json)
    } catch let issue as ContainerManifestIssue {
      if let name = issue.unknownFeature {
        throw ContainerError(
          .unknownRequiredFeature(name), ErrorLocation(file: file, key: issue.keyPath),
          "the file requires feature '\(name)', which this emoe-pack does not implement")
      }
      throw fail(issue.keyPath, issue.detail)
    } catch let error as DecodingError {
      // The members are type-checked before they are decoded, so this is only a fallback.
      switch error {
      case .keyNotFound(let key, let context):
        throw fail(
          JSONValueDecoder.keyPath(context.codingPath + [key]),
          "the required member '\(key.stringValue)' is missing")
      case .typeMismatch(_, let context), .valueNotFound(_, let context),
        .dataCorrupted(let context):
        throw fail(JSONValueDecoder.keyPath(context.codingPath), context.debugDescription)
      @unknown default:
        throw fail("", "\(error)")
      }
    } catch {
      throw fail("", "\(error)")
    }
  }

  /// The manifest as JSON, members in the fixed order Formats/EMoE.md gives; serialising it with
  /// `serialized()` gives the bytes stored in the file.
  public func json() -> JSONValue {
    // Encoding into a JSONValue cannot fail: no member throws and the encoder never does. Were
    // it to, the empty object is refused by the writer's own check of what it would write.
    (try? JSONValueEncoder().encode(self)) ?? .object([])
  }

  public init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    var features = try container.array(.requiredFeatures, of: JSONValue.self).makeIterator()
    var featureNames: [String] = []
    var index = 0
    while let value = features.next() {
      let path = container.codingPath + [CodingKeys.requiredFeatures, JSONIndexKey(index)]
      index += 1
      guard let name = value.stringValue else {
        throw ContainerManifestIssue(codingPath: path, detail: "must be a string")
      }
      guard ContainerFormat.Feature(rawValue: name) != nil else {
        throw ContainerManifestIssue(codingPath: path, detail: "", unknownFeature: name)
      }
      guard !featureNames.contains(name) else {
        throw ContainerManifestIssue(
          codingPath: path, detail: "feature '\(name)' is listed twice")
      }
      featureNames.append(name)
    }
    let algorithm = try container.string(.checksumAlgorithm)
    guard algorithm == ContainerFormat.checksumAlgorithm else {
      throw container.issue(
        .checksumAlgorithm,
        "must be '\(ContainerFormat.checksumAlgorithm)', not '\(algorithm)'")
    }
    requiredFeatures = featureNames
    tool = try container.object(.tool, as: ContainerTool.self)
    options = try container.object(.options, as: JSONValue.self)
    if container.contains(.calibration) {
      let value = try container.object(.calibration, as: JSONValue.self)
      guard case .object = value else { throw container.issue(.calibration, "must be an object") }
      calibration = value
    } else {
      calibration = nil
    }
    source = try container.object(.source, as: ContainerSourceDescription.self)
    layers = try container.array(.layers, of: ContainerLayerRecord.self)
    tensors = try container.array(.tensors, of: ContainerTensorEntry.self)
  }

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(requiredFeatures, forKey: .requiredFeatures)
    try container.encode(ContainerFormat.checksumAlgorithm, forKey: .checksumAlgorithm)
    try container.encode(tool, forKey: .tool)
    try container.encode(options, forKey: .options)
    try container.encodeIfPresent(calibration, forKey: .calibration)
    try container.encode(source, forKey: .source)
    try container.encode(layers, forKey: .layers)
    try container.encode(tensors, forKey: .tensors)
  }
}

extension ContainerTool: Codable {
  enum CodingKeys: String, CodingKey {
    case name, version
  }

  public init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    self.init(name: try container.string(.name), version: try container.string(.version))
  }

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(name, forKey: .name)
    try container.encode(version, forKey: .version)
  }
}

extension ContainerSourceDescription: Codable {
  enum CodingKeys: String, CodingKey {
    case format, files, metadata, config
  }

  public init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    format = try container.string(.format)
    guard !format.isEmpty else { throw container.issue(.format, "must not be empty") }
    files = try container.array(.files, of: ContainerSourceFile.self)
    // `totalSize` (shown by `inspect`) adds the sizes up.
    var total = 0
    for (index, file) in files.enumerated() {
      let (sum, overflow) = total.addingReportingOverflow(file.size)
      guard !overflow else {
        throw ContainerManifestIssue(
          codingPath: container.codingPath + [
            CodingKeys.files, JSONIndexKey(index), ContainerSourceFile.CodingKeys.size,
          ],
          detail: "the source files' sizes add up to more than 2^63 - 1 bytes")
      }
      total = sum
    }
    metadata = try container.object(.metadata, as: SourceMetadata.self)
    if container.contains(.config) {
      config = try container.object(.config, as: JSONValue.self)
    } else {
      config = nil
    }
  }

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(format, forKey: .format)
    try container.encode(files, forKey: .files)
    try container.encode(metadata, forKey: .metadata)
    try container.encodeIfPresent(config, forKey: .config)
  }
}

extension ContainerSourceFile: Codable {
  enum CodingKeys: String, CodingKey {
    case name, size, sha256
  }

  public init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    name = try container.string(.name)
    guard !name.isEmpty, !name.contains("/") else {
      throw container.issue(.name, "must be a file name without a folder")
    }
    size = try container.integer(.size, minimum: 0)
    sha256 = try container.string(.sha256)
    guard sha256.utf8.count == 64, sha256.utf8.allSatisfy(ContainerManifestIssue.isLowerHex) else {
      throw container.issue(.sha256, "must be 64 lowercase hex digits")
    }
  }

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(name, forKey: .name)
    try container.encode(size, forKey: .size)
    try container.encode(sha256, forKey: .sha256)
  }
}
