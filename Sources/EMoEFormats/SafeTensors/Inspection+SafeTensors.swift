import EMoECore

extension Inspection {
  /// Inspects a safetensors file, or a sharded checkpoint given by its index or folder.
  ///
  /// The text is a summary line (files, tensor count, total data bytes, metadata entries), one
  /// aligned row per tensor (name, dtype, shape, bytes, and the shard when there are several),
  /// then the metadata. The JSON is `{"format": "safetensors", "files": […], "tensors": [{"name",
  /// "dtype", "shape", "bytes", "file"?}], "metadata": {…}, "config": {…} | null,
  /// "total_bytes": N}`, with `file` only for sharded checkpoints.
  ///
  /// - Throws: ``FileError`` when a file cannot be read; ``SafeTensorsError`` when it is invalid.
  public static func safetensors(path: String) throws -> Inspection {
    let checkpoint = try SafeTensorsCheckpoint(path: path)
    let sharded = checkpoint.shards.count > 1
    let metadataPairs: [(key: String, value: String)]
    if case .safetensors(let pairs) = checkpoint.metadata {
      metadataPairs = pairs
    } else {
      metadataPairs = []
    }
    let rows = checkpoint.entries
    let total = checkpoint.totalByteCount

    var tensorsJSON: [JSONValue] = []
    tensorsJSON.reserveCapacity(rows.count)
    for (entry, shard) in rows {
      var members = [
        JSONMember("name", .string(entry.name)),
        JSONMember("dtype", .string(entry.dtype.rawValue)),
        JSONMember("shape", .array(entry.shape.dimensions.map { .integer(Int64($0)) })),
        JSONMember("bytes", .integer(Int64(entry.byteCount))),
      ]
      if sharded { members.append(JSONMember("file", .string(shard.path))) }
      tensorsJSON.append(.object(members))
    }
    let json = JSONValue.object([
      JSONMember("format", .string("safetensors")),
      JSONMember("files", .array(checkpoint.files.map { .string($0) })),
      JSONMember("tensors", .array(tensorsJSON)),
      JSONMember("metadata", .object(metadataPairs.map { JSONMember($0.key, .string($0.value)) })),
      JSONMember("config", checkpoint.config ?? .null),
      JSONMember("total_bytes", .integer(Int64(total))),
    ])

    let source = checkpoint.indexPath ?? checkpoint.files.first ?? path
    let fileNote = sharded ? " (\(checkpoint.shards.count) files)" : ""
    var text =
      "\(source)\(fileNote): \(SafeTensorsText.plural(rows.count, "tensor")), "
      + "\(SafeTensorsText.grouped(total)) bytes, \(SafeTensorsText.plural(metadataPairs.count, "metadata entry", "metadata entries"))\n"
    var table: [[String]] = [["name", "dtype", "shape", "bytes"] + (sharded ? ["file"] : [])]
    for (entry, shard) in rows {
      table.append(
        [
          entry.name.escapingControlCharacters(), entry.dtype.rawValue, entry.shape.description,
          String(entry.byteCount),
        ]
          + (sharded ? [FileSystem.basename(of: shard.path)] : []))
    }
    text += SafeTensorsText.alignedRows(table, rightAligned: [3])
    if !metadataPairs.isEmpty {
      text += "metadata:\n"
      for pair in metadataPairs {
        text +=
          "  \(pair.key.escapingControlCharacters()): "
          + "\(pair.value.escapingControlCharacters())\n"
      }
    }
    return Inspection(text: text, json: json)
  }
}

/// Plain-text formatting for the inspection summary.
private enum SafeTensorsText {
  /// The rows as columns padded to their widest cell, two spaces apart, each line indented.
  static func alignedRows(_ rows: [[String]], rightAligned: Set<Int>) -> String {
    var widths: [Int] = []
    for row in rows {
      for (column, cell) in row.enumerated() {
        if column == widths.count { widths.append(0) }
        widths[column] = max(widths[column], cell.count)
      }
    }
    var text = ""
    for row in rows {
      var cells: [String] = []
      for (column, cell) in row.enumerated() {
        let padding = String(repeating: " ", count: widths[column] - cell.count)
        let isLast = column == row.count - 1
        if rightAligned.contains(column) {
          cells.append(padding + cell)
        } else {
          cells.append(isLast ? cell : cell + padding)
        }
      }
      text += "  " + cells.joined(separator: "  ") + "\n"
    }
    return text
  }

  static func plural(_ count: Int, _ singular: String, _ pluralForm: String? = nil)
    -> String
  {
    "\(count) " + (count == 1 ? singular : (pluralForm ?? singular + "s"))
  }

  /// `1234567` as `1,234,567`.
  static func grouped(_ value: Int) -> String {
    let digits = Array(String(value))
    var result = ""
    for (index, digit) in digits.enumerated() {
      if index > 0, (digits.count - index) % 3 == 0 { result.append(",") }
      result.append(digit)
    }
    return result
  }
}
