import EMoECore

extension GGUFFile {
  /// What parsing a file's header yields.
  struct Parsed {
    var version: UInt32
    var alignment: Int
    var dataOffset: Int
    var keyValues: [(key: String, value: GGUFValue)]
    var tensors: [GGUFTensorInfo]
  }

  /// A tensor info as read, before its offset is placed in the data section.
  private struct RawTensorInfo {
    var name: String
    var type: GGUFTensorType
    var dtype: DType
    var dimensions: [Int]
    var byteCount: Int
    var offset: UInt64
    var offsetPosition: Int
  }

  /// Reads and validates the header, metadata and tensor infos of `file`, and checks that every
  /// tensor's padded data lies inside it, in info order, where ggml expects it.
  static func parse(_ file: MappedFile) throws(GGUFError) -> Parsed {
    var parser = GGUFParser(bytes: file.bytes, path: file.path)
    try readMagic(&parser)
    let version = try readVersion(&parser)
    let tensorCount = try parser.readCount("the tensor count")
    let keyValueCount = try parser.readCount("the metadata key-value count")

    var keyValues: [(key: String, value: GGUFValue)] = []
    keyValues.reserveCapacity(min(keyValueCount, parser.remaining / 13))
    var keys = Set<String>()
    for _ in 0..<keyValueCount {
      let keyStart = parser.position
      let key = try parser.readString("a metadata key", maxBytes: GGUFFormat.maxKeyBytes)
      guard !key.isEmpty else {
        throw parser.error(.invalidKey, "a metadata key is empty", at: keyStart)
      }
      guard keys.insert(key).inserted else {
        throw parser.error(.duplicateKey, "the key appears twice", key: key, at: keyStart)
      }
      let type = try parser.readValueType(key: key)
      keyValues.append((key, try parser.readValue(of: type, key: key)))
    }
    let alignment = try readAlignment(keyValues, parser: parser)

    var rawInfos: [RawTensorInfo] = []
    rawInfos.reserveCapacity(min(tensorCount, parser.remaining / 24))
    var names = Set<String>()
    for _ in 0..<tensorCount {
      let info = try readTensorInfo(&parser)
      guard names.insert(info.name).inserted else {
        throw parser.error(
          .duplicateTensorName, "two tensors have this name", tensor: info.name,
          at: info.offsetPosition)
      }
      rawInfos.append(info)
    }

    var dataOffset = parser.position
    if tensorCount > 0 {
      guard let aligned = GGUFFormat.align(parser.position, to: alignment) else {
        throw parser.error(.elementCountOverflow, "the data section offset overflows")
      }
      dataOffset = aligned
    }
    let tensors = try placeData(rawInfos, dataOffset: dataOffset, alignment: alignment, parser)
    return Parsed(
      version: version, alignment: alignment, dataOffset: dataOffset, keyValues: keyValues,
      tensors: tensors)
  }

  private static func readMagic(_ parser: inout GGUFParser) throws(GGUFError) {
    guard parser.remaining >= 4 else {
      throw parser.error(
        .truncated, "the file has \(parser.remaining) bytes, too few for the GGUF magic")
    }
    let magic = Array(parser.bytes[0..<4])
    guard magic == GGUFFormat.magic else {
      let shown = magic.map { (0x20..<0x7F).contains($0) ? String(UnicodeScalar($0)) : "?" }
      throw parser.error(
        .badMagic, "the file starts with '\(shown.joined())', not 'GGUF'", at: 0)
    }
    parser.seek(to: 4)
  }

  private static func readVersion(_ parser: inout GGUFParser) throws(GGUFError) -> UInt32 {
    let version = try parser.read(UInt32.self, "the version")
    if version != 0, version & 0xFFFF == 0 {
      throw parser.error(
        .foreignByteOrder,
        "the version reads as \(version) (byte-swapped \(version.byteSwapped)): the file is "
          + "big-endian, and only little-endian GGUF is supported", at: 4)
    }
    if version == 1 {
      throw parser.error(
        .unsupportedVersion,
        "GGUF version 1 (32-bit counts) is obsolete and not supported; only versions 2 and 3 "
          + "are", at: 4)
    }
    guard GGUFFormat.readableVersions.contains(version) else {
      throw parser.error(
        .unsupportedVersion, "GGUF version \(version) is not supported; only versions 2 and 3 are",
        at: 4)
    }
    return version
  }

  /// `general.alignment` when present: a u32, a power of two, at most 1 MiB (ggml's rules).
  private static func readAlignment(
    _ keyValues: [(key: String, value: GGUFValue)], parser: GGUFParser
  ) throws(GGUFError) -> Int {
    guard let value = keyValues.first(where: { $0.key == GGUFFormat.alignmentKey })?.value else {
      return GGUFFormat.defaultAlignment
    }
    guard case .uint32(let raw) = value else {
      throw parser.error(
        .invalidAlignment, "the alignment must be a u32, not a \(value.type)",
        key: GGUFFormat.alignmentKey)
    }
    let alignment = Int(raw)
    guard alignment > 0, alignment & (alignment - 1) == 0 else {
      throw parser.error(
        .invalidAlignment, "the alignment \(alignment) is not a power of two",
        key: GGUFFormat.alignmentKey)
    }
    guard alignment <= GGUFFormat.maxAlignment else {
      throw parser.error(
        .invalidAlignment,
        "the alignment \(alignment) exceeds the maximum of \(GGUFFormat.maxAlignment)",
        key: GGUFFormat.alignmentKey)
    }
    return alignment
  }

