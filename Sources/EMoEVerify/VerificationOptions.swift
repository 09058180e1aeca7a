/// What `emoe-pack verify` checks and how (the flags of the command).
public struct VerificationOptions: Sendable, Equatable {
  /// The dense source model (`--source`), or `nil` to look for the recorded files beside the
  /// container.
  public var source: String?
  /// The number of random hidden states per layer (`--tokens`), and the length of the token
  /// sequence of the whole-model check (at most the model's positions).
  public var tokens: Int
  /// The k values to check (`--top-k`): the sparse check runs at each (default: each layer's
  /// recorded top-k) and `--model` reports each (k = E is always run and judged).
  public var topK: [Int]?
  /// A safetensors file of hidden states (`--inputs`) instead of random ones.
  public var inputs: String?
  /// The relative tolerance of float comparisons (`--tolerance`).
  public var tolerance: Double
  /// Whether to run the whole-model comparison (`--model`).
  public var model: Bool
  /// The seed of the random hidden states.
  public var seed: UInt64

  /// The default relative tolerance for F32 comparisons.
  public static let defaultTolerance = 1e-5
  /// The default number of random hidden states per layer.
  public static let defaultTokens = 64
  /// The most hidden states (or tokens) `--tokens` may ask for: enough for any check, and small
  /// enough that the random inputs (tokens x d floats) are allocated safely for any real d.
  public static let maximumTokens = 65_536

  /// Creates options; every argument defaults to what `verify` does without the flag.
  public init(
    source: String? = nil, tokens: Int = defaultTokens, topK: [Int]? = nil, inputs: String? = nil,
    tolerance: Double = defaultTolerance, model: Bool = false, seed: UInt64 = 0
  ) {
    self.source = source
    self.tokens = tokens
    self.topK = topK
    self.inputs = inputs
    self.tolerance = tolerance
    self.model = model
    self.seed = seed
  }
}
