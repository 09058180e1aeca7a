import EMoECore
import Testing

@Suite("JSON over json-c")
struct JSONValueTests {
  @Test("parses every value type and keeps member order")
  func parsesValues() throws {
    let value = try JSONValue.parse(
      #"{"b": [1, -2, 3.5, true, false, null], "a": {"s": "x\u00e9\n"}, "big": 18446744073709551614}"#
    )
    guard case .object(let members) = value else {
      Issue.record("not an object")
      return
    }
    #expect(members.map(\.key) == ["b", "a", "big"])
    #expect(
      value["b"]
        == .array([.integer(1), .integer(-2), .number(3.5), .bool(true), .bool(false), .null]))
    #expect(value["a"]?["s"]?.stringValue == "xé\n")
    #expect(value["big"] == .unsignedInteger(18_446_744_073_709_551_614))
  }

  @Test(
    "rejects invalid JSON with the byte offset",
    arguments: [
      ("{", 1), ("{\"a\": 1,}", 8), ("[1, 2] x", 7), ("{'a': 1}", 1), ("", 0), ("[NaN]", 1),
      ("[1.]", 3), ("[\"a\tb\"]", 3), ("[\"\\ud800\"]", 2), ("[1e400]", 1),
      ("[18446744073709551616]", 1), ("[-9223372036854775809]", 1), ("{\"a\\u0000b\": 1}", 1),
      ("[Infinity]", 1),
    ])
  func rejectsInvalid(text: String, offset: Int) {
    #expect {
      try JSONValue.parse(text)
    } throws: { error in
      guard let error = error as? JSONParseError else { return false }
      return error.duplicateKey == nil && error.offset <= max(offset, 1) + 1
    }
  }

  @Test("rejects duplicate keys by name, also when escaped differently")
  func rejectsDuplicates() {
    for text in [#"{"a": 1, "a": 2}"#, #"{"x": {"k": 1, "\u006b": 2}}"#] {
      #expect {
        try JSONValue.parse(text)
      } throws: { error in
        (error as? JSONParseError)?.duplicateKey != nil
      }
    }
    #expect(throws: Never.self) {
      try JSONValue.parse(#"{"a": {"a": 1}, "b": [{"a": 1}, {"a": 2}]}"#)
    }
  }

  @Test("rejects invalid UTF-8")
  func rejectsBadUTF8() {
    let bytes: [UInt8] = [0x22, 0xFF, 0x22]
    #expect(throws: JSONParseError.self) {
      try bytes.withUnsafeBytes { try JSONValue.parse($0) }
    }
  }

  @Test("serialisation is compact, deterministic and parses back to the same value")
  func roundTrip() throws {
    let value = JSONValue.object([
      JSONMember("name", .string("a\"b\\c\u{1}")), JSONMember("n", .integer(-5)),
      JSONMember("x", .number(0.1)), JSONMember("list", .array([.bool(true), .null])),
    ])
    let text = value.serialized()
    #expect(text == #"{"name":"a\"b\\c\u0001","n":-5,"x":0.1,"list":[true,null]}"#)
    #expect(try JSONValue.parse(text) == value)
    #expect(try JSONValue.parse(value.prettySerialized()) == value)
  }
}
