import EMoECore

extension ContainerTensorEntry: Codable {
  enum CodingKeys: String, CodingKey {
    case name, dtype, shape, encoding, scales, compression, level, offset
    case storedLength = "stored_length"
    case rawLength = "raw_length"
    case checksum
    case rawChecksum = "raw_checksum"
    case source
  }

  public init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    let name = try container.string(.name)
    guard !name.isEmpty else { throw container.issue(.name, "must not be empty") }
    let storedType = try container.dtype(.dtype)
    let storedShape = try container.shape(.shape)
    let encodingName = try container.string(.encoding)
    let encoding: ContainerEncoding
    switch encodingName {
    case "plain": encoding = .plain
    case "int8_rows": encoding = .int8Rows(scales: try container.string(.scales))
    default:
      throw container.issue(.encoding, "must be 'plain' or 'int8_rows', not '\(encodingName)'")
    }
    let compressionName = try container.string(.compression)
    let compression: ContainerCompression
    switch compressionName {
    case "none": compression = .none
    case "zstd":
      let level = try container.integer(.level, minimum: Int.min)
      guard Zstd.levels.contains(level) else {
        throw container.issue(.level, "zstd level \(level) is outside \(Zstd.levels)")
      }
      compression = .zstd(level: level)
    default:
      throw container.issue(.compression, "must be 'none' or 'zstd', not '\(compressionName)'")
    }
    var source: ContainerTensorSource?
    if container.contains(.source) {
      source = try container.object(.source, as: ContainerTensorSource.self)
    }
    let rawChecksum = compression == .none ? nil : try container.checksum(.rawChecksum)
    self.init(
      declaration: ContainerTensorDeclaration(
        name: name, dtype: storedType, shape: storedShape, encoding: encoding,
        compression: compression, source: source),
      offset: try container.integer(.offset, minimum: 0),
      storedLength: try container.integer(.storedLength, minimum: 0),
      rawLength: try container.integer(.rawLength, minimum: 0),
      checksum: try container.checksum(.checksum), rawChecksum: rawChecksum)
  }

  /// The entry's row of the manifest's `tensors` table.
  public func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(name, forKey: .name)
    try container.encode(dtype.rawValue, forKey: .dtype)
    try container.encode(shape.dimensions, forKey: .shape)
    switch declaration.encoding {
    case .plain:
      try container.encode("plain", forKey: .encoding)
    case .int8Rows(let scales):
      try container.encode("int8_rows", forKey: .encoding)
      try container.encode(scales, forKey: .scales)
    }
    switch declaration.compression {
    case .none:
      try container.encode("none", forKey: .compression)
    case .zstd(let level):
      try container.encode("zstd", forKey: .compression)
      try container.encode(level, forKey: .level)
    }
    try container.encode(offset, forKey: .offset)
    try container.encode(storedLength, forKey: .storedLength)
    try container.encode(rawLength, forKey: .rawLength)
    try container.encode(XXH64.hex(checksum), forKey: .checksum)
    try container.encodeIfPresent(rawChecksum.map(XXH64.hex), forKey: .rawChecksum)
    try container.encodeIfPresent(declaration.source, forKey: .source)
  }
}

extension ContainerTensorSource: Codable {
  enum CodingKeys: String, CodingKey {
    case name, dtype, shape, transposed, values
  }

  public init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    let values = try container.choice(.values, ValueChange.self) {
      "must be 'exact', 'lossless' or 'lossy', not '\($0)'"
    }
    self.init(
      name: try container.string(.name), dtype: try container.dtype(.dtype),
      shape: try container.shape(.shape), transposed: try container.bool(.transposed),
      values: values)
  }

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(name, forKey: .name)
    try container.encode(dtype.rawValue, forKey: .dtype)
    try container.encode(shape.dimensions, forKey: .shape)
    try container.encode(transposed, forKey: .transposed)
    try container.encode(values.rawValue, forKey: .values)
  }
}
