import EMoECore
import EMoEFormats
import EMoEModel

extension ConversionOptions {
  /// Every conversion option, in `convert --help` order (see ``ConversionOptionDescriptor``).
  ///
  /// `--depfile` and `--json` are not here: they choose extra outputs rather than what the
  /// conversion does (a batch job takes `depfile` as a path of its own).
  public static let descriptors: [ConversionOptionDescriptor] = [
    .init(
      "experts", json: .experts, .integer,
      help: "Experts per layer (default: the paper's for the model)."),
    .init("top-k", json: .topK, .integer, help: "Experts selected per token (default: E/4)."),
    .init(
      "layers", json: .layers, .text,
      help: "Layers to convert, e.g. last:2, 10,11, from:16/every:2, all."),
    .init(
      "cluster-on", json: .clusterOn, .choice(LayerFFN.KeyMatrix.allCases.map(\.rawValue)),
      help: "GLU key matrix to cluster."),
    .init(
      "quantize", json: .quantize, .choice(ExpertQuantization.allCases.map(\.rawValue)),
      help: "Store expert matrices as none, int8 (per-row scales) or q8_0."),
    .init(
      "compress", json: .compress, .compression,
      help: "Compress every tensor with zstd (--compress or --compress=LEVEL)."),
    .init("seed", json: .seed, .integer, help: "Clustering seed."),
    .init(
      "threads", json: nil, .integer,
      help: "Threads for matrix products (the output does not depend on it)."),
    .init(
      "ffn-pattern", json: .ffnPattern, .text,
      help: "FFN tensor names for an unknown model, e.g. gate=...{L}...,up=...,down=..."),
    .init(
      "restarts", json: .restarts, .integer,
      help: "Clustering restarts per layer (default: by layer size)."),
    .init(
      "allow-uneven", json: .allowUneven, .flag,
      help: "Allow n not divisible by E (sizes differ by 1)."),
    .init(
      "router-bias", json: .routerBias, .flag,
      help: "Store the mean of b1 per expert as a router bias."),
    .init(
      "shared-neurons", json: .sharedNeurons, .text,
      help: "Always-active shared neurons per layer: N, or P% of n (needs a calibration file)."),
    .init(
      "calibration", json: .calibration, .text,
      help: "Calibration text file the neurons' activations are measured on."),
    .init(
      "calibration-tokens", json: .calibrationTokens, .integer,
      help: "Tokens of the calibration text to use (default: 512)."),
    .init(
      "max-ppl-increase", json: .maxPerplexityIncrease, .text,
      help: "Choose layers and top-k keeping calibration perplexity within 0.2 or 20% of dense."),
    .init(
      "min-cosine", json: .minCosine, .text,
      help: "Choose layers and top-k keeping the embedding cosine to dense at least this."),
    .init(
      "router", json: .router, .choice(RouterKind.allCases.map(\.argumentName)),
      help: "How experts are scored: average-key (default), up or up-abs (GLU only)."),
  ]

  /// The `emoe-pack convert` long option names that set conversion options, without dashes: the
  /// keys a batch manifest's `defaults` and jobs use for them.
  public static var longOptionNames: [String] { descriptors.map(\.longName) }

  /// Old spellings still accepted, by the name they stand for: `--gate-bias` (and the batch key
  /// `gate-bias`) from before the router was called the router.
  public static let longOptionAliases = ["gate-bias": "router-bias"]

  /// The descriptor of `--longName`; the table holds every name the callers use.
  public static func descriptor(_ longName: String) -> ConversionOptionDescriptor? {
    descriptors.first { $0.longName == longName }
  }
}

extension ConversionOptions: Codable {
  /// The JSON names, as the container's `options` records them (``ConversionOptionDescriptor``
  /// pairs them with the command-line names).
  public enum CodingKeys: String, CodingKey, CaseIterable, Sendable {
    case experts
    case topK = "top_k"
    case layers
    case clusterOn = "cluster_on"
    case quantize
    case compress
    case seed
    case threads
    case restarts
    case allowUneven = "allow_uneven"
    case routerBias = "router_bias"
    /// The name `router_bias` had before the router was called the router; still read.
    case legacyGateBias = "gate_bias"
    case ffnPattern = "ffn_pattern"
    case sharedNeurons = "shared_neurons"
    case calibration
    case calibrationTokens = "calibration_tokens"
    case maxPerplexityIncrease = "max_ppl_increase"
    case minCosine = "min_cosine"
    case router
  }

  /// The canonical JSON form (see the type's summary): every recorded key in a fixed order,
  /// `null` for a default.
  public var json: JSONValue {
    // Encoding into a JSONValue cannot fail (no member throws, nor does the encoder).
    (try? JSONValueEncoder().encode(self)) ?? .object([])
  }

