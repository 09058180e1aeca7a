import EMoECore

extension Inspection {
  /// Inspects the GGUF file at `path`: version, alignment, counts, every metadata pair (long
  /// arrays summarised) and one row per tensor (name, ggml type, `ne`, shape, bytes, offset).
  ///
  /// - Throws: ``GGUFError`` or `FileError` when the file cannot be read.
  static func gguf(path: String) throws -> Inspection {
    let file = try GGUFFile(path: path)
    var text =
      "GGUF version \(file.version), alignment \(file.alignment), \(file.tensors.count) tensors, "
      + "\(file.keyValues.count) metadata keys, data at byte \(file.dataOffset)\n"

    text += "\nMetadata:\n"
    let keyWidth = min(44, file.keyValues.map(\.key.count).max() ?? 0)
    for (key, value) in file.keyValues {
      text +=
        "  " + pad(key.escapingControlCharacters(), keyWidth) + "  "
        + pad(value.type.description, 6) + "  "
      text += value.summary + "\n"
    }

    text += "\nTensors:\n"
    let rows = file.tensors.map { info in
      [
        info.name.escapingControlCharacters(), info.type.name ?? "\(info.type.rawValue)",
        "\(info.dimensions)",
        "\(info.shape)", String(info.byteCount), String(info.fileOffset),
      ]
    }
    let header = ["name", "type", "ne", "shape", "bytes", "offset"]
    let widths = header.indices.map { column in
      ([header] + rows).map { $0[column].count }.max() ?? 0
    }
    for row in [header] + rows {
      let cells = zip(row, widths).map { pad($0, $1) }.joined(separator: "  ")
      text += "  " + String(cells.reversed().drop { $0 == " " }.reversed()) + "\n"
    }

    let metadata = file.keyValues.map { JSONMember($0.key, $0.value.inspectionJSON) }
    let tensors = file.tensors.map { info in
      JSONValue.object([
        JSONMember("name", .string(info.name)),
        JSONMember("type", .string(info.type.name ?? "\(info.type.rawValue)")),
        JSONMember("shape", .array(info.shape.dimensions.map { .integer(Int64($0)) })),
        JSONMember("ne", .array(info.dimensions.map { .integer(Int64($0)) })),
        JSONMember("bytes", .integer(Int64(info.byteCount))),
        JSONMember("offset", .integer(Int64(info.fileOffset))),
      ])
    }
    let json = JSONValue.object([
      JSONMember("format", .string("gguf")),
      JSONMember("path", .string(path)),
      JSONMember("version", .integer(Int64(file.version))),
      JSONMember("alignment", .integer(Int64(file.alignment))),
      JSONMember("data_offset", .integer(Int64(file.dataOffset))),
      JSONMember("tensor_count", .integer(Int64(file.tensors.count))),
      JSONMember("kv_count", .integer(Int64(file.keyValues.count))),
      JSONMember("metadata", .object(metadata)),
      JSONMember("tensors", .array(tensors)),
    ])
    return Inspection(text: text, json: json)
  }

  private static func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
  }
}
