import EMoECore

/// Reads a manifest's JSON into a ``ContainerManifest``.
///
/// It checks every type, required field and enumeration the schema
/// (Formats/emoe-manifest.schema.json) states, and names the JSON path of the first violation.
/// Members it does not know are ignored, as the compatibility rules require.
struct ContainerManifestDecoder {
  /// The file the manifest came from, for error locations.
  var file: String

  /// Decodes `json`; `required_features` is checked first, so a file needing a newer reader is
  /// refused by name before anything else is read.
  func decode(_ json: JSONValue) throws(ContainerError) -> ContainerManifest {
    guard case .object = json else { throw fail("", "the manifest is not a JSON object") }
    let features = try array(json, "required_features", "required_features")
    var featureNames: [String] = []
    for (index, value) in features.enumerated() {
      let path = "required_features[\(index)]"
      guard let name = value.stringValue else { throw fail(path, "must be a string") }
      guard ContainerFormat.Feature(rawValue: name) != nil else {
        throw ContainerError(
          .unknownRequiredFeature(name), ErrorLocation(file: file, key: path),
          "the file requires feature '\(name)', which this emoe-pack does not implement")
      }
      guard !featureNames.contains(name) else {
        throw fail(path, "feature '\(name)' is listed twice")
      }
      featureNames.append(name)
    }
    let algorithm = try string(json, "checksum_algorithm", "checksum_algorithm")
    guard algorithm == ContainerFormat.checksumAlgorithm else {
      throw fail(
        "checksum_algorithm", "must be '\(ContainerFormat.checksumAlgorithm)', not '\(algorithm)'")
    }
    let toolJSON = try object(json, "tool", "tool")
    let tool = ContainerTool(
      name: try string(toolJSON, "name", "tool.name"),
      version: try string(toolJSON, "version", "tool.version"))
    let options = try object(json, "options", "options")
    let source = try decodeSource(try object(json, "source", "source"))
    var layers: [ContainerLayerRecord] = []
    for (index, value) in try array(json, "layers", "layers").enumerated() {
      layers.append(try decodeLayer(value, "layers[\(index)]"))
    }
    var tensors: [ContainerTensorEntry] = []
    for (index, value) in try array(json, "tensors", "tensors").enumerated() {
      tensors.append(try decodeTensor(value, "tensors[\(index)]"))
    }
    return ContainerManifest(
      requiredFeatures: featureNames, tool: tool, options: options, source: source,
      layers: layers, tensors: tensors)
  }

  // MARK: Sections

  private func decodeSource(_ json: JSONValue) throws(ContainerError) -> ContainerSourceDescription
  {
    let format = try string(json, "format", "source.format")
    guard !format.isEmpty else { throw fail("source.format", "must not be empty") }
    var files: [ContainerSourceFile] = []
    var totalSize = 0
    for (index, value) in try array(json, "files", "source.files").enumerated() {
      let path = "source.files[\(index)]"
      guard case .object = value else { throw fail(path, "must be an object") }
      let name = try string(value, "name", path + ".name")
      guard !name.isEmpty, !name.contains("/") else {
        throw fail(path + ".name", "must be a file name without a folder")
      }
      let size = try integer(value, "size", path + ".size", minimum: 0)
      // `ContainerSourceDescription.totalSize` (shown by `inspect`) adds these up.
      let (sum, overflow) = totalSize.addingReportingOverflow(size)
      guard !overflow else {
        throw fail(path + ".size", "the source files' sizes add up to more than 2^63 - 1 bytes")
      }
      totalSize = sum
      let digest = try string(value, "sha256", path + ".sha256")
      guard digest.utf8.count == 64, digest.utf8.allSatisfy(Self.isLowerHex) else {
        throw fail(path + ".sha256", "must be 64 lowercase hex digits")
      }
      files.append(ContainerSourceFile(name: name, size: size, sha256: digest))
    }
    let metadata = try decodeMetadata(try object(json, "metadata", "source.metadata"))
    var config: JSONValue?
    if let value = json["config"] {
      guard case .object = value else { throw fail("source.config", "must be an object") }
      config = value
    }
    return ContainerSourceDescription(
      format: format, files: files, metadata: metadata, config: config)
  }

