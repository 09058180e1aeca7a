import EMoECore
import EMoEFormats
import EMoEModel

/// What `emoe-pack convert` was asked to do: the settings of one conversion, with every value
/// the user left out set to `nil` so the paper's defaults for the detected model apply (see
/// ``ConversionPlan``).
///
/// ``json`` is the canonical form recorded verbatim as the container's `options`: every key
/// present in a fixed order, `null` for a default. ``threads`` is deliberately left out of it:
/// the output does not depend on the thread count, so it must not record it either.
public struct ConversionOptions: Sendable, Hashable {
  /// The number of experts per layer (`--experts`), or `nil` for the paper's default.
  public var experts: Int?
  /// Experts selected per token (`--top-k`), or `nil` for E/4 (at least 1).
  public var topK: Int?
  /// The layers to convert in `--layers` syntax, or `nil` for the paper's default.
  public var layers: String?
  /// Which GLU matrix supplies the keys (`--cluster-on`); plain FFNs always use W1.
  public var clusterOn: LayerFFN.KeyMatrix
  /// How expert matrices are stored (`--quantize`).
  public var quantize: ExpertQuantization
  /// The zstd level every tensor is compressed with (`--compress[=LEVEL]`), or `nil`.
  public var compressionLevel: Int?
  /// The seed of the clustering (`--seed`).
  public var seed: Int
  /// The most threads to use (`--threads`), or `nil` for every core; not recorded.
  public var threads: Int?
  /// A user FFN pattern (`--ffn-pattern`), or `nil` to detect the family.
  public var ffnPattern: String?
  /// Clustering restarts (`--restarts`), or `nil` to pick by layer size.
  public var restarts: Int?
  /// Whether n need not be a multiple of E (`--allow-uneven`).
  public var allowUneven: Bool
  /// Whether to store the mean of b1 per expert as a router bias (`--router-bias`).
  public var routerBias: Bool
  /// The always-active shared neurons per layer chosen on the calibration text
  /// (`--shared-neurons`), or `nil` for none; needs ``calibration``.
  public var sharedNeurons: SharedNeurons?
  /// The calibration text file (`--calibration`), recorded as given, or `nil`.
  public var calibration: String?
  /// The most tokens of the calibration text used (`--calibration-tokens`), or `nil` for 512.
  public var calibrationTokens: Int?
  /// Decoders: the most the perplexity on the calibration text may rise, as a fraction of the
  /// dense model's (`--max-ppl-increase 0.2` or `20%`); calibration then chooses the layers and
  /// each one's top-k.
  public var maxPerplexityIncrease: Double?
  /// Encoders: the least mean sentence-embedding cosine to the dense model on the calibration
  /// text (`--min-cosine 0.95`); calibration then chooses the layers and each one's top-k.
  public var minCosine: Double?
  /// How converted layers score their experts (`--router`).
  public var router: RouterKind

  /// The zstd level `--compress` uses without a value.
  public static let defaultCompressionLevel = 3

  /// Creates options; every argument defaults to what `convert` does without the flag.
  public init(
    experts: Int? = nil, topK: Int? = nil, layers: String? = nil,
    clusterOn: LayerFFN.KeyMatrix = .gate, quantize: ExpertQuantization = .none,
    compressionLevel: Int? = nil, seed: Int = 0, threads: Int? = nil, ffnPattern: String? = nil,
    restarts: Int? = nil, allowUneven: Bool = false, routerBias: Bool = false,
    sharedNeurons: SharedNeurons? = nil, calibration: String? = nil,
    calibrationTokens: Int? = nil, maxPerplexityIncrease: Double? = nil, minCosine: Double? = nil,
    router: RouterKind = .averageKey
  ) {
    self.experts = experts
    self.topK = topK
    self.layers = layers
    self.clusterOn = clusterOn
    self.quantize = quantize
    self.compressionLevel = compressionLevel
    self.seed = seed
    self.threads = threads
    self.ffnPattern = ffnPattern
    self.restarts = restarts
    self.allowUneven = allowUneven
    self.routerBias = routerBias
    self.sharedNeurons = sharedNeurons
    self.calibration = calibration
    self.calibrationTokens = calibrationTokens
    self.maxPerplexityIncrease = maxPerplexityIncrease
    self.minCosine = minCosine
    self.router = router
  }

