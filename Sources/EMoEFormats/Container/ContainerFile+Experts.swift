import EMoECore

extension ContainerFile {
  /// The mapped bytes of expert `expert`'s rows of the tensor playing `role` in `layer`: one
  /// contiguous range, used in place without a copy.
  ///
  /// For an `int8_rows` matrix, ``expertScales(_:of:expert:)`` gives the matching scales.
  /// Returns `nil` when the layer has no such role, the tensor is compressed (decompress it with
  /// ``tensor(_:of:)`` and slice rows instead), or `expert` is out of range.
  public func expertBytes(
    _ role: ContainerLayerRecord.Role, of layer: ContainerLayerRecord, expert: Int
  ) -> UnsafeRawBufferPointer? {
    guard role.isMatrix || role.isNeuronVector || role == .permutation,
      let name = layer.tensors[role], let entry = entry(named: name)
    else { return nil }
    return rows(of: entry, layer: layer, expert: expert)
  }

  /// The mapped F32 scales of expert `expert`'s rows of an `int8_rows` matrix, or `nil` when
  /// the matrix is not int8 rows, its scales are compressed, or `expert` is out of range.
  public func expertScales(
    _ role: ContainerLayerRecord.Role, of layer: ContainerLayerRecord, expert: Int
  ) -> UnsafeRawBufferPointer? {
    guard let name = layer.tensors[role], let matrix = entry(named: name),
      case .int8Rows(let scalesName) = matrix.declaration.encoding,
      let scales = entry(named: scalesName)
    else { return nil }
    return rows(of: scales, layer: layer, expert: expert)
  }

  private func rows(of entry: ContainerTensorEntry, layer: ContainerLayerRecord, expert: Int)
    -> UnsafeRawBufferPointer?
  {
    let n = layer.intermediateSize
    guard !entry.isCompressed, expert >= 0, expert < layer.expertSizes.count,
      entry.shape.rank >= 1, entry.shape[0] == n, n > 0, entry.rawLength % n == 0
    else { return nil }
    let rowBytes = entry.rawLength / n
    let range = layer.expertRange(expert)
    return file.bytes(
      offset: entry.offset + range.lowerBound * rowBytes, count: range.count * rowBytes)
  }
}
