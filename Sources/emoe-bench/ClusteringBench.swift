import EMoEConvert
import EMoECore
import EMoENumerics

/// Times balanced k-means on real FFN keys and on a synthetic LLaMA-7B-shaped layer.
///
/// Prints one JSON object per measurement; scripts/bench/clustering.sh runs it beside
/// k-means-constrained. The command line is ``ClusteringCommand``.
///
///     emoe-bench clustering layers MANIFEST [--restarts N] [--model NAME]
///     emoe-bench clustering sweep MANIFEST --restarts 1,3,10,30 [--model NAME]
///     emoe-bench clustering synthetic [--rows 11008] [--cols 4096] [--experts 64]
///                                     [--restarts N] [--structure 0.3] [--write FILE]
///
/// `--no-local-improvement` turns the pairwise-swap pass off; `--write` saves the synthetic
/// keys as raw F32 for the reference.
///
/// MANIFEST is the manifest.json written by `scripts/bench/clustering_keys.py extract`: raw F32
/// key matrices with their shapes and expert counts.
enum ClusteringBench {
  /// Measures LLaMA-7B-shaped random keys, saving them to `write` first when given.
  static func synthetic(
    rows: Int, cols: Int, experts: Int, restarts: Int?, structure: Double, write: String?,
    local: Bool
  ) throws {
    let keys = synthetic(rows: rows, cols: cols, latent: experts, structure: structure)
    if let path = write {
      let writer = try AtomicFileWriter(destination: path)
      try writer.write(contentsOf: keys)
      try writer.commit()
    }
    let entry = Entry(
      model: "synthetic-\(rows)x\(cols)", layer: 0, rows: rows, cols: cols, experts: experts,
      keys: keys)
    try measure(entry, restarts: restarts, local: local)
  }

  struct Entry {
    var model: String
    var layer: Int
    var rows: Int
    var cols: Int
    var experts: Int
    var keys: [Float]
  }

  static func measure(_ entry: Entry, restarts: Int?, local: Bool) throws {
    let clusterer = BalancedKMeans(
      options: BalancedKMeans.Options(
        experts: entry.experts, allowUneven: entry.rows % entry.experts != 0, restarts: restarts,
        localImprovement: local))
    let result = try clusterer.fit(keys: entry.keys, count: entry.rows, dimension: entry.cols)
    let used =
      restarts
      ?? BalancedKMeans.defaultRestarts(
        keys: entry.rows, dimension: entry.cols, experts: entry.experts)
    let json: JSONValue = .object([
      JSONMember("benchmark", .string("clustering")),
      JSONMember("model", .string(entry.model)),
      JSONMember("layer", .integer(Int64(entry.layer))),
      JSONMember("rows", .integer(Int64(entry.rows))),
      JSONMember("cols", .integer(Int64(entry.cols))),
      JSONMember("experts", .integer(Int64(entry.experts))),
      JSONMember("restarts", .integer(Int64(used))),
      JSONMember("sse", .number(result.sse)),
      JSONMember("seconds", .number(result.seconds)),
      JSONMember("iterations", .integer(Int64(result.iterations))),
      JSONMember("total_iterations", .integer(Int64(result.totalIterations))),
      JSONMember("swaps", .integer(Int64(result.swaps))),
      JSONMember("local_improvement", .bool(local)),
      JSONMember("blas_threads", .integer(Int64(BLAS.threadCount))),
    ])
    print(json.serialized())
  }

  /// The entries of a key manifest, with their keys loaded.
  static func manifest(_ path: String, model: String?) throws -> [Entry] {
    let file = try MappedFile(path: path)
    let document = try withExtendedLifetime(file) { try JSONValue.parse(file.bytes) }
    let folder = FileSystem.directory(of: path)
    var entries: [Entry] = []
    for item in document.arrayValue ?? [] {
      guard let name = item["model"]?.stringValue, let layer = item["layer"]?.intValue,
        let keysFile = item["file"]?.stringValue, let rows = item["rows"]?.intValue,
        let cols = item["cols"]?.intValue, let experts = item["experts"]?.intValue
      else { continue }
      if let model, model.lowercased() != name.lowercased() { continue }
      let data = try MappedFile(path: folder + "/" + keysFile)
      guard data.count == rows * cols * 4 else {
        throw BenchError("\(keysFile): \(data.count) bytes, not \(rows) × \(cols) F32 values")
      }
      var keys = [Float](repeating: 0, count: rows * cols)
      withExtendedLifetime(data) { keys.withUnsafeMutableBytes { $0.copyMemory(from: data.bytes) } }
      entries.append(
        Entry(model: name, layer: layer, rows: rows, cols: cols, experts: experts, keys: keys))
    }
    return entries
  }

  /// LLaMA-7B-shaped random keys: `latent` random directions mixed into Gaussian noise with
  /// weight `structure` (0.3 = clear clusters, 0 = isotropic), as in dense-to-moe.md §5.4.
  static func synthetic(rows: Int, cols: Int, latent: Int, structure: Double) -> [Float] {
    var generator = SplitMix64(seed: 7)
    func gaussian() -> Double {
      let u = max(generator.nextUnit(), 1e-300)
      let v = generator.nextUnit()
      return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
    }
    var directions = [Double](repeating: 0, count: latent * cols)
    for index in directions.indices { directions[index] = gaussian() / Double(cols).squareRoot() }
    var keys = [Float](repeating: 0, count: rows * cols)
    let noise = (1 - structure * structure).squareRoot() / Double(cols).squareRoot()
    for row in 0..<rows {
      let label = generator.nextIndex(below: latent)
      for column in 0..<cols {
        keys[row * cols + column] = Float(
          structure * directions[label * cols + column] + noise * gaussian())
      }
    }
    return keys
  }
}
