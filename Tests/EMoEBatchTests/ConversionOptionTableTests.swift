import EMoEBatch
import EMoEConvert
import EMoECore
import Testing

/// `ConversionOptions.descriptors` is the one table of conversion options: the batch manifest
/// keys and the recorded JSON names are exactly its entries (EMoEPackCommandsTests checks
/// `convert`'s options).
@Suite("one table of conversion options: batch keys and JSON names")
struct ConversionOptionTableTests {
  @Test("every entry is a batch key, and a non-entry is not")
  func batchKeys() {
    for descriptor in ConversionOptions.descriptors {
      var options = ConversionOptions()
      let value: JSONValue
      switch descriptor.kind {
      case .integer: value = .integer(2)
      case .text: value = .null
      case .choice(let names): value = .string(names[0])
      case .flag, .compression: value = .bool(true)
      }
      #expect(throws: Never.self, "\(descriptor.longName)") {
        try options.set(longName: descriptor.longName, to: value)
      }
    }
    var options = ConversionOptions()
    #expect(throws: LongOptionError.self) { try options.set(longName: "depfile", to: .null) }
  }

  @Test("the recorded JSON names are the table's, in the canonical order")
  func jsonNames() throws {
    let recorded = try #require(ConversionOptions().json.objectValue).map(\.key)
    let table = ConversionOptions.descriptors.compactMap(\.jsonName?.rawValue)
    #expect(Set(recorded) == Set(table))
    #expect(recorded.count == table.count)
    #expect(
      recorded == [
        "experts", "top_k", "layers", "cluster_on", "quantize", "compress", "seed", "restarts",
        "allow_uneven", "gate_bias", "ffn_pattern",
      ])
    // threads is read back but never recorded.
    let parsed = try ConversionOptions(json: .object([JSONMember("threads", .integer(3))]))
    #expect(parsed.threads == 3)
  }
}
