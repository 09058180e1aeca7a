import EMoECore
import EMoEFormats

extension Architecture {
  /// The FFN of `layer`, after checking that every required tensor is present with a shape
  /// that agrees with the layer's key matrix and a type that can be read.
  ///
  /// - Throws: ``ModelError/missingTensor(layer:role:location:)``,
  ///   ``ModelError/shapeMismatch(layer:role:expected:found:location:)``,
  ///   ``ModelError/unsupportedDType(dtype:location:)``, or
  ///   ``ModelError/layerOutOfRange(layer:layerCount:)``.
  public func layer(_ index: Int, in source: any ModelSource) throws(ModelError) -> LayerFFN {
    guard index >= 0, index < layerCount else {
      throw .layerOutOfRange(layer: index, layerCount: layerCount)
    }
    var infos: [String: TensorInfo] = [:]
    for info in source.tensorInfos { infos[info.name] = info }
    return try layer(index, in: source, infos: infos)
  }

  /// The FFNs of `layers`, each checked as by ``layer(_:in:)``.
  public func layers(_ indices: [Int], in source: any ModelSource) throws(ModelError)
    -> [LayerFFN]
  {
    var infos: [String: TensorInfo] = [:]
    for info in source.tensorInfos { infos[info.name] = info }
    var result: [LayerFFN] = []
    for index in indices {
      guard index >= 0, index < layerCount else {
        throw .layerOutOfRange(layer: index, layerCount: layerCount)
      }
      result.append(try layer(index, in: source, infos: infos))
    }
    return result
  }

  private func layer(_ index: Int, in source: any ModelSource, infos: [String: TensorInfo])
    throws(ModelError) -> LayerFFN
  {
    let keyRole = pattern.keyRole
    func location(_ name: String) -> ErrorLocation {
      ErrorLocation(file: source.path, tensor: name)
    }
    var found: [LayerFFN.Member] = []
    for role in pattern.roles {
      guard let name = tensorName(role, layer: index) else { continue }
      guard let info = infos[name] else {
        if pattern.optionalRoles.contains(role) { continue }
        throw .missingTensor(layer: index, role: role, location: location(name))
      }
      guard info.dtype.isFloatingPoint || info.dtype.isQuantized else {
        throw .unsupportedDType(dtype: info.dtype, location: location(name))
      }
      found.append(LayerFFN.Member(role: role, info: info))
    }
    guard let key = found.first(where: { $0.role == keyRole }) else {
      throw .missingTensor(
        layer: index, role: keyRole, location: location(tensorName(keyRole, layer: index) ?? ""))
    }
    guard key.info.shape.rank == 2, key.info.shape[0] > 0, key.info.shape[1] > 0 else {
      throw .notAMatrix(
        layer: index, role: keyRole, found: key.info.shape, location: location(key.info.name))
    }
    let (n, d) =
      pattern.transposed
      ? (key.info.shape[1], key.info.shape[0]) : (key.info.shape[0], key.info.shape[1])
    let ffn = LayerFFN(
      layer: index, isGLU: pattern.isGLU, activation: activation, transposed: pattern.transposed,
      hiddenSize: d, intermediateSize: n, members: found, source: source)
    for member in found {
      let expected = ffn.storedShape(member.role)
      guard member.info.shape == expected else {
        throw .shapeMismatch(
          layer: index, role: member.role, expected: expected, found: member.info.shape,
          location: location(member.info.name))
      }
    }
    return ffn
  }
}
