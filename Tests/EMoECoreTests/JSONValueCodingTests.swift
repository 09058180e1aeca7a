import EMoECore
import Testing

@Suite("Codable over JSONValue: order-preserving encoder and decoder")
struct JSONValueCodingTests {
  struct Inner: Codable, Equatable {
    var z: Int
    var a: [UInt8]
  }

  struct Record: Codable, Equatable {
    var name: String
    var count: Int?
    var ratio: Double
    var big: UInt64
    var flag: Bool
    var inner: Inner
    var extra: JSONValue
    var small: Int32

    enum CodingKeys: String, CodingKey {
      case name, count, ratio, big, flag, inner, extra, small
    }

    func encode(to encoder: any Encoder) throws {
      var container = encoder.container(keyedBy: CodingKeys.self)
      try container.encode(name, forKey: .name)
      try container.encode(count, forKey: .count)
      try container.encode(ratio, forKey: .ratio)
      try container.encode(big, forKey: .big)
      try container.encode(flag, forKey: .flag)
      try container.encode(inner, forKey: .inner)
      try container.encode(extra, forKey: .extra)
      try container.encode(small, forKey: .small)
    }
  }

  @Test("members come out in encoding order, nil as null, and decode back")
  func roundTrip() throws {
    let record = Record(
      name: "x", count: nil, ratio: 0.5, big: UInt64.max, flag: true,
      inner: Inner(z: -3, a: [1, 255]), extra: .object([JSONMember("k", .array([.null]))]),
      small: -7)
    let json = try JSONValueEncoder().encode(record)
    #expect(
      json.serialized()
        == #"{"name":"x","count":null,"ratio":0.5,"big":18446744073709551615,"flag":true,"inner":{"z":-3,"a":[1,255]},"extra":{"k":[null]},"small":-7}"#
    )
    #expect(try JSONValueDecoder().decode(Record.self, from: json) == record)
  }

  @Test("decoding errors carry the coding path and a 'must be' reason")
  func errors() throws {
    let json = try JSONValue.parse(
      #"{"name":"x","count":1,"ratio":1,"big":1,"flag":true,"inner":{"z":1,"a":[1,"2"]},"extra":0,"small":1}"#
    )
    do {
      _ = try JSONValueDecoder().decode(Record.self, from: json)
      Issue.record("decoded")
    } catch DecodingError.typeMismatch(_, let context) {
      #expect(JSONValueDecoder.keyPath(context.codingPath) == "inner.a[1]")
      #expect(context.debugDescription == "must be an integer")
    }
    let missing = try JSONValue.parse(#"{"z": 1}"#)
    do {
      _ = try JSONValueDecoder().decode(Inner.self, from: missing)
      Issue.record("decoded")
    } catch DecodingError.keyNotFound(let key, _) {
      #expect(key.stringValue == "a")
    }
  }

  @Test("a whole number decodes as an integer unless switched off; a fraction never does")
  func integralNumbers() throws {
    let json = try JSONValue.parse(#"{"z": 2.0, "a": []}"#)
    #expect(try JSONValueDecoder().decode(Inner.self, from: json).z == 2)
    var strict = JSONValueDecoder()
    strict.acceptsIntegralNumbers = false
    #expect(throws: DecodingError.self) { try strict.decode(Inner.self, from: json) }
    let fraction = try JSONValue.parse(#"{"z": 2.5, "a": []}"#)
    #expect(throws: DecodingError.self) {
      try JSONValueDecoder().decode(Inner.self, from: fraction)
    }
  }
}