  private func decodeMetadata(_ json: JSONValue) throws(ContainerError) -> SourceMetadata {
    let kind = try string(json, "kind", "source.metadata.kind")
    switch kind {
    case "none":
      return .none
    case "safetensors":
      var entries: [(key: String, value: String)] = []
      for (index, entry) in try array(json, "entries", "source.metadata.entries").enumerated() {
        let path = "source.metadata.entries[\(index)]"
        guard case .object = entry else { throw fail(path, "must be an object") }
        entries.append(
          (try string(entry, "key", path + ".key"), try string(entry, "value", path + ".value")))
      }
      return .safetensors(entries)
    case "gguf":
      var entries: [(key: String, value: GGUFValue)] = []
      for (index, entry) in try array(json, "entries", "source.metadata.entries").enumerated() {
        let path = "source.metadata.entries[\(index)]"
        guard case .object = entry else { throw fail(path, "must be an object") }
        let key = try string(entry, "key", path + ".key")
        let type = try ggufType(try string(entry, "type", path + ".type"), path + ".type")
        let value = try required(entry, "value", path + ".value")
        if type == .array {
          let elementType = try ggufType(
            try string(entry, "element_type", path + ".element_type"), path + ".element_type")
          entries.append((key, try ggufArray(elementType, value, path + ".value")))
        } else {
          entries.append((key, try ggufValue(type, value, path + ".value")))
        }
      }
      return .gguf(entries)
    default:
      throw fail("source.metadata.kind", "must be 'none', 'safetensors' or 'gguf', not '\(kind)'")
    }
  }

  private func decodeLayer(_ json: JSONValue, _ path: String) throws(ContainerError)
    -> ContainerLayerRecord
  {
    guard case .object = json else { throw fail(path, "must be an object") }
    let familyName = try string(json, "family", path + ".family")
    guard let family = ContainerLayerRecord.Family(rawValue: familyName) else {
      throw fail(path + ".family", "must be 'plain' or 'glu', not '\(familyName)'")
    }
    let activation = try string(json, "activation", path + ".activation")
    guard Self.isIdentifier(activation) else {
      throw fail(path + ".activation", "must be a lowercase identifier such as 'gelu'")
    }
    var sizes: [Int] = []
    for (index, value) in try array(json, "expert_sizes", path + ".expert_sizes").enumerated() {
      guard let size = Self.exactInteger(value), size >= 1 else {
        throw fail(path + ".expert_sizes[\(index)]", "must be an integer >= 1")
      }
      sizes.append(size)
    }
    let clusteringPath = path + ".clustering"
    let clusteringJSON = try object(json, "clustering", clusteringPath)
    let keysName = try string(clusteringJSON, "keys", clusteringPath + ".keys")
    guard let keys = ContainerLayerRecord.KeySource(rawValue: keysName) else {
      throw fail(clusteringPath + ".keys", "must be 'w1', 'gate' or 'up', not '\(keysName)'")
    }
    let method = try string(clusteringJSON, "method", clusteringPath + ".method")
    guard !method.isEmpty else { throw fail(clusteringPath + ".method", "must not be empty") }
    guard let sse = try required(clusteringJSON, "sse", clusteringPath + ".sse").doubleValue,
      sse.isFinite, sse >= 0
    else { throw fail(clusteringPath + ".sse", "must be a finite number >= 0") }
    let clustering = ContainerLayerRecord.Clustering(
      method: method, keys: keys,
      seed: try integer(clusteringJSON, "seed", clusteringPath + ".seed", minimum: 0),
      restarts: try integer(clusteringJSON, "restarts", clusteringPath + ".restarts", minimum: 1),
      iterations: try integer(
        clusteringJSON, "iterations", clusteringPath + ".iterations", minimum: 0),
      sse: sse)
    var tensors: [ContainerLayerRecord.Role: String] = [:]
    guard let members = try required(json, "tensors", path + ".tensors").objectValue else {
      throw fail(path + ".tensors", "must be an object")
    }
    for member in members {
      guard let role = ContainerLayerRecord.Role(rawValue: member.key) else {
        throw fail(path + ".tensors." + member.key, "'\(member.key)' is not a layer tensor role")
      }
      guard let name = member.value.stringValue, !name.isEmpty else {
        throw fail(path + ".tensors." + member.key, "must be a tensor name")
      }
      tensors[role] = name
    }
    return ContainerLayerRecord(
      layer: try integer(json, "layer", path + ".layer", minimum: 0), family: family,
      activation: activation,
      transposedSource: try bool(json, "transposed_source", path + ".transposed_source"),
      hiddenSize: try integer(json, "d", path + ".d", minimum: 1),
      intermediateSize: try integer(json, "n", path + ".n", minimum: 1),
      expertCount: try integer(json, "experts", path + ".experts", minimum: 1),
      expertSizes: sizes, topK: try integer(json, "top_k", path + ".top_k", minimum: 1),
      clustering: clustering, tensors: tensors)
  }

