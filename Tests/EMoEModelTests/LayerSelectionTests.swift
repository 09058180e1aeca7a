import Testing

@testable import EMoEModel

@Suite("--layers and paper defaults")
struct LayerSelectionTests {
  @Test(
    "specs resolve against a 32-layer model",
    arguments: [
      ("all", Array(0..<32)),
      ("10,11", [10, 11]),
      ("4-7", [4, 5, 6, 7]),
      ("from:16/every:2", [16, 18, 20, 22, 24, 26, 28, 30]),
      ("from:24/every:4", [24, 28]),
      ("every:8", [0, 8, 16, 24]),
      ("from:30", [30, 31]),
      ("last:2", [30, 31]),
      ("0, 4-5 ,5,last:1", [0, 4, 5, 31]),
    ])
  func resolves(spec: String, expected: [Int]) throws {
    #expect(try LayerSelection.parse(spec).resolve(layerCount: 32) == expected)
  }

  @Test(
    "bad specs are rejected",
    arguments: ["", "1,,2", "x", "7-4", "every:0", "from:a", "last:0", "1-", "-3", "from:2/by:3"])
  func rejects(spec: String) {
    #expect {
      try LayerSelection.parse(spec)
    } throws: { error in
      guard case .invalidLayerSpec(let given, _)? = error as? ModelError else { return false }
      return given == spec
    }
  }

  @Test("layers past the end are errors", arguments: ["12", "10-12", "from:12", "last:13"])
  func outOfRange(spec: String) throws {
    #expect(throws: ModelError.self) { try LayerSelection.parse(spec).resolve(layerCount: 12) }
  }

  @Test(
    "an item past the end is named as given, with the model's layer count",
    arguments: [
      ("last:9", ["--layers last:9 asks for the last 9 layers", "has 4 layers (0...3)"]),
      ("1,7", ["--layers 7: layer 7 does not exist", "has 4 layers"]),
      ("2-5", ["--layers 2-5 reaches layer 5", "has 4 layers"]),
      ("from:6/every:2", ["--layers from:6/every:2 starts at layer 6", "has 4 layers"]),
    ])
  func outOfRangeMessage(spec: String, phrases: [String]) throws {
    #expect {
      try LayerSelection.parse(spec).resolve(layerCount: 4)
    } throws: { error in
      guard case .selectionOutOfRange? = error as? ModelError else { return false }
      let message = "\(error)"
      return phrases.allSatisfy(message.contains) && !message.contains("layer -")
    }
  }

  @Test("descriptions round-trip")
  func roundTrip() throws {
    let selection = try LayerSelection.parse("0,4-7,last:2,from:16/every:2,from:3")
    #expect(selection.description == "0,4-7,last:2,from:16/every:2,from:3")
    #expect(try LayerSelection.parse(selection.description) == selection)
  }

  @Test("paper defaults for the fixtures: E divides n, top-k = E/4")
  func fixtureDefaults() throws {
    let bert = ConversionDefaults.paper(
      for: try Architecture.detect(ModelFixtures.open("bert-tiny")))
    #expect(bert.experts == 16 && bert.topK == 4 && !bert.unevenRequired)
    #expect(try bert.layers.resolve(layerCount: 2) == [0, 1])
    let gpt2 = ConversionDefaults.paper(
      for: try Architecture.detect(ModelFixtures.open("gpt2-tiny")))
    #expect(gpt2.experts == 16 && gpt2.topK == 4)
    let llama = ConversionDefaults.paper(
      for: try Architecture.detect(ModelFixtures.open("llama-tiny")))
    #expect(llama.experts == 64 && llama.topK == 16)
    #expect(try llama.layers.resolve(layerCount: 4) == [2])
  }

  @Test("the expert count halves until it divides n")
  func expertLadder() {
    #expect(ConversionDefaults.expertCount(preferred: 16, neurons: 3072) == (16, false))
    #expect(ConversionDefaults.expertCount(preferred: 16, neurons: 72) == (8, false))
    #expect(ConversionDefaults.expertCount(preferred: 64, neurons: 11008) == (64, false))
    #expect(ConversionDefaults.expertCount(preferred: 64, neurons: 1000) == (8, false))
    #expect(ConversionDefaults.expertCount(preferred: 16, neurons: 12) == (4, false))
    #expect(ConversionDefaults.expertCount(preferred: 16, neurons: 101) == (16, true))
  }
}
