import EMoEConvert
import EMoECore
import EMoEFormats
import Testing

@testable import EMoEBatch

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
    // `router` is recorded only when it is not the default, so that containers converted
    // before it existed stay up to date.
    let recorded = try #require(ConversionOptions(router: .up).json.objectValue).map(\.key)
    let table = ConversionOptions.descriptors.compactMap(\.jsonName?.rawValue)
    #expect(Set(recorded) == Set(table))
    #expect(recorded.count == table.count)
    #expect(
      recorded == [
        "experts", "top_k", "layers", "cluster_on", "quantize", "compress", "seed", "restarts",
        "allow_uneven", "router_bias", "ffn_pattern", "shared_neurons", "calibration",
        "calibration_tokens", "max_ppl_increase", "min_cosine", "router",
      ])
    let defaults = try #require(ConversionOptions().json.objectValue).map(\.key)
    #expect(defaults == recorded.filter { $0 != "router" })
    // threads is read back but never recorded.
    let parsed = try ConversionOptions(json: .object([JSONMember("threads", .integer(3))]))
    #expect(parsed.threads == 3)
  }
}

/// The router is called the router: `router-bias`, with the old `gate-bias` still read.
@Suite("router-bias and its old spelling gate-bias")
struct RouterBiasSpellingTests {
  @Test("a batch manifest takes router-bias, and the old gate-bias key still works")
  func batchKeys() throws {
    let workspace = try BatchWorkspace(models: ["bert-tiny"])
    for key in ["router-bias", "gate-bias"] {
      let manifest = try BatchManifest(
        text: Array(
          """
          {"defaults": {"\(key)": true},
           "jobs": [{"input": "bert-tiny/model.safetensors", "output": "a.emoe"}]}
          """.utf8), path: workspace.file("batch.json"))
      #expect(manifest.jobs[0].options.routerBias, "\(key)")
      #expect(manifest.jobs[0].optionKeys["router-bias"] == "defaults.\(key)")
    }
    var options = ConversionOptions()
    #expect(throws: LongOptionError.self) {
      try options.set(longName: "gate-bais", to: .bool(true))
    }
  }

  @Test("a container recording gate_bias is not stale for the rename alone")
  func freshnessReadsOldName() throws {
    var old = try #require(ConversionOptions(routerBias: true).json.objectValue)
    let index = try #require(old.firstIndex { $0.key == "router_bias" })
    old[index].key = "gate_bias"
    let recorded = try ConversionOptions(json: .object(old)).json
    #expect(
      JobFreshness.optionChange(
        recorded: recorded, wanted: ConversionOptions(routerBias: true).json) == nil)
  }
}
