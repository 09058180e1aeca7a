import EMoECore
import EMoEFormats
import EMoENumerics
import EMoERunner
import EMoETestSupport
import Testing

/// The EMoE FFN read from a `.emoe` container written by ``EMoEFormats/ContainerWriter``: the
/// same numbers as the in-memory layout with the same row encodings, whatever the storage
/// (mapped, zstd-compressed, int8 rows with scales, Q8_0).
@Suite("EMoE FFN from a .emoe container")
struct ContainerRunnerTests {
  @Test("a GLU layer stored as Q8_0, F32 (zstd) and int8 rows runs like the in-memory layout")
  func gluLayer() throws {
    let source = try SafeTensorsCheckpoint(path: TestPaths.fixtures + "/models/llama-tiny")
    let dense = try LlamaDecoder(source: source).feedForward(layer: 1)
    let split = EMoEModelTests.partition(neurons: dense.intermediateSize, experts: 8)
    let reference = try ExpertFFNWeights(
      permuting: dense, permutation: split.permutation, expertBoundaries: split.boundaries)
    // The same matrices in the encodings the container will hold.
    let wg = try reencode(reference.gate!, as: .q8_0)
    let wu = reference.up
    let wd = try reencode(reference.downTransposed, as: .int8)
    let expected = try ExpertFFNWeights(
      form: .gated, activation: .silu, expertBoundaries: split.boundaries, gate: wg, up: wu,
      downTransposed: wd, router: reference.router)

    let n = dense.intermediateSize
    let d = dense.hiddenSize
    let prefix = "emoe.layers.1."
    func bytes(_ storage: TensorStorage) -> [UInt8] { storage.withUnsafeBytes { Array($0) } }
    let payloads: [(ContainerTensorDeclaration, [UInt8])] = [
      (
        ContainerTensorDeclaration(name: prefix + "permutation", dtype: .i64, shape: [n]),
        split.permutation.map(Int64.init).withUnsafeBytes { Array($0) }
      ),
      (
        ContainerTensorDeclaration(name: prefix + "gate", dtype: .f32, shape: [8, d]),
        reference.router.weights.withUnsafeBytes { Array($0) }
      ),
      (
        ContainerTensorDeclaration(name: prefix + "wg", dtype: .q8_0, shape: [n, d]), bytes(wg.data)
      ),
      (
        ContainerTensorDeclaration(
          name: prefix + "wu", dtype: .f32, shape: [n, d], compression: .zstd(level: 3)),
        bytes(wu.data)
      ),
      (
        ContainerTensorDeclaration(
          name: prefix + "wd", dtype: .i8, shape: [n, d],
          encoding: .int8Rows(scales: prefix + "wd.scale")),
        bytes(wd.data)
      ),
      (
        ContainerTensorDeclaration(name: prefix + "wd.scale", dtype: .f32, shape: [n]),
        bytes(wd.scales!)
      ),
    ]
    let record = ContainerLayerRecord(
      layer: 1, family: .glu, activation: "silu", transposedSource: false, hiddenSize: d,
      intermediateSize: n, expertCount: 8, expertSizes: [Int](repeating: n / 8, count: 8),
      topK: 2,
      clustering: .init(
        method: "test", keys: .gate, seed: 0, restarts: 1, iterations: 0, sse: 0),
      tensors: [
        .permutation: prefix + "permutation", .router: prefix + "gate", .wg: prefix + "wg",
        .wu: prefix + "wu", .wd: prefix + "wd",
      ])
    let plan = ContainerPlan(
      tool: ContainerTool(name: "emoe-pack", version: "test"), options: .object([]),
      source: ContainerSourceDescription(
        format: "safetensors", files: [], metadata: .none, config: nil),
      layers: [record], tensors: payloads.map(\.0))
    let directory = try TemporaryDirectory()
    let path = directory.file("tiny.emoe")
    let writer = try ContainerWriter(path: path, plan: plan)
    for (declaration, data) in payloads {
      try data.withUnsafeBytes { try writer.append(declaration.name, bytes: $0) }
    }
    _ = try writer.commit()

    let container = try ContainerFile(path: path)
    let stored = try #require(container.layers.first)
    let loaded = try ExpertFFNWeights(container: container, layer: stored)
    #expect(loaded.gate?.encoding == .q8_0 && loaded.up.encoding == .f32)
    #expect(loaded.downTransposed.encoding == .int8 && loaded.expertBoundaries == split.boundaries)
    var random = ExpertFFNTests.SplitMix(state: 17)
    let x = random.values(12 * d, scale: 1)
    for path in ExpertFFN.Path.allCases {
      let fromFile = try ExpertFFN(weights: loaded, topK: 2, path: path).forward(x, tokens: 12)
      let inMemory = try ExpertFFN(weights: expected, topK: 2, path: path).forward(x, tokens: 12)
      #expect(fromFile.map(\.bitPattern) == inMemory.map(\.bitPattern), "\(path)")
    }
  }

  private func reencode(_ rows: EncodedRows, as encoding: EncodedRows.Encoding) throws
    -> EncodedRows
  {
    var values = [Float](repeating: 0, count: rows.rows * rows.columns)
    values.withUnsafeMutableBufferPointer {
      rows.decode(rows: 0..<rows.rows, into: $0.baseAddress!)
    }
    return try values.withUnsafeBufferPointer {
      try EncodedRows.encode($0, rows: rows.rows, columns: rows.columns, as: encoding)
    }
  }
}
