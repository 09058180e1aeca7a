import EMoECore
import EMoEFormats
import EMoENumerics

extension ExpertFFNWeights {
  /// The EMoE FFN of one converted layer of a `.emoe` container, reading its matrices in place
  /// (mapped, or decompressed once when stored as zstd) in whatever row encoding they were
  /// stored: F32, F16, BF16, int8 rows with their scales, or ggml blocks.
  ///
  /// - Throws: ``RunnerError`` when a required tensor is missing, a vector cannot be read as
  ///   F32, the activation is unknown, or shapes disagree; ``EMoEFormats/ContainerError`` when a
  ///   tensor's bytes cannot be read; ``EMoENumerics/EncodedRowsError`` when a matrix's encoding
  ///   is not supported.
  public init(container: ContainerFile, layer record: ContainerLayerRecord) throws {
    let file = container.path
    guard let activation = Activation(huggingFaceName: record.activation) else {
      throw RunnerError(
        "layer \(record.layer): activation '\(record.activation)' is not supported", file: file)
    }
    func tensor(_ role: ContainerLayerRecord.Role) throws -> Tensor? {
      try container.tensor(role, of: record)
    }
    func required(_ role: ContainerLayerRecord.Role) throws -> Tensor {
      guard let found = try tensor(role) else {
        throw RunnerError("layer \(record.layer) has no \(role.rawValue) tensor", file: file)
      }
      return found
    }
    func matrix(_ role: ContainerLayerRecord.Role) throws -> EncodedRows {
      let stored = try required(role)
      var scales: Tensor?
      if let entry = container.entry(named: stored.name),
        case .int8Rows(let scaleName) = entry.declaration.encoding
      {
        scales = try container.storedTensor(named: scaleName)
      }
      return try EncodedRows(tensor: stored, scales: scales)
    }
    func vector(_ role: ContainerLayerRecord.Role) throws -> [Float]? {
      guard let stored = try tensor(role) else { return nil }
      do {
        return try Dequantizer.floats(of: stored)
      } catch {
        throw RunnerError("cannot be read as F32: \(error)", file: file, tensor: stored.name)
      }
    }
    // The routed experts follow the shared block.
    var boundaries = [record.sharedCount]
    for size in record.expertSizes { boundaries.append(boundaries[boundaries.count - 1] + size) }
    let router: ExpertRouter
    if record.router.storesRouterMatrix {
      let gate = try required(.router)
      router = try ExpertRouter(
        weights: try vector(.router) ?? [], expertCount: record.expertCount,
        hiddenSize: record.hiddenSize, bias: try vector(.routerBias))
      guard gate.shape.dimensions == [record.expertCount, record.hiddenSize] else {
        throw RunnerError(
          "the router is \(gate.shape), expected [\(record.expertCount), \(record.hiddenSize)]",
          file: file, tensor: gate.name)
      }
    } else {
      // The manifest's validation refused a router tensor for this kind.
      router = try ExpertRouter(
        scoring: ExpertScoring(record.router), expertCount: record.expertCount,
        hiddenSize: record.hiddenSize)
    }
    switch record.family {
    case .plain:
      try self.init(
        form: .plain, activation: activation, expertBoundaries: boundaries, gate: nil,
        up: matrix(.w1), downTransposed: matrix(.w2), upBias: vector(.b1),
        downBias: vector(.b2), router: router)
    case .glu:
      try self.init(
        form: .gated, activation: activation, expertBoundaries: boundaries, gate: matrix(.wg),
        up: matrix(.wu), downTransposed: matrix(.wd), gateBias: vector(.bg),
        upBias: vector(.bu), downBias: vector(.bd), router: router)
    }
    guard intermediateSize == record.intermediateSize, hiddenSize == record.hiddenSize else {
      throw RunnerError(
        "layer \(record.layer) stores [\(intermediateSize), \(hiddenSize)] matrices, its record "
          + "says [\(record.intermediateSize), \(record.hiddenSize)]", file: file)
    }
  }
}
