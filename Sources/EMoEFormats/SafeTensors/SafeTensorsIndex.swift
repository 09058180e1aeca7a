import EMoECore

/// A parsed `model.safetensors.index.json`: which shard holds each tensor, and the checkpoint's
/// metadata.
public struct SafeTensorsIndex: Sendable {
  /// The `weight_map` entries in file order.
  public var weightMap: [(tensor: String, shard: String)]
  /// The `metadata` members other than `total_size`, non-string values as compact JSON text.
  public var metadata: [(key: String, value: String)]
  /// `metadata.total_size`, when present.
  public var totalSize: Int?

  /// Reads and checks the index at `path`.
  ///
  /// - Throws: ``FileError`` when it cannot be read; ``SafeTensorsError`` of kind
  ///   ``SafeTensorsError/Kind/invalidIndex`` when it is not JSON, `weight_map` is not an object
  ///   of strings, a shard name leaves the index's folder, or `total_size` is not a count.
  public init(path: String) throws {
    let file = try MappedFile(path: path)
    let root: JSONValue
    do {
      root = try JSONValue.parse(file.bytes)
    } catch {
      throw SafeTensorsError(
        .invalidIndex, ErrorLocation(file: path, key: error.duplicateKey, offset: error.offset),
        detail: error.description)
    }
    func fail(_ key: String, _ detail: String) -> SafeTensorsError {
      SafeTensorsError(.invalidIndex, ErrorLocation(file: path, key: key), detail: detail)
    }
    guard case .object = root else { throw fail("", "expected an object, found \(root.typeName)") }
    guard let weightMapValue = root["weight_map"] else {
      throw fail("weight_map", "missing field `weight_map`")
    }
    guard case .object(let members) = weightMapValue else {
      throw fail("weight_map", "must be an object, found \(weightMapValue.typeName)")
    }
    var weightMap: [(tensor: String, shard: String)] = []
    for member in members {
      guard case .string(let shard) = member.value else {
        throw fail(
          "weight_map." + member.key, "shard names must be strings, found \(member.value.typeName)")
      }
      let components = shard.split(separator: "/", omittingEmptySubsequences: false)
      guard !shard.isEmpty, !shard.hasPrefix("/"), !components.contains("..") else {
        throw fail(
          "weight_map." + member.key,
          "the shard name '\(shard)' must stay inside the index's folder")
      }
      weightMap.append((member.key, shard))
    }
    self.weightMap = weightMap

    var metadata: [(key: String, value: String)] = []
    var totalSize: Int?
    switch root["metadata"] {
    case nil, .null?:
      break
    case .object(let entries)?:
      for entry in entries {
        if entry.key == "total_size" {
          guard let size = entry.value.intValue, size >= 0 else {
            throw fail(
              "metadata.total_size",
              "must be a non-negative integer, found \(entry.value.serialized())")
          }
          totalSize = size
        } else if case .string(let text) = entry.value {
          metadata.append((entry.key, text))
        } else {
          metadata.append((entry.key, entry.value.serialized()))
        }
      }
    case let other?:
      throw fail("metadata", "must be an object, found \(other.typeName)")
    }
    self.metadata = metadata
    self.totalSize = totalSize
  }
}
