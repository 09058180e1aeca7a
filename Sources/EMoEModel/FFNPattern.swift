/// Which tensors form a layer's FFN: a name template per role, with `{L}` for the layer number.
///
/// Registered families carry one; users give one with `--ffn-pattern` (see
/// ``parse(_:)``). Templates match tensor names after an optional prefix shared by the whole
/// model, so `encoder.layer.{L}.intermediate.dense.weight` also finds
/// `bert.encoder.layer.0.intermediate.dense.weight`.
public struct FFNPattern: Sendable, Hashable, CustomStringConvertible {
  /// The name template of each role the FFN has.
  public private(set) var templates: [FFNRole: String]
  /// Roles that may be absent in a layer (bias vectors of registered families).
  public private(set) var optionalRoles: Set<FFNRole>
  /// Whether the weights are stored as GPT-2's Conv1D does: the input-side matrix as `[d, n]`
  /// and the output-side matrix as `[n, d]` (the transpose of PyTorch's Linear layout).
  public var transposed: Bool
  /// An activation that overrides config.json and the family default (user patterns only).
  public var activation: FFNActivation?

  /// Creates a pattern after checking that it names a complete plain or GLU FFN.
  ///
  /// - Throws: ``ModelError/invalidPattern(spec:reason:)`` when roles of both forms are mixed,
  ///   a required role is missing, or a template does not hold exactly one `{L}`.
  public init(
    templates: [FFNRole: String], optionalRoles: Set<FFNRole> = [], transposed: Bool = false,
    activation: FFNActivation? = nil
  ) throws(ModelError) {
    self.templates = templates
    self.optionalRoles = optionalRoles
    self.transposed = transposed
    self.activation = activation
    try check()
  }

  /// Whether this is a gated (GLU) FFN.
  public var isGLU: Bool { templates[.gate] != nil }

  /// The roles that must be present in every layer.
  public var requiredRoles: [FFNRole] { isGLU ? [.gate, .up, .down] : [.w1, .w2] }

  /// The roles this pattern names, in canonical order.
  public var roles: [FFNRole] { templates.keys.sorted() }

  /// The role whose rows are the keys by default: `w1`, or `gate` for GLU FFNs.
  public var keyRole: FFNRole { isGLU ? .gate : .w1 }

  /// The tensor name of `role` in `layer`, after `prefix`.
  public func name(_ role: FFNRole, layer: Int, prefix: String = "") -> String? {
    guard let template = templates[role] else { return nil }
    return prefix + template.parts(separatedBy: "{L}").joined(separator: String(layer))
  }

  /// The pattern in `--ffn-pattern` syntax.
  public var description: String {
    var parts = roles.compactMap { role in templates[role].map { "\(role)=\($0)" } }
    if transposed { parts.append("layout=conv1d") }
    if let activation { parts.append("act=\(activation)") }
    return parts.joined(separator: ",")
  }

  private func check() throws(ModelError) {
    let spec = description
    let plain: Set<FFNRole> = [.w1, .b1, .w2, .b2]
    let glu: Set<FFNRole> = [.gate, .up, .down, .gateBias, .upBias, .downBias]
    let named = Set(templates.keys)
    if !named.isDisjoint(with: plain) && !named.isDisjoint(with: glu) {
      throw .invalidPattern(
        spec: spec, reason: "mixes plain roles (w1, b1, w2, b2) with GLU roles (gate, up, down)")
    }
    for role in requiredRoles where templates[role] == nil {
      throw .invalidPattern(
        spec: spec,
        reason: isGLU
          ? "a GLU FFN needs gate, up and down; '\(role)' is missing"
          : "needs w1 and w2 (or gate, up and down for a GLU FFN); '\(role)' is missing")
    }
    for (role, template) in templates {
      let placeholders = template.parts(separatedBy: "{L}").count - 1
      guard placeholders == 1 else {
        throw .invalidPattern(
          spec: spec, reason: "the \(role) template '\(template)' must contain {L} exactly once")
      }
    }
  }
}

extension FFNPattern {
  /// A registered plain FFN; biases are optional.
  static func plain(
    w1: String, b1: String? = nil, w2: String, b2: String? = nil, transposed: Bool = false
  ) -> FFNPattern {
    var templates: [FFNRole: String] = [.w1: w1, .w2: w2]
    if let b1 { templates[.b1] = b1 }
    if let b2 { templates[.b2] = b2 }
    return registered(templates, transposed: transposed)
  }

  /// A registered GLU FFN without biases.
  static func glu(gate: String, up: String, down: String) -> FFNPattern {
    registered([.gate: gate, .up: up, .down: down], transposed: false)
  }

  private static func registered(_ templates: [FFNRole: String], transposed: Bool) -> FFNPattern {
    do {
      return try FFNPattern(
        templates: templates, optionalRoles: Set(templates.keys.filter { !$0.isWeight }),
        transposed: transposed)
    } catch {
      preconditionFailure("registry entry is malformed: \(error)")
    }
  }

  /// Parses the `--ffn-pattern` syntax: comma-separated `key=value` pairs.
  ///
  /// Keys are the roles (`w1`, `b1`, `w2`, `b2` for a plain FFN; `gate`, `up`, `down`,
  /// `gate_bias`, `up_bias`, `down_bias` for a GLU FFN) with a tensor-name template holding
  /// `{L}` once, plus two options: `layout=linear|conv1d` (conv1d: W1 stored `[d, n]`, W2 stored
  /// `[n, d]`, as GPT-2) and `act=NAME` (gelu, gelu_new, relu, silu, ...). Every named tensor is
  /// required in every converted layer. Example:
  /// `gate=model.layers.{L}.mlp.gate_proj.weight,up=model.layers.{L}.mlp.up_proj.weight,down=model.layers.{L}.mlp.down_proj.weight`.
  public static func parse(_ spec: String) throws(ModelError) -> FFNPattern {
    var templates: [FFNRole: String] = [:]
    var transposed = false
    var activation: FFNActivation?
    for part in spec.split(separator: ",", omittingEmptySubsequences: false) {
      let item = part.trimmedSpaces
      guard let equals = item.firstIndex(of: "=") else {
        throw .invalidPattern(spec: spec, reason: "'\(item)' is not key=value")
      }
      let key = item[..<equals].trimmedSpaces.lowercased()
      let value = item[item.index(after: equals)...].trimmedSpaces
      guard !value.isEmpty else {
        throw .invalidPattern(spec: spec, reason: "'\(key)' has an empty value")
      }
      switch key {
      case "layout":
        switch value.lowercased() {
        case "linear": transposed = false
        case "conv1d", "transposed": transposed = true
        default:
          throw .invalidPattern(
            spec: spec, reason: "layout must be linear or conv1d, not '\(value)'")
        }
      case "act", "activation":
        guard let parsed = FFNActivation(configName: value) else {
          throw .invalidPattern(
            spec: spec,
            reason:
              "unknown activation '\(value)' (known: gelu, gelu_new, gelu_pytorch_tanh, relu, silu)"
          )
        }
        activation = parsed
      default:
        guard let role = FFNRole(rawValue: key) else {
          let known = FFNRole.allCases.map(\.rawValue).joined(separator: ", ")
          throw .invalidPattern(
            spec: spec, reason: "unknown key '\(key)' (known: \(known), layout, act)")
        }
        guard templates[role] == nil else {
          throw .invalidPattern(spec: spec, reason: "'\(key)' is given twice")
        }
        templates[role] = value
      }
    }
    return try FFNPattern(templates: templates, transposed: transposed, activation: activation)
  }
}
