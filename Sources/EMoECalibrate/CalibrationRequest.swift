import EMoEConvert

/// What `convert --calibration` asks of calibration, beside the conversion plan itself.
public struct CalibrationRequest: Sendable {
  /// The calibration text: a UTF-8 file, or a `.safetensors` file of `input_ids`.
  public var text: String
  /// A `tokenizer.json` or GGUF whose tokenizer to use, or `nil` for the model's own.
  public var tokenizer: String?
  /// The most tokens of the text to use.
  public var maximumTokens: Int
  /// The longest window a decoder runs at once; longer texts slide by half a window.
  public var window: Int
  /// The always-active shared neurons per layer, or `nil` for none.
  public var sharedNeurons: SharedNeurons?
  /// Whether to cluster neurons by their activation patterns instead of by key direction.
  public var clusterOnActivations: Bool
  /// The quality to keep while choosing layers and top-k, or `nil` to convert the planned
  /// layers at the planned top-k.
  public var bound: CalibrationBound?
  /// Whether expert sizes may differ by one (`--allow-uneven`).
  public var allowUneven: Bool

  /// The default number of calibration tokens.
  public static let defaultMaximumTokens = 512

  /// A request; see each property.
  public init(
    text: String, tokenizer: String? = nil, maximumTokens: Int = defaultMaximumTokens,
    window: Int = 512, sharedNeurons: SharedNeurons? = nil,
    clusterOnActivations: Bool = false, bound: CalibrationBound? = nil, allowUneven: Bool = false
  ) {
    self.text = text
    self.tokenizer = tokenizer
    self.maximumTokens = maximumTokens
    self.window = window
    self.sharedNeurons = sharedNeurons
    self.clusterOnActivations = clusterOnActivations
    self.bound = bound
    self.allowUneven = allowUneven
  }

  /// Whether the per-neuron activations are needed (shared neurons or activation clusters).
  var needsActivations: Bool {
    clusterOnActivations || (sharedNeurons.map { $0.count(neurons: 1 << 20) } ?? 0) > 0
  }

  /// The shared-block size for a layer of `n` neurons and `experts` routed experts: the
  /// requested count, rounded up so that the rest splits into equal experts unless uneven
  /// sizes are allowed, and never more than leaves one neuron per expert.
  func sharedCount(neurons n: Int, experts: Int, allowUneven: Bool) -> Int {
    var count = sharedNeurons?.count(neurons: n) ?? 0
    count = min(max(0, count), max(0, n - experts))
    if !allowUneven, experts > 0 {
      let routed = (n - count) / experts * experts
      count = n - routed
    }
    return count
  }
}
