import EMoEConvert
import EMoECore
import EMoEFormats
import EMoEModel

/// A value a batch manifest gives a `convert` option that the option does not take.
public struct LongOptionError: Error, Sendable, Equatable, CustomStringConvertible {
  /// What is wrong with the value, or that the name is unknown.
  public var reason: String

  /// A readable message.
  public var description: String { reason }
}

extension ConversionOptions {
  /// Sets the option `--name` from a JSON value, as a batch manifest writes it.
  ///
  /// Integers take JSON integers; `layers`, `ffn-pattern`, `cluster-on` and `quantize` take
  /// strings; flags take `true` or `false`; `compress` takes `true` (level
  /// ``defaultCompressionLevel``), `false` or a level. `null` restores the default of an option
  /// that has one of its own (`experts`, `top-k`, `layers`, `restarts`, `ffn-pattern`,
  /// `compress`, `threads`).
  ///
  /// - Throws: ``LongOptionError`` for an unknown name or a value the option does not take.
  public mutating func set(longName name: String, to value: JSONValue) throws(LongOptionError) {
    func describe(_ value: JSONValue) -> String {
      switch value {
      case .string(let text): "the string \"\(text)\""
      case .number(let number): "\(number)"
      default: value.typeName == "null" ? "null" : "\(value.typeName) \(value.serialized())"
      }
    }
    func integer(minimum: Int, nullable: Bool) throws(LongOptionError) -> Int? {
      if case .null = value, nullable { return nil }
      guard let number = value.intValue else {
        throw LongOptionError(reason: "must be an integer, not \(describe(value))")
      }
      guard number >= minimum else {
        throw LongOptionError(reason: "must be at least \(minimum), not \(number)")
      }
      return number
    }
    func text(nullable: Bool) throws(LongOptionError) -> String? {
      if case .null = value, nullable { return nil }
      guard let string = value.stringValue else {
        throw LongOptionError(reason: "must be a string, not \(describe(value))")
      }
      return string
    }
    func flag() throws(LongOptionError) -> Bool {
      guard let bool = value.boolValue else {
        throw LongOptionError(reason: "must be true or false, not \(describe(value))")
      }
      return bool
    }
    func choice<T: RawRepresentable & CaseIterable>(_: T.Type) throws(LongOptionError) -> T
    where T.RawValue == String {
      let names = T.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
      guard let name = value.stringValue, let result = T(rawValue: name) else {
        throw LongOptionError(reason: "must be one of \(names), not \(describe(value))")
      }
      return result
    }

    switch name {
    case "experts": experts = try integer(minimum: 1, nullable: true)
    case "top-k": topK = try integer(minimum: 1, nullable: true)
    case "seed": seed = try integer(minimum: 0, nullable: false) ?? 0
    case "threads": threads = try integer(minimum: 1, nullable: true)
    case "restarts": restarts = try integer(minimum: 1, nullable: true)
    case "layers":
      layers = try text(nullable: true)
      if let layers {
        do {
          _ = try LayerSelection.parse(layers)
        } catch {
          throw LongOptionError(reason: "\(error)")
        }
      }
    case "ffn-pattern":
      ffnPattern = try text(nullable: true)
      if let ffnPattern {
        do {
          _ = try FFNPattern.parse(ffnPattern)
        } catch {
          throw LongOptionError(reason: "\(error)")
        }
      }
    case "cluster-on": clusterOn = try choice(LayerFFN.KeyMatrix.self)
    case "quantize": quantize = try choice(ExpertQuantization.self)
    case "compress":
      switch value {
      case .null, .bool(false): compressionLevel = nil
      case .bool(true): compressionLevel = Self.defaultCompressionLevel
      default:
        guard let level = value.intValue else {
          throw LongOptionError(
            reason: "must be true, false or a zstd level, not \(describe(value))")
        }
        guard (-131072...22).contains(level) else {
          throw LongOptionError(reason: "level \(level) is outside zstd's -131072...22")
        }
        compressionLevel = level
      }
    case "shared-neurons":
      switch value {
      case .null: sharedNeurons = nil
      case .string(let text) where text.hasSuffix("%"):
        guard let parsed = SharedNeurons(text) else {
          throw LongOptionError(
            reason: "must be a percentage 0% <= P% < 100%, not \(describe(value))")
        }
        sharedNeurons = parsed
      default:
        guard let count = value.intValue else {
          throw LongOptionError(
            reason: "must be an integer or a string \"P%\", not \(describe(value))")
        }
        guard count >= 0 else {
          throw LongOptionError(reason: "must be at least 0, not \(count)")
        }
        sharedNeurons = .count(count)
      }
    case "calibration": calibration = try text(nullable: true)
    case "calibration-tokens": calibrationTokens = try integer(minimum: 2, nullable: true)
    case "max-ppl-increase", "min-cosine":
      let number: Double?
      switch value {
      case .null: number = nil
      case .string(let text):
        guard let parsed = ConversionOptions.fraction(text) else {
          throw LongOptionError(reason: "must be a number or \"P%\", not \(describe(value))")
        }
        number = parsed
      default:
        guard let parsed = value.doubleValue, parsed.isFinite else {
          throw LongOptionError(reason: "must be a number or \"P%\", not \(describe(value))")
        }
        number = parsed
      }
      if name == "min-cosine" { minCosine = number } else { maxPerplexityIncrease = number }
    case "allow-uneven": allowUneven = try flag()
    case "router-bias", "gate-bias": routerBias = try flag()
    case "router":
      let names = RouterKind.allCases.map { "\"\($0.argumentName)\"" }.joined(separator: ", ")
      guard let name = value.stringValue, let kind = RouterKind(argumentName: name) else {
        throw LongOptionError(reason: "must be one of \(names), not \(describe(value))")
      }
      router = kind
    default:
      throw LongOptionError(reason: "unknown option '\(name)'")
    }
  }
}
