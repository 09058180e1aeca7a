/// Finds the first key repeated inside one JSON object.
///
/// json-c keeps the last of two equal keys silently, and the safetensors reference does the
/// same, which lets two parsers read one header differently. This scanner walks text that json-c
/// has already accepted and compares decoded keys, so `"a"` and `"\u0061"` count as equal.
enum JSONDuplicateKeyScanner {
  private enum Container {
    case object(keys: Set<String>, expectingKey: Bool)
    case array
  }

  /// Throws a ``JSONParseError`` naming the first duplicate key and its offset.
  static func check(_ text: UnsafeRawBufferPointer) throws(JSONParseError) {
    var stack: [Container] = []
    var index = 0
    while index < text.count {
      let byte = text[index]
      switch byte {
      case UInt8(ascii: "{"):
        stack.append(.object(keys: [], expectingKey: true))
      case UInt8(ascii: "["):
        stack.append(.array)
      case UInt8(ascii: "}"), UInt8(ascii: "]"):
        _ = stack.popLast()
      case UInt8(ascii: ","):
        if case .object(let keys, _) = stack.last {
          stack[stack.count - 1] = .object(keys: keys, expectingKey: true)
        }
      case UInt8(ascii: "\""):
        let start = index
        let (value, next) = decodeString(text, from: index)
        index = next
        if case .object(var keys, true) = stack.last {
          guard keys.insert(value).inserted else {
            throw JSONParseError(reason: "duplicate key", offset: start, duplicateKey: value)
          }
          stack[stack.count - 1] = .object(keys: keys, expectingKey: false)
        }
        continue
      default:
        break
      }
      index += 1
    }
  }

  /// Decodes the string starting at the quote at `start`; returns it and the index after it.
  private static func decodeString(_ text: UnsafeRawBufferPointer, from start: Int) -> (String, Int)
  {
    var scalars = String.UnicodeScalarView()
    var bytes: [UInt8] = []
    var index = start + 1
    func flushBytes() {
      scalars.append(contentsOf: String(decoding: bytes, as: UTF8.self).unicodeScalars)
      bytes.removeAll()
    }
    while index < text.count, text[index] != UInt8(ascii: "\"") {
      if text[index] == UInt8(ascii: "\\"), index + 1 < text.count {
        let escape = text[index + 1]
        index += 2
        if escape == UInt8(ascii: "u") {
          flushBytes()
          var code = hex4(text, index)
          index += 4
          if (0xD800..<0xDC00).contains(code), index + 5 < text.count,
            text[index] == UInt8(ascii: "\\"), text[index + 1] == UInt8(ascii: "u")
          {
            let low = hex4(text, index + 2)
            if (0xDC00..<0xE000).contains(low) {
              code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
              index += 6
            }
          }
          scalars.append(Unicode.Scalar(code) ?? "\u{FFFD}")
        } else {
          let mapped: UInt8 =
            switch escape {
            case UInt8(ascii: "n"): 0x0A
            case UInt8(ascii: "t"): 0x09
            case UInt8(ascii: "r"): 0x0D
            case UInt8(ascii: "b"): 0x08
            case UInt8(ascii: "f"): 0x0C
            default: escape
            }
          bytes.append(mapped)
        }
      } else {
        bytes.append(text[index])
        index += 1
      }
    }
    flushBytes()
    return (String(scalars), index + 1)
  }

  private static func hex4(_ text: UnsafeRawBufferPointer, _ index: Int) -> UInt32 {
    var value: UInt32 = 0
    for offset in 0..<4 where index + offset < text.count {
      let byte = text[index + offset]
      let digit: UInt32 =
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
        default: 0
        }
      value = value << 4 | digit
    }
    return value
  }
}
