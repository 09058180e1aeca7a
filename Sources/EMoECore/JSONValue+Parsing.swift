import CJSONC

extension JSONValue {
  /// Parses `text` as strict RFC 8259 JSON: valid UTF-8, one value, nothing but whitespace after
  /// it, and no key repeated inside an object.
  ///
  /// A grammar pass (``JSONStrictValidator``) runs first because json-c accepts some non-JSON
  /// input even in strict mode; json-c then builds the values.
  ///
  /// - Parameters:
  ///   - text: the JSON bytes.
  ///   - maximumDepth: the deepest nesting accepted.
  ///   - maximumValues: the most values (scalars, arrays and objects) accepted, counted by the
  ///     grammar pass before anything is built, so a small file of `[0,0,0,…]` cannot make
  ///     json-c build tens of millions of objects.
  public static func parse(
    _ text: UnsafeRawBufferPointer, maximumDepth: Int32 = 64,
    maximumValues: Int = defaultMaximumValues
  ) throws(JSONParseError) -> JSONValue {
    try JSONStrictValidator.validate(
      text, maximumDepth: Int(maximumDepth) - 1, maximumValues: maximumValues)
    return try build(text, maximumDepth: maximumDepth)
  }

  /// Builds the value of `text`, which the strict pass has accepted, with json-c.
  static func build(_ text: UnsafeRawBufferPointer, maximumDepth: Int32) throws(JSONParseError)
    -> JSONValue
  {
    guard let tokener = json_tokener_new_ex(maximumDepth) else {
      throw JSONParseError(reason: "out of memory", offset: 0)
    }
    defer { json_tokener_free(tokener) }
    json_tokener_set_flags(tokener, Int32(JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8))
    guard text.count < Int32.max else {
      throw JSONParseError(reason: "text too long", offset: 0)
    }
    let base = text.baseAddress?.assumingMemoryBound(to: CChar.self)
    let empty: [CChar] = [0]
    let root = empty.withUnsafeBufferPointer { fallback in
      json_tokener_parse_ex(tokener, base ?? fallback.baseAddress, Int32(text.count))
    }
    let status = json_tokener_get_error(tokener)
    let end = Int(json_tokener_get_parse_end(tokener))
    guard let root, status == json_tokener_success else {
      json_object_put(root)
      let reason =
        status == json_tokener_continue
        ? "unexpected end of text" : String(cString: json_tokener_error_desc(status))
      throw JSONParseError(reason: reason, offset: end)
    }
    defer { json_object_put(root) }
    for index in end..<text.count where !isJSONWhitespace(text[index]) {
      throw JSONParseError(reason: "unexpected data after the JSON value", offset: index)
    }
    return convert(root)
  }

  /// The most values a parsed document may hold unless the caller allows more (2 Mi).
  ///
  /// Several times a safetensors header at its tensor limit or the index of the largest
  /// checkpoints, and a few hundred megabytes once built.
  public static let defaultMaximumValues = 2 << 20

  /// Parses the UTF-8 bytes of `string`; see ``parse(_:maximumDepth:maximumValues:)``.
  public static func parse(_ string: String) throws(JSONParseError) -> JSONValue {
    let bytes = Array(string.utf8)
    let result = bytes.withUnsafeBytes { raw in
      Result { () throws(JSONParseError) in try parse(raw) }
    }
    return try result.get()
  }

  static func isJSONWhitespace(_ byte: UInt8) -> Bool {
    byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
  }

  private static func convert(_ object: OpaquePointer?) -> JSONValue {
    guard let object else { return .null }
    switch json_object_get_type(object) {
    case json_type_null:
      return .null
    case json_type_boolean:
      return .bool(json_object_get_boolean(object) != 0)
    case json_type_int:
      if json_object_get_int64(object) == Int64.max {
        let unsigned = json_object_get_uint64(object)
        if unsigned > UInt64(Int64.max) { return .unsignedInteger(unsigned) }
      }
      return .integer(json_object_get_int64(object))
    case json_type_double:
      return .number(json_object_get_double(object))
    case json_type_string:
      let length = Int(json_object_get_string_len(object))
      let pointer = UnsafeRawPointer(json_object_get_string(object)!)
      return .string(
        String(decoding: UnsafeRawBufferPointer(start: pointer, count: length), as: UTF8.self))
    case json_type_array:
      let count = json_object_array_length(object)
      return .array((0..<count).map { convert(json_object_array_get_idx(object, $0)) })
    case json_type_object:
      var members: [JSONMember] = []
      var iterator = json_object_iter_begin(object)
      var end = json_object_iter_end(object)
      while json_object_iter_equal(&iterator, &end) == 0 {
        let key = String(cString: json_object_iter_peek_name(&iterator))
        members.append(JSONMember(key, convert(json_object_iter_peek_value(&iterator))))
        json_object_iter_next(&iterator)
      }
      return .object(members)
    default:
      return .null
    }
  }
}