  private func decodeTensor(_ json: JSONValue, _ path: String) throws(ContainerError)
    -> ContainerTensorEntry
  {
    guard case .object = json else { throw fail(path, "must be an object") }
    let name = try string(json, "name", path + ".name")
    guard !name.isEmpty else { throw fail(path + ".name", "must not be empty") }
    let storedType = try dtype(json, "dtype", path + ".dtype")
    let storedShape = try shape(json, "shape", path + ".shape")
    let encodingName = try string(json, "encoding", path + ".encoding")
    let encoding: ContainerEncoding
    switch encodingName {
    case "plain": encoding = .plain
    case "int8_rows": encoding = .int8Rows(scales: try string(json, "scales", path + ".scales"))
    default: throw fail(path + ".encoding", "must be 'plain' or 'int8_rows', not '\(encodingName)'")
    }
    let compressionName = try string(json, "compression", path + ".compression")
    let compression: ContainerCompression
    switch compressionName {
    case "none": compression = .none
    case "zstd":
      let level = try integer(json, "level", path + ".level", minimum: Int.min)
      guard Zstd.levels.contains(level) else {
        throw fail(path + ".level", "zstd level \(level) is outside \(Zstd.levels)")
      }
      compression = .zstd(level: level)
    default: throw fail(path + ".compression", "must be 'none' or 'zstd', not '\(compressionName)'")
    }
    var source: ContainerTensorSource?
    if let value = json["source"] {
      let sourcePath = path + ".source"
      guard case .object = value else { throw fail(sourcePath, "must be an object") }
      let valuesName = try string(value, "values", sourcePath + ".values")
      guard let values = ContainerTensorSource.ValueChange(rawValue: valuesName) else {
        throw fail(
          sourcePath + ".values", "must be 'exact', 'lossless' or 'lossy', not '\(valuesName)'")
      }
      source = ContainerTensorSource(
        name: try string(value, "name", sourcePath + ".name"),
        dtype: try dtype(value, "dtype", sourcePath + ".dtype"),
        shape: try shape(value, "shape", sourcePath + ".shape"),
        transposed: try bool(value, "transposed", sourcePath + ".transposed"), values: values)
    }
    var rawChecksum: UInt64?
    if compression != .none {
      rawChecksum = try checksum(json, "raw_checksum", path + ".raw_checksum")
    }
    let declaration = ContainerTensorDeclaration(
      name: name, dtype: storedType, shape: storedShape, encoding: encoding,
      compression: compression, source: source)
    return ContainerTensorEntry(
      declaration: declaration, offset: try integer(json, "offset", path + ".offset", minimum: 0),
      storedLength: try integer(json, "stored_length", path + ".stored_length", minimum: 0),
      rawLength: try integer(json, "raw_length", path + ".raw_length", minimum: 0),
      checksum: try checksum(json, "checksum", path + ".checksum"), rawChecksum: rawChecksum)
  }

