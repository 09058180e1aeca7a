import EMoECore

/// Everything a ``ContainerWriter`` must know before it writes data: the provenance, the layer
/// records and every tensor in the order it will be appended.
///
/// Values measured while the data is produced (each layer's clustering iterations, SSE and
/// expert sizes) can be set later with ``ContainerWriter/setClusteringResult(layer:iterations:sse:expertSizes:)``;
/// the writer reserves room for their widest form.
public struct ContainerPlan: Sendable, Equatable {
  /// The tool writing the file.
  public var tool: ContainerTool
  /// The exact options of the conversion, a JSON object recorded as given.
  public var options: JSONValue
  /// What calibration chose and measured, recorded as the manifest's `calibration`.
  public var calibration: JSONValue?
  /// The source model's files, format, metadata and config.
  public var source: ContainerSourceDescription
  /// The converted layers.
  public var layers: [ContainerLayerRecord]
  /// Every tensor, in the order it will be appended (which is its order in the file).
  public var tensors: [ContainerTensorDeclaration]

  /// Creates a plan.
  public init(
    tool: ContainerTool, options: JSONValue, source: ContainerSourceDescription,
    layers: [ContainerLayerRecord], tensors: [ContainerTensorDeclaration],
    calibration: JSONValue? = nil
  ) {
    self.tool = tool
    self.options = options
    self.calibration = calibration
    self.source = source
    self.layers = layers
    self.tensors = tensors
  }

  /// The features the declared tensors use, in the fixed order of
  /// ``ContainerFormat/Feature``.
  public var requiredFeatures: [String] {
    var used: Set<ContainerFormat.Feature> = []
    for tensor in tensors {
      if tensor.compression != .none { used.insert(.zstd) }
      if case .int8Rows = tensor.encoding { used.insert(.int8Rows) }
    }
    return ContainerFormat.Feature.allCases.filter(used.contains).map(\.rawValue)
  }
}