  private static func readTensorInfo(_ parser: inout GGUFParser) throws(GGUFError)
    -> RawTensorInfo
  {
    let nameStart = parser.position
    let name = try parser.readString("a tensor name", maxBytes: GGUFFormat.maxStringBytes)
    guard !name.isEmpty else {
      throw parser.error(.invalidTensorName, "a tensor name is empty", at: nameStart)
    }
    guard name.utf8.count <= GGUFFormat.maxTensorNameBytes else {
      throw parser.error(
        .invalidTensorName,
        "the name is \(name.utf8.count) bytes; ggml allows at most "
          + "\(GGUFFormat.maxTensorNameBytes)", tensor: name, at: nameStart)
    }
    guard !name.utf8.contains(0) else {
      throw parser.error(
        .invalidTensorName, "the name contains a NUL byte", tensor: name, at: nameStart)
    }

    let rankStart = parser.position
    let rank = try parser.read(UInt32.self, "the dimension count", tensor: name)
    guard rank <= UInt32(GGUFFormat.maxDimensions) else {
      throw parser.error(
        .tooManyDimensions,
        "\(rank) dimensions; ggml allows at most \(GGUFFormat.maxDimensions)", tensor: name,
        at: rankStart)
    }
    var dimensions: [Int] = []
    var elements = 1
    for axis in 0..<Int(rank) {
      let dimensionStart = parser.position
      let raw = try parser.read(UInt64.self, "dimension \(axis)", tensor: name)
      guard raw <= UInt64(Int64.max) else {
        throw parser.error(
          .invalidDimension, "dimension \(axis) is \(Int64(bitPattern: raw)) (negative)",
          tensor: name, at: dimensionStart)
      }
      dimensions.append(Int(raw))
      let (product, overflow) = elements.multipliedReportingOverflow(by: Int(raw))
      guard !overflow else {
        throw parser.error(
          .elementCountOverflow, "the element count of ne \(dimensions) overflows",
          tensor: name, at: dimensionStart)
      }
      elements = product
    }

    let typeStart = parser.position
    let type = GGUFTensorType(
      rawValue: try parser.read(UInt32.self, "the tensor type", tensor: name))
    guard let dtype = type.dtype else {
      if let typeName = type.name, !type.isRemoved {
        throw parser.error(
          .unsupportedTensorType,
          "ggml type \(typeName) (\(type.rawValue)) is not supported by emoe-pack", tensor: name,
          at: typeStart)
      }
      let what =
        type.isRemoved
        ? "ggml type \(type) was removed from ggml and is not valid in files"
        : "ggml type \(type.rawValue) is not a known ggml type"
      throw parser.error(.unknownTensorType, what, tensor: name, at: typeStart)
    }
    let rowLength = dimensions.first ?? 1
    guard rowLength % dtype.blockSize == 0 else {
      throw parser.error(
        .rowNotBlockMultiple,
        "rows of \(rowLength) \(dtype.rawValue) values are not a multiple of its block size "
          + "\(dtype.blockSize)", tensor: name, at: typeStart)
    }
    guard let byteCount = dtype.byteCount(elementCount: elements) else {
      throw parser.error(
        .elementCountOverflow, "the byte size of ne \(dimensions) overflows", tensor: name,
        at: typeStart)
    }

    let offsetPosition = parser.position
    let offset = try parser.read(UInt64.self, "the data offset", tensor: name)
    return RawTensorInfo(
      name: name, type: type, dtype: dtype, dimensions: dimensions, byteCount: byteCount,
      offset: offset, offsetPosition: offsetPosition)
  }

  /// Checks that tensors are packed in info order with padding only up to the alignment, as
  /// ggml requires, and that every tensor's padded data lies inside the file.
  private static func placeData(
    _ infos: [RawTensorInfo], dataOffset: Int, alignment: Int, _ parser: GGUFParser
  ) throws(GGUFError) -> [GGUFTensorInfo] {
    var tensors: [GGUFTensorInfo] = []
    tensors.reserveCapacity(infos.count)
    var expected = 0
    let fileSize = parser.bytes.count
    for info in infos {
      guard info.offset % UInt64(alignment) == 0 else {
        throw parser.error(
          .misalignedOffset,
          "data offset \(info.offset) is not a multiple of the alignment \(alignment)",
          tensor: info.name, at: info.offsetPosition)
      }
      guard info.offset == UInt64(expected) else {
        throw parser.error(
          .unexpectedOffset,
          "data offset \(info.offset), expected \(expected): tensor data must follow the "
            + "tensor infos' order with padding only to the alignment",
          tensor: info.name, at: info.offsetPosition)
      }
      guard let padded = GGUFFormat.align(info.byteCount, to: alignment),
        case (let start, false) = dataOffset.addingReportingOverflow(expected),
        case (let end, false) = start.addingReportingOverflow(padded)
      else {
        throw parser.error(
          .elementCountOverflow, "the data's end offset overflows", tensor: info.name,
          at: info.offsetPosition)
      }
      guard end <= fileSize else {
        throw parser.error(
          .dataOutOfBounds,
          "data bytes \(start)..<\(start + info.byteCount) padded to \(end) run past the end "
            + "of the file (\(fileSize) bytes)", tensor: info.name, at: info.offsetPosition)
      }
      tensors.append(
        GGUFTensorInfo(
          name: info.name, type: info.type, dtype: info.dtype, dimensions: info.dimensions,
          offset: expected, fileOffset: start, byteCount: info.byteCount))
      expected += padded
    }
    return tensors
  }
}
