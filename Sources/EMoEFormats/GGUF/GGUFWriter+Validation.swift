import EMoECore

extension GGUFWriter {
  /// Checks keys and values the way a GGUF reader will, and returns the alignment to use.
  static func checkMetadata(
    _ metadata: [(key: String, value: GGUFValue)], destination: String
  ) throws(GGUFError) -> Int {
    var keys = Set<String>()
    var alignment = GGUFFormat.defaultAlignment
    var arrayElements = 0
    for (key, value) in metadata {
      let location = ErrorLocation(file: destination, key: key)
      if case .array(_, let elements) = value {
        arrayElements += elements.count
        guard arrayElements <= GGUFFormat.maxTotalArrayElements else {
          throw GGUFError(
            .arrayTooLong, location,
            "metadata arrays would hold more than \(GGUFFormat.maxTotalArrayElements) elements "
              + "in total, which GGUF readers here refuse")
        }
      }
      guard !key.isEmpty, key.utf8.count <= GGUFFormat.maxKeyBytes else {
        throw GGUFError(
          .invalidKey, location,
          "keys must have 1 to \(GGUFFormat.maxKeyBytes) bytes, not \(key.utf8.count)")
      }
      guard keys.insert(key).inserted else {
        throw GGUFError(.duplicateKey, location, "the key appears twice")
      }
      try checkValue(value, location: location)
      if key == GGUFFormat.alignmentKey {
        guard case .uint32(let raw) = value, raw > 0, raw & (raw - 1) == 0,
          Int(raw) <= GGUFFormat.maxAlignment
        else {
          throw GGUFError(
            .invalidAlignment, location,
            "the alignment must be a u32 power of two up to \(GGUFFormat.maxAlignment)")
        }
        alignment = Int(raw)
      }
    }
    return alignment
  }

  private static func checkValue(_ value: GGUFValue, location: ErrorLocation) throws(GGUFError) {
    switch value {
    case .string(let string):
      guard string.utf8.count <= GGUFFormat.maxStringBytes else {
        throw GGUFError(
          .stringTooLong, location, "a string of \(string.utf8.count) bytes is too long")
      }
    case .array(let elementType, let elements):
      guard elementType != .array else {
        throw GGUFError(.nestedArray, location, "arrays of arrays are not allowed")
      }
      guard elements.count <= GGUFFormat.maxArrayElements else {
        throw GGUFError(.arrayTooLong, location, "an array of \(elements.count) is too long")
      }
      for (index, element) in elements.enumerated() {
        guard element.type == elementType else {
          throw GGUFError(
            .invalidValue, location,
            "element \(index) is a \(element.type) in an array of \(elementType)")
        }
        try checkValue(element, location: location)
      }
    default:
      return
    }
  }

  /// Checks a tensor plan and returns its ggml type, `ne` dimensions and byte count.
  static func check(_ plan: TensorPlan, destination: String) throws(GGUFError) -> (
    GGUFTensorType, [Int], Int
  ) {
    let location = ErrorLocation(file: destination, tensor: plan.name)
    let nameBytes = plan.name.utf8.count
    guard nameBytes > 0, nameBytes <= GGUFFormat.maxTensorNameBytes, !plan.name.utf8.contains(0)
    else {
      throw GGUFError(
        .invalidTensorName, location,
        "tensor names must have 1 to \(GGUFFormat.maxTensorNameBytes) bytes and no NUL")
    }
    guard let type = GGUFTensorType(dtype: plan.dtype) else {
      throw GGUFError(
        .unsupportedTensorType, location, "GGUF has no tensor type for \(plan.dtype.rawValue)")
    }
    guard plan.shape.rank <= GGUFFormat.maxDimensions else {
      throw GGUFError(
        .tooManyDimensions, location,
        "\(plan.shape.rank) dimensions; GGUF allows at most \(GGUFFormat.maxDimensions)")
    }
    guard let elements = plan.shape.elementCount else {
      throw GGUFError(
        .elementCountOverflow, location, "shape \(plan.shape) is negative or overflows")
    }
    let dimensions = Array(plan.shape.dimensions.reversed())
    let rowLength = dimensions.first ?? 1
    guard rowLength % plan.dtype.blockSize == 0 else {
      throw GGUFError(
        .rowNotBlockMultiple, location,
        "rows of \(rowLength) values are not whole \(plan.dtype.rawValue) blocks of "
          + "\(plan.dtype.blockSize)")
    }
    guard let byteCount = plan.dtype.byteCount(elementCount: elements) else {
      throw GGUFError(.elementCountOverflow, location, "the byte size of \(plan.shape) overflows")
    }
    return (type, dimensions, byteCount)
  }
}
