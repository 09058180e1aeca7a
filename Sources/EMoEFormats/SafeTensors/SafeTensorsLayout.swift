import EMoECore

/// The planned layout of a safetensors file: tensor order, data offsets and the header bytes,
/// all fixed before any tensor data is produced.
///
/// Tensors are ordered as the reference writer orders them: by dtype alignment descending (the
/// reference's `Dtype` declaration order, see ``EMoECore/DType/safeTensorsOrder``), then by name
/// (byte-wise). Because the header is padded to a multiple of 8 bytes, every tensor's data is then
/// naturally aligned for its element size, and for the same tensors and metadata the file is
/// byte-identical to the one the Python `safetensors` package writes (whose metadata order is
/// unspecified when there is more than one key).
///
/// The header is compact JSON: `__metadata__` first, holding `"format": "pt"` first unless the
/// caller gave a `format`, then the caller's pairs in their order; then each tensor as
/// `{"dtype":…,"shape":[…],"data_offsets":[begin,end]}` in file order; padded with spaces to a
/// multiple of 8 bytes.
public struct SafeTensorsLayout: Sendable {
  /// The tensors in file order.
  public let tensors: [SafeTensorsTensorDescription]
  /// Each tensor's byte range inside the data section, in file order.
  public let byteRanges: [Range<Int>]
  /// The 8-byte little-endian header length followed by the padded header JSON.
  public let headerBytes: [UInt8]
  /// The metadata as written, `format` included.
  public let metadata: [(key: String, value: String)]

  /// The file offset where tensor data begins.
  public var dataStart: Int { headerBytes.count }
  /// The number of data bytes.
  public var dataByteCount: Int { byteRanges.last?.upperBound ?? 0 }
  /// The size of the whole file.
  public var fileSize: Int { dataStart + dataByteCount }

  /// Plans the file for `tensors` and `metadata`.
  ///
  /// - Parameters:
  ///   - tensors: the tensors, in any order.
  ///   - metadata: `__metadata__` pairs; `"format": "pt"` is added first when no `format` is given.
  ///   - path: the destination, for error messages.
  /// - Throws: ``SafeTensorsError`` for a repeated or reserved name, a repeated metadata key, a
  ///   dtype safetensors cannot hold, a size that overflows or leaves part of a byte, or a
  ///   header over the 100,000,000-byte limit.
  public init(
    tensors: [SafeTensorsTensorDescription], metadata: [(key: String, value: String)] = [],
    path: String = "safetensors"
  ) throws(SafeTensorsError) {
    var names = Set<String>()
    for tensor in tensors {
      let location = ErrorLocation(file: path, tensor: tensor.name)
      guard tensor.name != "__metadata__", names.insert(tensor.name).inserted else {
        throw SafeTensorsError(
          .invalidTensorName, location,
          detail: tensor.name == "__metadata__"
            ? "`__metadata__` is reserved" : "two tensors have this name")
      }
      guard tensor.dtype.safeTensorsRank != nil else {
        throw SafeTensorsError(
          .unsupportedDType, location, detail: "\(tensor.dtype.rawValue) has no safetensors name")
      }
      guard tensor.byteCount != nil else {
        let whole = tensor.shape.elementCount.map { count in
          !count.multipliedReportingOverflow(by: tensor.dtype.safeTensorsBits).overflow
        }
        throw SafeTensorsError(
          whole == true ? .misalignedSlice : .validationOverflow, location,
          detail: "\(tensor.dtype.rawValue) \(tensor.shape)")
      }
    }
    var fullMetadata = metadata
    if !metadata.contains(where: { $0.key == "format" }) {
      fullMetadata.insert(("format", "pt"), at: 0)
    }
    var metadataKeys = Set<String>()
    for pair in fullMetadata where !metadataKeys.insert(pair.key).inserted {
      throw SafeTensorsError(
        .duplicateKey, ErrorLocation(file: path, key: pair.key),
        detail: "metadata has two values for this key")
    }

    let ordered = Self.fileOrder(tensors)
    var ranges: [Range<Int>] = []
    ranges.reserveCapacity(ordered.count)
    var offset = 0
    var members = [
      JSONMember(
        "__metadata__", .object(fullMetadata.map { JSONMember($0.key, .string($0.value)) }))
    ]
    for tensor in ordered {
      let count = tensor.byteCount ?? 0
      let (end, overflow) = offset.addingReportingOverflow(count)
      guard !overflow else {
        throw SafeTensorsError(
          .validationOverflow, ErrorLocation(file: path, tensor: tensor.name),
          detail: "the data section's size overflows")
      }
      ranges.append(offset..<end)
      members.append(
        JSONMember(
          tensor.name,
          .object([
            JSONMember("dtype", .string(tensor.dtype.rawValue)),
            JSONMember("shape", .array(tensor.shape.dimensions.map { .integer(Int64($0)) })),
            JSONMember("data_offsets", .array([.integer(Int64(offset)), .integer(Int64(end))])),
          ])))
      offset = end
    }
    var json = Array(JSONValue.object(members).serialized().utf8)
    json.append(contentsOf: repeatElement(UInt8(ascii: " "), count: (8 - json.count % 8) % 8))
    guard json.count <= SafeTensorsHeader.maximumHeaderLength else {
      throw SafeTensorsError(
        .headerTooLarge, ErrorLocation(file: path),
        detail: "the header would take \(json.count) bytes")
    }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(8 + json.count)
    withUnsafeBytes(of: UInt64(json.count).littleEndian) { bytes.append(contentsOf: $0) }
    bytes.append(contentsOf: json)
    self.tensors = ordered
    self.byteRanges = ranges
    self.headerBytes = bytes
    self.metadata = fullMetadata
  }

  /// `tensors` in the reference writer's order: dtype alignment descending, then name.
  public static func fileOrder(_ tensors: [SafeTensorsTensorDescription])
    -> [SafeTensorsTensorDescription]
  {
    tensors.sorted { left, right in
      let leftRank = left.dtype.safeTensorsRank ?? -1
      let rightRank = right.dtype.safeTensorsRank ?? -1
      if leftRank != rightRank { return leftRank > rightRank }
      return left.name.utf8.lexicographicallyPrecedes(right.name.utf8)
    }
  }
}
