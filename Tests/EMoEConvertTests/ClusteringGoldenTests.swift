import EMoECore
import EMoEFormats
import EMoEModel
import EMoETestSupport
import Testing

@testable import EMoEConvert

@Suite("Clustering quality against k-means-constrained")
struct ClusteringGoldenTests {
  /// One key set of Fixtures/clustering_golden/golden.json with its keys loaded.
  struct GoldenSet: Sendable, CustomStringConvertible {
    var name: String
    var rows: Int
    var cols: Int
    var experts: Int
    var referenceSSE: Double
    var keys: [Float]
    var description: String { name }
  }

  /// The JSON document in a file.
  static func parseJSON(atPath path: String) throws -> JSONValue {
    let file = try MappedFile(path: path)
    return try withExtendedLifetime(file) { try JSONValue.parse(file.bytes) }
  }

  static func goldenSets() throws -> [GoldenSet] {
    let folder = TestPaths.fixtures + "/clustering_golden"
    let document = try Self.parseJSON(atPath: folder + "/golden.json")
    var sets: [GoldenSet] = []
    for entry in document["sets"]?.arrayValue ?? [] {
      let source = try #require(entry["source"])
      let rows = try #require(entry["rows"]?.intValue)
      let cols = try #require(entry["cols"]?.intValue)
      let keys: [Float]
      let name: String
      if let file = source["file"]?.stringValue {
        keys = try ClusteringTestData.floats(atPath: folder + "/" + file)
        name = file
      } else {
        let model = try #require(source["model"]?.stringValue)
        let layer = try #require(source["layer"]?.intValue)
        let tensor = try #require(source["tensor"]?.stringValue)
        let checkpoint = try SafeTensorsCheckpoint(path: TestPaths.fixtures + "/models/" + model)
        let ffn = try Architecture.detect(checkpoint).layer(layer, in: checkpoint)
        keys = try ffn.keys(tensor.contains("up_proj") ? .up : .gate)
        name = "\(model) \(tensor)"
      }
      try #require(keys.count == rows * cols)
      sets.append(
        GoldenSet(
          name: name + " E=\(entry["experts"]?.intValue ?? 0)", rows: rows, cols: cols,
          experts: try #require(entry["experts"]?.intValue),
          referenceSSE: try #require(entry["reference_sse"]?.doubleValue), keys: keys))
    }
    return sets
  }

  @Test("default options reach the reference SSE within 0.2 % on every golden key set")
  func golden() throws {
    let sets = try Self.goldenSets()
    #expect(sets.count == 11)
    for set in sets {
      let result = try BalancedKMeans(
        options: .init(experts: set.experts, allowUneven: set.rows % set.experts != 0)
      ).fit(keys: set.keys, count: set.rows, dimension: set.cols)
      #expect(
        result.sse <= set.referenceSSE * 1.002,
        "\(set.name): SSE \(result.sse) vs reference \(set.referenceSSE)")
    }
  }

  @Test(
    "on MiniLM the mean SSE is no worse than the reference and no layer is 0.2 % worse",
    .enabled(if: Oracles.miniLM))
  func miniLM() throws {
    let path = try #require(try TestPaths.miniLM())
    let reference = try Self.parseJSON(
      atPath: TestPaths.fixtures + "/clustering_reference/minilm.json")
    let checkpoint = try SafeTensorsCheckpoint(path: path)
    let architecture = try Architecture.detect(checkpoint)
    var ours: [Double] = []
    var theirs: [Double] = []
    for entry in reference["layers"]?.arrayValue ?? [] {
      let layer = try #require(entry["layer"]?.intValue)
      let referenceSSE = try #require(entry["reference_sse"]?.doubleValue)
      let keys = try architecture.layer(layer, in: checkpoint).keys()
      let result = try BalancedKMeans(options: .init(experts: 16))
        .fit(keys: keys, count: 1536, dimension: 384)
      #expect(result.sizes == [Int](repeating: 96, count: 16))
      #expect(
        result.sse <= referenceSSE * 1.002,
        "layer \(layer): SSE \(result.sse) vs reference \(referenceSSE)")
      ours.append(result.sse)
      theirs.append(referenceSSE)
    }
    #expect(ours.count == 6)
    #expect(ours.reduce(0, +) <= theirs.reduce(0, +))
  }
}
