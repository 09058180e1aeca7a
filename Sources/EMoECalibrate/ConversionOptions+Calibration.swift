import EMoEConvert

extension ConversionOptions {
  /// The options of the conversion calibration starts from: the same layers, experts and
  /// clustering settings, without the calibration itself (which planning refuses until its
  /// groupings exist).
  public var calibrationCandidates: ConversionOptions {
    var options = self
    options.calibration = nil
    options.sharedNeurons = nil
    options.calibrationTokens = nil
    options.maxPerplexityIncrease = nil
    options.minCosine = nil
    if options.clusterOn == .activations { options.clusterOn = .gate }
    // E must divide n - S, not n: the groupings are checked against that when planned.
    if sharedNeurons != nil { options.allowUneven = true }
    return options
  }

  /// The bound the options ask calibration to keep, if any.
  public var calibrationBound: CalibrationBound? {
    if let maxPerplexityIncrease { return .maxPerplexityIncrease(maxPerplexityIncrease) }
    if let minCosine { return .minCosine(minCosine) }
    return nil
  }
}

extension CalibrationRequest {
  /// The request `convert --calibration FILE ...` makes; `nil` without `--calibration`.
  public init?(options: ConversionOptions) {
    guard let text = options.calibration else { return nil }
    self.init(
      text: text, maximumTokens: options.calibrationTokens ?? Self.defaultMaximumTokens,
      sharedNeurons: options.sharedNeurons, clusterOnActivations: options.clusterOn == .activations,
      bound: options.calibrationBound, allowUneven: options.allowUneven)
  }
}
