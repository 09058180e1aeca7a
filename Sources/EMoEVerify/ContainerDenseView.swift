import EMoECore
import EMoEFormats
import EMoENumerics
import EMoERunner

/// A `.emoe` container seen as the dense model it was converted from: its passthrough tensors
/// as stored, and every converted layer's FFN tensors put back under their source names and
/// shapes by inverting the permutation (Formats/EMoE.md §9.3).
///
/// Tensors whose values are exact come back in their source type, byte for byte; lossless and
/// lossy ones come back as F32. The whole-model runners load a container through this view,
/// then swap the converted layers' FFNs for ``ExpertFFN``s read from the same container.
public struct ContainerDenseView: ModelSource {
  /// How one source tensor is rebuilt.
  struct Restoration: Sendable {
    var entry: ContainerTensorEntry
    var source: ContainerTensorSource
    var record: ContainerLayerRecord
    var role: ContainerLayerRecord.Role
  }

  /// The container.
  public let container: ContainerFile
  /// Passthrough tensors, then the restored FFN tensors of every converted layer.
  public let tensorInfos: [TensorInfo]
  private let restorations: [String: Restoration]
  private let permutations: [Int: [Int]]

  /// Wraps `container`.
  ///
  /// - Throws: ``VerificationError`` when a layer's permutation cannot be read or is not a
  ///   permutation.
  public init(_ container: ContainerFile) throws(VerificationError) {
    self.container = container
    var infos = container.tensorInfos
    var restorations: [String: Restoration] = [:]
    var permutations: [Int: [Int]] = [:]
    for record in container.layers {
      let (check, permutation) = LayoutCheck.permutation(container, record)
      guard let permutation else {
        throw VerificationError(check.detail, location: ErrorLocation(file: container.path))
      }
      permutations[record.layer] = permutation
      for (role, name) in record.tensors.sorted(by: { $0.key < $1.key }) where role.ffnRole != nil {
        guard let entry = container.entry(named: name), let source = entry.declaration.source
        else { continue }
        let dtype = source.values == .exact ? source.dtype : .f32
        infos.append(
          TensorInfo(
            name: source.name, dtype: dtype, shape: source.shape,
            byteCount: dtype.byteCount(elementCount: source.shape.elementCount ?? 0) ?? 0))
        restorations[source.name] = Restoration(
          entry: entry, source: source, record: record, role: role)
      }
    }
    tensorInfos = infos
    self.restorations = restorations
    self.permutations = permutations
  }

  /// The container's path.
  public var path: String { container.path }
  /// The container file.
  public var files: [String] { container.files }
  /// The source's metadata, as recorded.
  public var metadata: SourceMetadata { container.metadata }
  /// The source's `config.json`, as recorded.
  public var config: JSONValue? { container.config }

  /// A passthrough tensor as stored, or a converted layer's tensor restored to source order.
  public func tensor(named name: String) throws -> Tensor {
    guard let restoration = restorations[name] else {
      return try container.storedTensor(named: name)
    }
    let record = restoration.record
    let permutation = permutations[record.layer] ?? []
    let n = record.intermediateSize
    let d = record.hiddenSize
    let stored = try container.tensor(for: restoration.entry)
    let role = restoration.role
    let source = restoration.source
    let outputShape = source.shape
    let location = ErrorLocation(file: container.path, tensor: restoration.entry.name)
    guard permutation.count == n, outputShape.elementCount == n * d || !role.isMatrix else {
      throw VerificationError("does not hold the [\(n), \(d)] its layer needs", location: location)
    }
    if source.values == .exact {
      guard stored.dtype == source.dtype,
        source.dtype.byteCount(elementCount: outputShape.elementCount ?? -1) == stored.byteCount,
        !(source.transposed && role.isMatrix && stored.dtype.blockSize != 1)
      else {
        throw VerificationError(
          "is recorded as exact \(source.dtype.rawValue) \(outputShape) but stored as "
            + "\(stored.dtype.rawValue) \(stored.shape)", location: location)
      }
      let bytes: [UInt8] = stored.withUnsafeBytes { raw in
        var out = [UInt8](repeating: 0, count: raw.count)
        out.withUnsafeMutableBytes { target in
          if role.isOutputBias || n == 0 {
            target.copyMemory(from: raw)
          } else if source.transposed {
            let width = stored.dtype.blockBytes
            for position in 0..<n {
              let neuron = permutation[position]
              for column in 0..<d {
                (target.baseAddress! + (column * n + neuron) * width).copyMemory(
                  from: raw.baseAddress! + (position * d + column) * width, byteCount: width)
              }
            }
          } else {
            let rowBytes = raw.count / n
            for position in 0..<n {
              (target.baseAddress! + permutation[position] * rowBytes).copyMemory(
                from: raw.baseAddress! + position * rowBytes, byteCount: rowBytes)
            }
          }
        }
        return out
      }
      return Tensor(name: name, dtype: source.dtype, shape: outputShape, storage: .owned(bytes))
    }
    var values: [Float]
    if role.isMatrix {
      var scales: Tensor?
      if case .int8Rows(let scaleName) = restoration.entry.declaration.encoding {
        scales = try container.storedTensor(named: scaleName)
      }
      let rows = try EncodedRows(tensor: stored, scales: scales)
      values = [Float](repeating: 0, count: n * d)
      values.withUnsafeMutableBufferPointer { rows.decode(rows: 0..<n, into: $0.baseAddress!) }
    } else {
      values = try Dequantizer.floats(of: stored)
    }
    let expected = role.isMatrix ? n * d : (role.isNeuronVector ? n : values.count)
    guard values.count == expected, outputShape.elementCount == values.count else {
      throw VerificationError(
        "holds \(values.count) values; its source \(outputShape) needs \(expected)",
        location: location)
    }
    var restored = values
    if role.isMatrix {
      for position in 0..<n {
        let neuron = permutation[position]
        for column in 0..<d {
          let target = source.transposed ? column * n + neuron : neuron * d + column
          restored[target] = values[position * d + column]
        }
      }
    } else if role.isNeuronVector {
      for position in 0..<n { restored[permutation[position]] = values[position] }
    }
    return Tensor(name: name, shape: outputShape, float32: restored)
  }
}
