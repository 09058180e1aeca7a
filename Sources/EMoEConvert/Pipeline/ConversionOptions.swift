import EMoECore
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
  /// Whether to store the mean of b1 per expert as a gate bias (`--gate-bias`).
  public var gateBias: Bool

  /// The zstd level `--compress` uses without a value.
  public static let defaultCompressionLevel = 3

  /// Creates options; every argument defaults to what `convert` does without the flag.
  public init(
    experts: Int? = nil, topK: Int? = nil, layers: String? = nil,
    clusterOn: LayerFFN.KeyMatrix = .gate, quantize: ExpertQuantization = .none,
    compressionLevel: Int? = nil, seed: Int = 0, threads: Int? = nil, ffnPattern: String? = nil,
    restarts: Int? = nil, allowUneven: Bool = false, gateBias: Bool = false
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
    self.gateBias = gateBias
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
    if let restarts, restarts < 1 {
      throw .invalidOptions("--restarts must be at least 1, not \(restarts)")
    }
  }

  /// The canonical JSON form (see the type's summary).
  public var json: JSONValue {
    func optional(_ value: Int?) -> JSONValue { value.map { .integer(Int64($0)) } ?? .null }
    func optional(_ value: String?) -> JSONValue { value.map { .string($0) } ?? .null }
    return .object([
      JSONMember("experts", optional(experts)),
      JSONMember("top_k", optional(topK)),
      JSONMember("layers", optional(layers)),
      JSONMember("cluster_on", .string(clusterOn.rawValue)),
      JSONMember("quantize", .string(quantize.rawValue)),
      JSONMember("compress", optional(compressionLevel)),
      JSONMember("seed", .integer(Int64(seed))),
      JSONMember("restarts", optional(restarts)),
      JSONMember("allow_uneven", .bool(allowUneven)),
      JSONMember("gate_bias", .bool(gateBias)),
      JSONMember("ffn_pattern", optional(ffnPattern)),
    ])
  }

  /// Reads options back from their canonical JSON form (as recorded in a container, or as a
  /// batch job names them); absent keys take their defaults.
  ///
  /// - Throws: ``ConversionError/invalidOptions(_:)`` for an unknown key or a value of the
  ///   wrong type.
  public init(json: JSONValue) throws(ConversionError) {
    self.init()
    guard let members = json.objectValue else {
      throw .invalidOptions("conversion options must be a JSON object, not \(json.typeName)")
    }
    for member in members {
      let value = member.value
      func integer() throws(ConversionError) -> Int? {
        if case .null = value { return nil }
        guard let number = value.intValue else {
          throw .invalidOptions("option '\(member.key)' must be an integer or null")
        }
        return number
      }
      func text() throws(ConversionError) -> String? {
        if case .null = value { return nil }
        guard let string = value.stringValue else {
          throw .invalidOptions("option '\(member.key)' must be a string or null")
        }
        return string
      }
      func flag() throws(ConversionError) -> Bool {
        guard let bool = value.boolValue else {
          throw .invalidOptions("option '\(member.key)' must be true or false")
        }
        return bool
      }
      switch member.key {
      case "experts": experts = try integer()
      case "top_k": topK = try integer()
      case "layers": layers = try text()
      case "cluster_on":
        guard let name = try text(), let choice = LayerFFN.KeyMatrix(rawValue: name) else {
          throw .invalidOptions("option 'cluster_on' must be \"gate\" or \"up\"")
        }
        clusterOn = choice
      case "quantize":
        guard let name = try text(), let choice = ExpertQuantization(rawValue: name) else {
          throw .invalidOptions("option 'quantize' must be \"none\", \"int8\" or \"q8_0\"")
        }
        quantize = choice
      case "compress": compressionLevel = try integer()
      case "seed": seed = try integer() ?? 0
      case "threads": threads = try integer()
      case "restarts": restarts = try integer()
      case "allow_uneven": allowUneven = try flag()
      case "gate_bias": gateBias = try flag()
      case "ffn_pattern": ffnPattern = try text()
      default: throw .invalidOptions("unknown conversion option '\(member.key)'")
      }
    }
  }
}
