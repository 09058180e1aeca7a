import EMoECore
import EMoEFormats
import EMoENumerics

/// The checks of a converted layer that need only the container: the permutation is a
/// permutation of `0..<n` whose shared block ascends, and the expert sizes are the record's and
/// fit E, n - S and the router.
enum LayoutCheck {
  /// Reads and checks the permutation; returns the check and, when it passed, σ.
  static func permutation(_ container: ContainerFile, _ record: ContainerLayerRecord)
    -> (VerificationCheck, [Int]?)
  {
    let name = "layer \(record.layer) permutation"
    let n = record.intermediateSize
    func fail(_ detail: String) -> (VerificationCheck, [Int]?) {
      (.failed(.permutation, name, layer: record.layer, detail: detail), nil)
    }
    let tensor: Tensor
    do {
      guard let found = try container.tensor(.permutation, of: record) else {
        return fail("the layer stores no permutation")
      }
      tensor = found
    } catch {
      return fail("\(error)")
    }
    guard tensor.shape.dimensions == [n], [.i32, .i64].contains(tensor.dtype) else {
      return fail("is \(tensor.dtype.rawValue) \(tensor.shape); expected I32 or I64 [\(n)]")
    }
    var values = [Int](repeating: 0, count: n)
    tensor.withUnsafeBytes { raw in
      guard raw.count >= n * (tensor.dtype == .i32 ? 4 : 8) else { return }
      for index in 0..<n {
        values[index] =
          tensor.dtype == .i32
          ? Int(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: index * 4, as: Int32.self)))
          : Int(
            truncatingIfNeeded: Int64(
              littleEndian: raw.loadUnaligned(fromByteOffset: index * 8, as: Int64.self)))
      }
    }
    var seenAt = [Int](repeating: -1, count: n)
    for (position, neuron) in values.enumerated() {
      guard (0..<n).contains(neuron) else {
        return fail("position \(position) holds neuron \(neuron), outside 0..<\(n)")
      }
      guard seenAt[neuron] < 0 else {
        return fail(
          "neuron \(neuron) appears at positions \(seenAt[neuron]) and \(position): not a "
            + "permutation")
      }
      seenAt[neuron] = position
    }
    // The shared block's bytes must depend only on its set of neurons (Formats/EMoE.md 9.2).
    let shared = min(max(record.sharedCount, 0), n)
    if shared > 1,
      let position = (1..<shared).first(where: { values[$0 - 1] >= values[$0] })
    {
      return fail(
        "the shared block (positions 0..<\(shared)) is not in ascending original index: "
          + "position \(position) holds neuron \(values[position]) after \(values[position - 1])")
    }
    return (
      .passed(
        .permutation, name, layer: record.layer,
        detail: "a permutation of 0..<\(n) (\(tensor.dtype.rawValue))",
        measures: [JSONMember("n", .integer(Int64(n)))]),
      values
    )
  }

  /// Checks the record's expert sizes against E, n, the gate's rows and the options recorded.
  static func expertSizes(_ container: ContainerFile, _ record: ContainerLayerRecord)
    -> VerificationCheck
  {
    let name = "layer \(record.layer) expert sizes"
    let sizes = record.expertSizes
    let shared = record.sharedCount
    // The routed experts split the neurons after the shared block.
    let n = record.intermediateSize - shared
    let experts = record.expertCount
    let routedText = shared > 0 ? "n - S = \(n) (\(shared) shared)" : "n = \(n)"
    func fail(_ detail: String) -> VerificationCheck {
      .failed(.permutation, name, layer: record.layer, detail: detail)
    }
    guard (0..<record.intermediateSize).contains(shared) else {
      return fail("\(shared) shared neurons are not in 0..<\(record.intermediateSize)")
    }
    guard sizes.count == experts else {
      return fail("\(sizes.count) sizes recorded for \(experts) experts")
    }
    guard sizes.reduce(0, +) == n else {
      return fail("the sizes sum to \(sizes.reduce(0, +)), not \(routedText)")
    }
    let low = n / max(experts, 1)
    let high = (n + experts - 1) / max(experts, 1)
    if let bad = sizes.firstIndex(where: { $0 != low && $0 != high }) {
      return fail("expert \(bad) has \(sizes[bad]) neurons; balanced sizes are \(low) or \(high)")
    }
    if let entry = record.tensors[.router].flatMap(container.entry(named:)),
      entry.shape.dimensions != [experts, record.hiddenSize]
    {
      return fail("the gate is \(entry.shape), expected [\(experts), \(record.hiddenSize)]")
    }
    // A layer grouped by calibration (another method than the key clustering) takes its E
    // from its grouping, not from --experts.
    if record.clustering.method == "balanced_kmeans",
      let requested = container.manifest.options["experts"]?.intValue, requested != experts
    {
      return fail("the options ask for \(requested) experts; the record has \(experts)")
    }
    guard (1...max(experts, 1)).contains(record.topK) else {
      return fail("top-k \(record.topK) is not in 1...\(experts)")
    }
    let summary = low == high ? "\(experts) × \(low)" : "\(experts) of \(low) or \(high)"
    var measures = [
      JSONMember("experts", .integer(Int64(experts))),
      JSONMember("sizes", .array(sizes.map { .integer(Int64($0)) })),
      JSONMember("top_k", .integer(Int64(record.topK))),
    ]
    if shared > 0 { measures.append(JSONMember("shared", .integer(Int64(shared)))) }
    return .passed(
      .permutation, name, layer: record.layer,
      detail: (shared > 0 ? "\(shared) shared + " : "") + summary
        + " neurons, top-k \(record.topK)",
      measures: measures)
  }
}