  // MARK: GGUF values

  private func ggufType(_ name: String, _ path: String) throws(ContainerError) -> GGUFValueType {
    guard let type = SourceMetadata.ggufType(named: name) else {
      throw fail(path, "'\(name)' is not a GGUF value type")
    }
    return type
  }

  private func ggufArray(_ elementType: GGUFValueType, _ json: JSONValue, _ path: String)
    throws(ContainerError) -> GGUFValue
  {
    guard let elements = json.arrayValue else { throw fail(path, "must be an array") }
    var values: [GGUFValue] = []
    values.reserveCapacity(elements.count)
    for (index, element) in elements.enumerated() {
      let elementPath = "\(path)[\(index)]"
      if elementType == .array {
        guard case .object = element else { throw fail(elementPath, "must be an object") }
        let inner = try ggufType(
          try string(element, "element_type", elementPath + ".element_type"),
          elementPath + ".element_type")
        values.append(
          try ggufArray(inner, try required(element, "value", elementPath + ".value"), elementPath))
      } else {
        values.append(try ggufValue(elementType, element, elementPath))
      }
    }
    return .array(elementType: elementType, elements: values)
  }

  private func ggufValue(_ type: GGUFValueType, _ json: JSONValue, _ path: String)
    throws(ContainerError) -> GGUFValue
  {
    func integer<T: FixedWidthInteger>(_: T.Type) throws(ContainerError) -> T {
      switch json {
      case .integer(let value): if let exact = T(exactly: value) { return exact }
      case .unsignedInteger(let value): if let exact = T(exactly: value) { return exact }
      case .number(let value): if let exact = T(exactly: value) { return exact }
      default: break
      }
      throw fail(
        path, "must be an integer in the range of \(SourceMetadata.containerTypeName(type))")
    }
    switch type {
    case .uint8: return .uint8(try integer(UInt8.self))
    case .int8: return .int8(try integer(Int8.self))
    case .uint16: return .uint16(try integer(UInt16.self))
    case .int16: return .int16(try integer(Int16.self))
    case .uint32: return .uint32(try integer(UInt32.self))
    case .int32: return .int32(try integer(Int32.self))
    case .uint64: return .uint64(try integer(UInt64.self))
    case .int64: return .int64(try integer(Int64.self))
    case .bool:
      guard let value = json.boolValue else { throw fail(path, "must be a boolean") }
      return .bool(value)
    case .string:
      guard let value = json.stringValue else { throw fail(path, "must be a string") }
      return .string(value)
    case .float32:
      if let bits = try floatBits(json, digits: 8, path) {
        return .float32(Float(bitPattern: UInt32(truncatingIfNeeded: bits)))
      }
      guard let value = json.doubleValue, Double(Float(value)) == value else {
        throw fail(path, "must be a float32 value or its 0x bit pattern")
      }
      return .float32(Float(value))
    case .float64:
      if let bits = try floatBits(json, digits: 16, path) {
        return .float64(Double(bitPattern: bits))
      }
      guard let value = json.doubleValue else {
        throw fail(path, "must be a number or its 0x bit pattern")
      }
      return .float64(value)
    case .array:
      throw fail(path, "an array needs an element_type")
    }
  }

  /// The bit pattern of a float written as `"0x…"` with exactly `digits` hex digits, or `nil`
  /// when `json` is not a string.
  private func floatBits(_ json: JSONValue, digits: Int, _ path: String) throws(ContainerError)
    -> UInt64?
  {
    guard let text = json.stringValue else { return nil }
    let hex = text.dropFirst(2)
    guard text.hasPrefix("0x"), hex.utf8.count == digits, hex.utf8.allSatisfy(Self.isLowerHex),
      let bits = UInt64(hex, radix: 16)
    else { throw fail(path, "must be a number or 0x followed by \(digits) lowercase hex digits") }
    return bits
  }

