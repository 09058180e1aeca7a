import EMoECore

/// What `emoe-pack inspect` shows of a `.emoe` container.
enum ContainerInspection {
  /// Opens and summarises the container at `path`; with `verifyChecksums`, also runs the
  /// integrity checks and reports them (``Inspection/checksOK`` is false when one fails).
  static func report(path: String, verifyChecksums: Bool) throws(ContainerError) -> Inspection {
    let container = try ContainerFile(path: path)
    let integrity = verifyChecksums ? ContainerIntegrity.verify(container) : nil
    let manifest = container.manifest
    let passthrough = container.tensorInfos
    let passthroughBytes = passthrough.reduce(0) { $0 + $1.byteCount }
    let sourceSize = manifest.source.totalSize

    var lines: [String] = []
    lines.append(".emoe container, format version \(container.header.version): \(path)")
    var sizeLine = "file size: \(grouped(container.header.fileSize)) bytes"
    if sourceSize > 0 {
      sizeLine +=
        " (\(percent(container.header.fileSize, of: sourceSize)) of the source's "
        + "\(grouped(sourceSize)))"
    }
    lines.append(sizeLine)
    lines.append("written by: \(manifest.tool.name) \(manifest.tool.version)")
    lines.append("options: \(manifest.options.serialized())")
    let fileCount = manifest.source.files.count
    lines.append(
      "source: \(manifest.source.format), \(fileCount) file\(fileCount == 1 ? "" : "s")")
    for file in manifest.source.files {
      lines.append("  \(file.name)  \(grouped(file.size)) bytes  sha256 \(file.sha256)")
    }
    lines.append("  metadata: \(describe(manifest.source.metadata))")
    if let config = manifest.source.config {
      let type = config["model_type"]?.stringValue.map { " (model_type \($0))" } ?? ""
      lines.append("  config.json: kept\(type)")
    }
    let features = manifest.requiredFeatures
    lines.append(
      "required features: " + (features.isEmpty ? "none" : features.joined(separator: ", ")))
    lines.append("converted layers: \(manifest.layers.count)")
    if !manifest.layers.isEmpty {
      // The shared column appears only when some layer has an always-active shared block.
      let showsShared = manifest.layers.contains { $0.sharedCount > 0 }
      var rows = [
        [
          "layer", "family", "activation", "d", "n", "experts", "expert size", "top-k", "router",
          "storage",
          "SSE",
        ]
      ]
      if showsShared { rows[0].insert("shared", at: 5) }
      for layer in manifest.layers {
        var row = [
          String(layer.layer), layer.family.rawValue, layer.activation, String(layer.hiddenSize),
          String(layer.intermediateSize), String(layer.expertCount), expertSize(layer),
          String(layer.topK), layer.router.rawValue, storage(of: layer, in: container),
          "\(layer.clustering.sse)",
        ]
        if showsShared { row.insert(String(layer.sharedCount), at: 5) }
        rows.append(row)
      }
      lines += table(rows).map { "  " + $0 }
    }
    lines.append(
      "passthrough tensors: \(passthrough.count) (\(grouped(passthroughBytes)) bytes of data)")
    lines.append("stored tensors: \(container.entries.count)")
    if let integrity {
      if integrity.ok {
        lines.append("checksums: OK (\(container.entries.count) tensors, header and padding)")
      } else {
        lines.append("checksums: FAILED")
        for failure in integrity.failures { lines.append("  \(failure.name): \(failure.detail)") }
      }
    }

    var json: [JSONMember] = [
      JSONMember("file", .string(path)),
      JSONMember("format", .string("emoe")),
      JSONMember("format_version", .integer(Int64(container.header.version))),
      JSONMember("manifest", container.manifestJSON),
      JSONMember("file_size", .integer(Int64(container.header.fileSize))),
      JSONMember("source_size", .integer(Int64(sourceSize))),
      JSONMember("converted_layers", .integer(Int64(manifest.layers.count))),
      JSONMember("passthrough_tensors", .integer(Int64(passthrough.count))),
      JSONMember("stored_tensors", .integer(Int64(container.entries.count))),
      JSONMember("checksums_ok", integrity.map { .bool($0.ok) } ?? .null),
    ]
    if let integrity { json.append(JSONMember("checks", integrity.json["checks"] ?? .null)) }
    return Inspection(
      text: lines.joined(separator: "\n") + "\n", json: .object(json),
      checksOK: integrity?.ok ?? true)
  }

  private static func describe(_ metadata: SourceMetadata) -> String {
    switch metadata {
    case .none: "none"
    case .safetensors(let entries):
      "\(entries.count) safetensors string entr\(entries.count == 1 ? "y" : "ies")"
    case .gguf(let entries): "\(entries.count) GGUF key-value pair\(entries.count == 1 ? "" : "s")"
    }
  }

  private static func expertSize(_ layer: ContainerLayerRecord) -> String {
    let low = layer.expertSizes.min() ?? 0
    let high = layer.expertSizes.max() ?? 0
    return low == high ? String(low) : "\(low)-\(high)"
  }

  /// The dtypes and encodings of the layer's FFN matrices, such as `F32` or `int8 rows, zstd 3`.
  private static func storage(of layer: ContainerLayerRecord, in container: ContainerFile) -> String
  {
    var kinds: [String] = []
    for role in layer.tensors.keys.sorted() where role.isMatrix {
      guard let name = layer.tensors[role], let entry = container.entry(named: name) else {
        continue
      }
      var kind = entry.declaration.encoding == .plain ? entry.dtype.rawValue : "int8 rows"
      if case .zstd(let level) = entry.declaration.compression { kind += ", zstd \(level)" }
      if !kinds.contains(kind) { kinds.append(kind) }
    }
    return kinds.joined(separator: " + ")
  }

  private static func table(_ rows: [[String]]) -> [String] {
    let columns = rows.map(\.count).max() ?? 0
    let widths = (0..<columns).map { column in
      rows.map { column < $0.count ? $0[column].count : 0 }.max() ?? 0
    }
    return rows.map { row in
      row.enumerated().map { column, cell in
        column == row.count - 1
          ? cell : cell + String(repeating: " ", count: widths[column] - cell.count)
      }.joined(separator: "  ")
    }
  }

  private static func grouped(_ value: Int) -> String {
    let digits = Array(String(value))
    var out = ""
    for (index, digit) in digits.enumerated() {
      if index > 0, (digits.count - index) % 3 == 0 { out.append(",") }
      out.append(digit)
    }
    return out
  }

  private static func percent(_ part: Int, of whole: Int) -> String {
    let tenths = (part * 1000 + whole / 2) / whole
    return "\(tenths / 10).\(tenths % 10)%"
  }
}
