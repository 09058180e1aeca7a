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
    self.router = router
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
  }
}