  // MARK: Fields

  func fail(_ path: String, _ detail: String) -> ContainerError {
    ContainerError(
      .invalidManifest, ErrorLocation(file: file, key: path.isEmpty ? nil : path),
      "invalid manifest: " + detail)
  }

  private func required(_ json: JSONValue, _ key: String, _ path: String) throws(ContainerError)
    -> JSONValue
  {
    guard let value = json[key] else { throw fail(path, "the required member '\(key)' is missing") }
    return value
  }

  private func string(_ json: JSONValue, _ key: String, _ path: String) throws(ContainerError)
    -> String
  {
    guard let value = try required(json, key, path).stringValue else {
      throw fail(path, "must be a string")
    }
    return value
  }

  private func bool(_ json: JSONValue, _ key: String, _ path: String) throws(ContainerError) -> Bool
  {
    guard let value = try required(json, key, path).boolValue else {
      throw fail(path, "must be true or false")
    }
    return value
  }

  private func integer(_ json: JSONValue, _ key: String, _ path: String, minimum: Int)
    throws(ContainerError) -> Int
  {
    guard let value = Self.exactInteger(try required(json, key, path)), value >= minimum else {
      throw fail(
        path, minimum == Int.min ? "must be an integer" : "must be an integer >= \(minimum)")
    }
    return value
  }

  private func object(_ json: JSONValue, _ key: String, _ path: String) throws(ContainerError)
    -> JSONValue
  {
    let value = try required(json, key, path)
    guard case .object = value else { throw fail(path, "must be an object") }
    return value
  }

  private func array(_ json: JSONValue, _ key: String, _ path: String) throws(ContainerError)
    -> [JSONValue]
  {
    guard let value = try required(json, key, path).arrayValue else {
      throw fail(path, "must be an array")
    }
    return value
  }

  private func dtype(_ json: JSONValue, _ key: String, _ path: String) throws(ContainerError)
    -> DType
  {
    let name = try string(json, key, path)
    guard let dtype = DType(rawValue: name) else { throw fail(path, "'\(name)' is not a dtype") }
    return dtype
  }

  private func shape(_ json: JSONValue, _ key: String, _ path: String) throws(ContainerError)
    -> Shape
  {
    let values = try array(json, key, path)
    guard values.count <= 16 else { throw fail(path, "has more than 16 dimensions") }
    var dimensions: [Int] = []
    for (index, value) in values.enumerated() {
      guard let dimension = Self.exactInteger(value), dimension >= 0 else {
        throw fail("\(path)[\(index)]", "must be an integer >= 0")
      }
      dimensions.append(dimension)
    }
    guard Shape(dimensions).elementCount != nil else { throw fail(path, "has too many elements") }
    return Shape(dimensions)
  }

  private func checksum(_ json: JSONValue, _ key: String, _ path: String) throws(ContainerError)
    -> UInt64
  {
    let text = try string(json, key, path)
    guard text.utf8.count == 16, text.utf8.allSatisfy(Self.isLowerHex),
      let value = UInt64(text, radix: 16)
    else { throw fail(path, "must be 16 lowercase hex digits") }
    return value
  }

  /// The value as `Int` when it is an integer, including a number such as `2.0` that JSON
  /// Schema also counts as an integer.
  static func exactInteger(_ json: JSONValue) -> Int? {
    switch json {
    case .integer(let value): Int(exactly: value)
    case .number(let value): Int(exactly: value)
    default: nil
    }
  }

  static func isLowerHex(_ byte: UInt8) -> Bool {
    (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
      || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
  }

  static func isIdentifier(_ text: String) -> Bool {
    guard let first = text.utf8.first, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first)
    else {
      return false
    }
    return text.utf8.allSatisfy { byte in
      (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
        || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "_")
    }
  }
}
