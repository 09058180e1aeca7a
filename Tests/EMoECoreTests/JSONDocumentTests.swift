import EMoECore
import Testing

@Suite("JSON documents: one strict pass yields values and positions")
struct JSONDocumentTests {
  static let text = Array(
    """
    {
      "jobs": [
        {"input": "a", "top-k": 4},
        {"a.b": {"c": [1, 2]}, "a": 1}
      ],
      "é": "x", "big": 18446744073709551615
    }
    """.utf8)

  @Test("offsets name each member's key quote and each element's first byte")
  func offsets() throws {
    let document = try JSONDocument(parsing: Self.text)
    func at(_ path: String) -> (Int, Int)? {
      document.offset(ofKeyPath: path).map { document.lineAndColumn(of: $0) }.map {
        ($0.line, $0.column)
      }
    }
    #expect(at("")! == (1, 1))
    #expect(at("jobs")! == (2, 3))
    #expect(at("jobs[0]")! == (3, 5))
    #expect(at("jobs[0].top-k")! == (3, 20))
    #expect(at("jobs[1].a.b.c[1]")! == (4, 23))
    #expect(at("jobs[1].a")! == (4, 28))
    // A path that is not in the document falls back to its nearest ancestor.
    #expect(at("jobs[0].missing")! == (3, 5))
    #expect(at("jobs[7].input")! == (2, 3))
    // Columns count characters, not bytes.
    #expect(at("big")! == (6, 13))
    #expect(document.root["big"] == .unsignedInteger(UInt64.max))
    let keyOffset = try #require(document.offset(ofKeyPath: "jobs"))
    #expect(Self.text[keyOffset] == UInt8(ascii: "\""))
  }

  @Test("the root's member offsets come in document order")
  func childOffsets() throws {
    let text = Array(#" {"b": [1, {"x": 2}], "a": null}"#.utf8)
    let document = try JSONDocument(parsing: text)
    #expect(document.rootOffset == 1)
    #expect(document.childOffsets == [2, 22])
  }

  @Test("a root object over the member limit is refused as a limit, at the first member too many")
  func memberLimit() throws {
    let text = Array(#"{"a": 1, "b": {"x": 1, "y": 2, "z": 3}, "c": 3}"#.utf8)
    #expect(throws: Never.self) {
      try text.withUnsafeBytes { try JSONDocument(parsing: $0, maximumRootMembers: 3) }
    }
    #expect {
      try text.withUnsafeBytes { try JSONDocument(parsing: $0, maximumRootMembers: 2) }
    } throws: { error in
      guard let error = error as? JSONParseError else { return false }
      return error.isMemberLimit && error.offset == 40
    }
  }

  @Test("line and column of an offset in text that is not JSON")
  func lineAndColumnOfInvalidText() {
    let text = Array("{\n  \"é\": ,\n}".utf8)
    #expect(JSONDocument.lineAndColumn(in: text, of: 10) == (2, 8))
  }
}
