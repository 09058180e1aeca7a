/// What `emoe-pack evaluate` measures: a container on a text, at some top-k values.
public struct QualityRequest: Sendable {
  /// The `.emoe` container.
  public var model: String
  /// A UTF-8 text file to tokenise with the model's own tokenizer.
  public var text: String?
  /// A safetensors file with `input_ids`, instead of a text.
  public var tokens: String?
  /// The dense source checkpoint: its figures are the dense baseline (otherwise the
  /// container's own dense form), and its tokenizer is used when the container has none.
  public var source: String?
  /// A `tokenizer.json` or GGUF whose tokenizer to use.
  public var tokenizer: String?
  /// The top-k values to measure, each applied to every converted layer (capped at its E);
  /// `nil` for E, 3E/4, E/2 and E/4.
  public var topK: [Int]?
  /// The most tokens read from the text.
  public var maximumTokens: Int
  /// The longest window a decoder runs at once; longer texts slide by half a window.
  public var window: Int
  /// Whether each converted layer is also measured alone at each top-k below its E, the others
  /// dense: which layers tolerate sparsity.
  public var perLayer: Bool
  /// When set, every setting is also measured with the neurons of each converted layer
  /// assigned to experts at random (seeded with this value and the layer), same expert sizes
  /// and router rule: the baseline that shows what clustering is worth.
  public var randomBaselineSeed: UInt64?
  /// The routers to measure, each at every setting; `nil` for the container's recorded one.
  public var routers: [EvaluationRouter]?
  /// The seed of the SplitMix64 that picks the masked positions of the masked-LM loss
  /// (encoders with a masked-LM head).
  public var maskSeed: UInt64

  /// A request; see each property.
  public init(
    model: String, text: String? = nil, tokens: String? = nil, source: String? = nil,
    tokenizer: String? = nil, topK: [Int]? = nil, maximumTokens: Int = 1024, window: Int = 512,
    perLayer: Bool = false, randomBaselineSeed: UInt64? = nil,
    routers: [EvaluationRouter]? = nil, maskSeed: UInt64 = 0
  ) {
    self.model = model
    self.text = text
    self.tokens = tokens
    self.source = source
    self.tokenizer = tokenizer
    self.topK = topK
    self.maximumTokens = maximumTokens
    self.window = window
    self.perLayer = perLayer
    self.randomBaselineSeed = randomBaselineSeed
    self.routers = routers
    self.maskSeed = maskSeed
  }
}