  /// Writes the canonical form; ``threads`` is left out (the output does not depend on it).
  public func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(experts, forKey: .experts)
    try container.encode(topK, forKey: .topK)
    try container.encode(layers, forKey: .layers)
    try container.encode(clusterOn.rawValue, forKey: .clusterOn)
    try container.encode(quantize.rawValue, forKey: .quantize)
    try container.encode(compressionLevel, forKey: .compress)
    try container.encode(seed, forKey: .seed)
    try container.encode(restarts, forKey: .restarts)
    try container.encode(allowUneven, forKey: .allowUneven)
    try container.encode(routerBias, forKey: .routerBias)
    try container.encode(ffnPattern, forKey: .ffnPattern)
    switch sharedNeurons {
    case nil: try container.encodeNil(forKey: .sharedNeurons)
    case .count(let count): try container.encode(count, forKey: .sharedNeurons)
    case .fraction: try container.encode(sharedNeurons?.description, forKey: .sharedNeurons)
    }
    try container.encode(calibration, forKey: .calibration)
    try container.encode(calibrationTokens, forKey: .calibrationTokens)
    try container.encode(maxPerplexityIncrease, forKey: .maxPerplexityIncrease)
    try container.encode(minCosine, forKey: .minCosine)
    // Left out for the default, so conversions without --router keep their recorded bytes.
    if router != .averageKey { try container.encode(router.argumentName, forKey: .router) }
  }

  /// Reads options in their canonical JSON form, members in document order; absent keys take
  /// their defaults.
  public init(from decoder: any Decoder) throws {
    self.init()
    let container = try decoder.container(keyedBy: JSONKey.self)
    for name in container.allKeys {
      guard let key = CodingKeys(rawValue: name.stringValue) else {
        throw ConversionError.invalidOptions("unknown conversion option '\(name.stringValue)'")
      }
      func integer() throws -> Int? {
        if try container.decodeNil(forKey: name) { return nil }
        do {
          return try container.decode(Int.self, forKey: name)
        } catch {
          throw ConversionError.invalidOptions(
            "option '\(key.rawValue)' must be an integer or null")
        }
      }
      func text() throws -> String? {
        if try container.decodeNil(forKey: name) { return nil }
        do {
          return try container.decode(String.self, forKey: name)
        } catch {
          throw ConversionError.invalidOptions("option '\(key.rawValue)' must be a string or null")
        }
      }
      func number() throws -> Double? {
        if try container.decodeNil(forKey: name) { return nil }
        do {
          return try container.decode(Double.self, forKey: name)
        } catch {
          throw ConversionError.invalidOptions("option '\(key.rawValue)' must be a number or null")
        }
      }
      func flag() throws -> Bool {
        do {
          return try container.decode(Bool.self, forKey: name)
        } catch {
          throw ConversionError.invalidOptions("option '\(key.rawValue)' must be true or false")
        }
      }
      switch key {
      case .experts: experts = try integer()
      case .topK: topK = try integer()
      case .layers: layers = try text()
      case .clusterOn:
        guard let name = try text(), let choice = LayerFFN.KeyMatrix(rawValue: name) else {
          throw ConversionError.invalidOptions("option 'cluster_on' must be \"gate\" or \"up\"")
        }
        clusterOn = choice
      case .quantize:
        guard let name = try text(), let choice = ExpertQuantization(rawValue: name) else {
          throw ConversionError.invalidOptions(
            "option 'quantize' must be \"none\", \"int8\" or \"q8_0\"")
        }
        quantize = choice
      case .compress: compressionLevel = try integer()
      case .seed: seed = try integer() ?? 0
      case .threads: threads = try integer()
      case .restarts: restarts = try integer()
      case .allowUneven: allowUneven = try flag()
      case .routerBias, .legacyGateBias: routerBias = try flag()
      case .ffnPattern: ffnPattern = try text()
      case .sharedNeurons:
        if try container.decodeNil(forKey: name) {
          sharedNeurons = nil
        } else if let count = try? container.decode(Int.self, forKey: name), count >= 0 {
          sharedNeurons = .count(count)
        } else if let text = try? container.decode(String.self, forKey: name),
          text.hasSuffix("%"), let value = SharedNeurons(text)
        {
          sharedNeurons = value
        } else {
          throw ConversionError.invalidOptions(
            "option 'shared_neurons' must be an integer >= 0, a string \"P%\" or null")
        }
      case .calibration: calibration = try text()
      case .calibrationTokens: calibrationTokens = try integer()
      case .maxPerplexityIncrease: maxPerplexityIncrease = try number()
      case .minCosine: minCosine = try number()
      case .router:
        guard let name = try text(), let choice = RouterKind(argumentName: name) else {
          throw ConversionError.invalidOptions(
            "option 'router' must be \"average-key\", \"up\" or \"up-abs\"")
        }
        router = choice
      }
    }
  }

  /// Reads options back from their canonical JSON form (as recorded in a container).
  ///
  /// - Throws: ``ConversionError/invalidOptions(_:)`` for an unknown key or a value of the
  ///   wrong type.
  public init(json: JSONValue) throws(ConversionError) {
    guard case .object = json else {
      throw .invalidOptions("conversion options must be a JSON object, not \(json.typeName)")
    }
    var decoder = JSONValueDecoder()
    decoder.acceptsIntegralNumbers = false
    do {
      self = try decoder.decode(ConversionOptions.self, from: json)
    } catch let error as ConversionError {
      throw error
    } catch {
      throw .invalidOptions("\(error)")
    }
  }
}
