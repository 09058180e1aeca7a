import EMoECore

extension ContainerManifest {
  /// The manifest as JSON, members in the fixed order Formats/EMoE.md gives; serialising it with
  /// `serialized()` gives the bytes stored in the file.
  public func json() -> JSONValue {
    var members: [JSONMember] = [
      JSONMember("required_features", .array(requiredFeatures.map(JSONValue.string))),
      JSONMember("checksum_algorithm", .string(ContainerFormat.checksumAlgorithm)),
      JSONMember(
        "tool",
        .object([
          JSONMember("name", .string(tool.name)), JSONMember("version", .string(tool.version)),
        ])),
      JSONMember("options", options),
    ]
    var sourceMembers: [JSONMember] = [
      JSONMember("format", .string(source.format)),
      JSONMember(
        "files",
        .array(
          source.files.map { file in
            .object([
              JSONMember("name", .string(file.name)),
              JSONMember("size", .integer(Int64(file.size))),
              JSONMember("sha256", .string(file.sha256)),
            ])
          })),
      JSONMember("metadata", source.metadata.containerJSON()),
    ]
    if let config = source.config { sourceMembers.append(JSONMember("config", config)) }
    members.append(JSONMember("source", .object(sourceMembers)))
    members.append(JSONMember("layers", .array(layers.map { $0.json() })))
    members.append(JSONMember("tensors", .array(tensors.map { $0.json() })))
    return .object(members)
  }
}

extension ContainerTensorEntry {
  /// The entry's row of the manifest's `tensors` table.
  public func json() -> JSONValue {
    var members: [JSONMember] = [
      JSONMember("name", .string(name)),
      JSONMember("dtype", .string(dtype.rawValue)),
      JSONMember("shape", .array(shape.dimensions.map { .integer(Int64($0)) })),
    ]
    switch declaration.encoding {
    case .plain:
      members.append(JSONMember("encoding", .string("plain")))
    case .int8Rows(let scales):
      members.append(JSONMember("encoding", .string("int8_rows")))
      members.append(JSONMember("scales", .string(scales)))
    }
    switch declaration.compression {
    case .none:
      members.append(JSONMember("compression", .string("none")))
    case .zstd(let level):
      members.append(JSONMember("compression", .string("zstd")))
      members.append(JSONMember("level", .integer(Int64(level))))
    }
    members += [
      JSONMember("offset", .integer(Int64(offset))),
      JSONMember("stored_length", .integer(Int64(storedLength))),
      JSONMember("raw_length", .integer(Int64(rawLength))),
      JSONMember("checksum", .string(XXH64.hex(checksum))),
    ]
    if let rawChecksum {
      members.append(JSONMember("raw_checksum", .string(XXH64.hex(rawChecksum))))
    }
    if let source = declaration.source {
      members.append(
        JSONMember(
          "source",
          .object([
            JSONMember("name", .string(source.name)),
            JSONMember("dtype", .string(source.dtype.rawValue)),
            JSONMember("shape", .array(source.shape.dimensions.map { .integer(Int64($0)) })),
            JSONMember("transposed", .bool(source.transposed)),
            JSONMember("values", .string(source.values.rawValue)),
          ])))
    }
    return .object(members)
  }
}

extension ContainerLayerRecord {
  /// The record's entry in the manifest's `layers` list.
  public func json() -> JSONValue {
    let roles = tensors.keys.sorted()
    return .object([
      JSONMember("layer", .integer(Int64(layer))),
      JSONMember("family", .string(family.rawValue)),
      JSONMember("activation", .string(activation)),
      JSONMember("transposed_source", .bool(transposedSource)),
      JSONMember("d", .integer(Int64(hiddenSize))),
      JSONMember("n", .integer(Int64(intermediateSize))),
      JSONMember("experts", .integer(Int64(expertCount))),
      JSONMember("expert_sizes", .array(expertSizes.map { .integer(Int64($0)) })),
      JSONMember("top_k", .integer(Int64(topK))),
      JSONMember(
        "clustering",
        .object([
          JSONMember("method", .string(clustering.method)),
          JSONMember("keys", .string(clustering.keys.rawValue)),
          JSONMember("seed", .integer(Int64(clustering.seed))),
          JSONMember("restarts", .integer(Int64(clustering.restarts))),
          JSONMember("iterations", .integer(Int64(clustering.iterations))),
          JSONMember("sse", .number(clustering.sse)),
        ])),
      JSONMember(
        "tensors", .object(roles.map { JSONMember($0.rawValue, .string(tensors[$0] ?? "")) })),
    ])
  }
}