  /// Parses a fraction written `0.2` or `20%`; `nil` for anything else or a non-finite value.
  public static func fraction(_ text: String) -> Double? {
    let percent = text.hasSuffix("%")
    guard let value = Double(percent ? String(text.dropLast()) : text), value.isFinite else {
      return nil
    }
    return percent ? value / 100 : value
  }

  /// Checks the values that make sense on their own, whatever the model.
  ///
  /// `convert` refuses these as usage errors (exit 64). What only the model can refute (an
  /// expert count above n, a top-k above the default E, a layer past the last) is checked by
  /// ``ConversionPlan``.
  ///
  /// - Throws: ``ConversionError/invalidOptions(_:)`` naming the flag and the value given.
  public func validate() throws(ConversionError) {
    if let experts, experts < 1 {
      throw .invalidOptions("--experts must be at least 1, not \(experts)")
    }
    if let topK, topK < 1 { throw .invalidOptions("--top-k must be at least 1, not \(topK)") }
    if let experts, let topK, topK > experts {
      throw .invalidOptions("--top-k \(topK) is outside 1...\(experts) (--experts \(experts))")
    }
    if let layers {
      do {
        _ = try LayerSelection.parse(layers)
      } catch {
        throw .invalidOptions("--layers: \(error)")
      }
    }
    if let ffnPattern {
      do {
        _ = try FFNPattern.parse(ffnPattern)
      } catch {
        throw .invalidOptions("\(error)")
      }
    }
    if let compressionLevel, !(-131072...22).contains(compressionLevel) {
      throw .invalidOptions("--compress level \(compressionLevel) is outside zstd's -131072...22")
    }
    if seed < 0 { throw .invalidOptions("--seed must be at least 0, not \(seed)") }
    if let threads, threads < 1 {
      throw .invalidOptions("--threads must be at least 1, not \(threads)")
    }
    if router == .upAbs && routerBias {
      throw .invalidOptions(
        "--router-bias does not apply to --router up-abs, which adds the up bias to every neuron")
    }
    if let restarts, restarts < 1 {
      throw .invalidOptions("--restarts must be at least 1, not \(restarts)")
    }
    if let calibrationTokens, calibrationTokens < 2 {
      throw .invalidOptions("--calibration-tokens must be at least 2, not \(calibrationTokens)")
    }
    if let maxPerplexityIncrease, !(maxPerplexityIncrease >= 0) {
      throw .invalidOptions(
        "--max-ppl-increase must be a fraction >= 0 (0.2 or 20%), not \(maxPerplexityIncrease)")
    }
    if let minCosine, !(minCosine > -1 && minCosine <= 1) {
      throw .invalidOptions("--min-cosine must be in (-1, 1], not \(minCosine)")
    }
    if maxPerplexityIncrease != nil && minCosine != nil {
      throw .invalidOptions(
        "--max-ppl-increase (decoders) and --min-cosine (encoders) cannot both be given")
    }
    if calibration == nil {
      let needing = [
        (clusterOn == .activations, "--cluster-on activations"),
        (calibrationTokens != nil, "--calibration-tokens"),
        (maxPerplexityIncrease != nil, "--max-ppl-increase"),
        (minCosine != nil, "--min-cosine"),
      ].first { $0.0 }
      if let (_, flag) = needing {
        throw .invalidOptions("\(flag) needs --calibration FILE: it is measured on that text")
      }
    }
    if let sharedNeurons, calibration == nil {
      throw .invalidOptions(
        "--shared-neurons \(sharedNeurons) needs --calibration: the shared neurons are the ones "
          + "most often strongly active on the calibration text")
    }
  }
}
