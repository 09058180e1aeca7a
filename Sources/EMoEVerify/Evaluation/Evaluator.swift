import EMoECore
import EMoEFormats
import EMoEModel
import EMoENumerics
import EMoERunner

/// `emoe-pack run`: evaluates one FFN layer or a whole model on given inputs and returns the
/// outputs as named tensors, so other tools can compare numbers.
///
/// Tensor names (docs/verify.md):
/// - FFN in: `hidden_states` `[T, d]` (F32, F16, BF16 or F64). Out: `output` `[T, d]` F32; for
///   a container also `expert_ids` `[T, k]` I32 (each token's experts, highest score first)
///   and `router_scores` `[T, E]` F32.
/// - Whole model in: `input_ids` `[T]` or `[1, T]` I32/I64, optional `token_type_ids` (BERT).
///   Out: `hidden_states` `[T, d]` F32 (BERT's last hidden state, LLaMA's after the final norm)
///   and, for decoders, `logits` `[T, V]` F32.
///
/// The EMoE FFN runs along the sparse path; a container's whole model is its passthrough
/// tensors with every converted layer's FFN replaced by its ``ExpertFFN``.
public enum Evaluator {
  /// The output tensors, and a one-line account of what ran.
  public struct Result: Sendable {
    /// The outputs, in the order listed in the type's summary.
    public var tensors: [Tensor]
    /// `__metadata__` for the output file: mode, layer, k.
    public var metadata: [(key: String, value: String)]
    /// What ran, for the log.
    public var summary: String
  }

  /// Evaluates `request`.
  ///
  /// - Throws: ``VerificationError`` when a file cannot be read, an input tensor is missing or
  ///   has the wrong shape, the layer is not converted (or not in the source), or k is out of
  ///   range; with ``VerificationError/isNonFinite`` set when a stored tensor of the layer, an
  ///   input or an output holds NaN or infinity (nothing is written then).
  public static func evaluate(_ request: EvaluationRequest) throws(VerificationError) -> Result {
    let isContainer: Bool
    do {
      isContainer = try FileKind.detect(path: request.model) == .emoe
    } catch {
      throw VerificationError(reading: request.model, error)
    }
    if request.dense && isContainer {
      throw VerificationError(
        "--dense evaluates a source checkpoint; this is an .emoe container (run it without "
          + "--dense, or with --top-k E for every expert)",
        location: ErrorLocation(file: request.model))
    }
    if !request.dense && !isContainer {
      throw VerificationError(
        "is not an .emoe container; add --dense to evaluate a source checkpoint",
        location: ErrorLocation(file: request.model))
    }
    if request.wholeModel {
      return try wholeModel(request, isContainer: isContainer)
    }
    return isContainer ? try containerFFN(request) : try denseFFN(request)
  }

  /// Writes `result` to `path` as safetensors, atomically.
  public static func write(_ result: Result, to path: String) throws(VerificationError) {
    do {
      try SafeTensorsWriter.write(to: path, tensors: result.tensors, metadata: result.metadata)
    } catch {
      throw VerificationError(reading: path, error)
    }
  }

  // MARK: FFN

  private static func containerFFN(_ request: EvaluationRequest) throws(VerificationError)
    -> Result
  {
    let container = try openContainer(request.model)
    guard let first = container.layers.min(by: { $0.layer < $1.layer }) else {
      throw VerificationError(
        "has no converted layers", location: ErrorLocation(file: request.model))
    }
    let layerIndex = request.layer ?? first.layer
    guard let record = container.layers.first(where: { $0.layer == layerIndex }) else {
      throw VerificationError(
        "layer \(layerIndex) is not converted; converted layers: "
          + container.layers.map { String($0.layer) }.joined(separator: ", "),
        location: ErrorLocation(file: request.model))
    }
    let k = request.topK ?? record.topK
    let x = try HiddenStateInputs.read(
      from: request.inputs, layer: nil, dimension: record.hiddenSize)
    let d = record.hiddenSize
    // NaN gate scores would route every token to experts 0...k-1 and report success.
    try FiniteCheck.require(container, layer: record)
    do {
      let weights = try ExpertFFNWeights(container: container, layer: record)
      let ffn = try ExpertFFN(weights: weights, topK: k, path: .sparse)
      var output = [Float](repeating: 0, count: x.tokens * d)
      let (routing, scores) = x.values.withUnsafeBufferPointer { input in
        (
          ffn.route(input.baseAddress!, tokens: x.tokens),
          ffn.scores(input.baseAddress!, tokens: x.tokens)
        )
      }
      try x.values.withUnsafeBufferPointer { input in
        try output.withUnsafeMutableBufferPointer { y in
          try ffn.forward(
            input.baseAddress!, tokens: x.tokens, routing: routing, path: .sparse,
            into: y.baseAddress!)
        }
      }
      try FiniteCheck.require(
        scores, tensor: "router_scores", shape: [x.tokens, record.expertCount],
        file: request.model, what: "the router scores of layer \(record.layer)")
      try FiniteCheck.require(
        output, tensor: "output", shape: [x.tokens, d], file: request.model,
        what: "the output of layer \(record.layer)")
      let ids = routing.selected.map { Int32($0) }
      return Result(
        tensors: [
          Tensor(name: "output", shape: [x.tokens, d], float32: output),
          Tensor(
            name: "expert_ids", dtype: .i32, shape: [x.tokens, k],
            storage: .owned(ids.withUnsafeBytes { Array($0) })),
          Tensor(name: "router_scores", shape: [x.tokens, record.expertCount], float32: scores),
        ],
        metadata: [
          ("mode", "ffn"), ("layer", "\(record.layer)"), ("top_k", "\(k)"),
          ("experts", "\(record.expertCount)"),
        ],
        summary: "EMoE FFN of layer \(record.layer), k = \(k) of \(record.expertCount), "
          + "\(x.tokens) tokens")
    } catch {
      throw VerificationError(reading: request.model, error)
    }
  }

  private static func denseFFN(_ request: EvaluationRequest) throws(VerificationError) -> Result {
    guard let layerIndex = request.layer else {
      throw VerificationError("--dense needs --layer to choose the FFN to run")
    }
    let source = try SourceLocator.open(request.model)
    do {
      let ffn = try Architecture.detect(source).layer(layerIndex, in: source)
      let x = try HiddenStateInputs.read(
        from: request.inputs, layer: nil, dimension: ffn.hiddenSize)
      for member in ffn.members {
        let tensor = try ffn.tensor(member.role)
        guard !tensor.dtype.isQuantized || Dequantizer.supports(tensor.dtype) else { continue }
        if let found = try NonFiniteValue.first(in: tensor) {
          throw VerificationError(
            nonFinite: found, file: request.model, what: "layer \(layerIndex) FFN \(member.role)")
        }
      }
      let dense = try DenseFFN(ffn)
      let output = try dense.forward(x.values, tokens: x.tokens)
      try FiniteCheck.require(
        output, tensor: "output", shape: [x.tokens, ffn.hiddenSize], file: request.model,
        what: "the output of layer \(layerIndex)")
      return Result(
        tensors: [Tensor(name: "output", shape: [x.tokens, ffn.hiddenSize], float32: output)],
        metadata: [("mode", "ffn"), ("layer", "\(layerIndex)"), ("dense", "true")],
        summary: "dense FFN of layer \(layerIndex), \(x.tokens) tokens")
    } catch {
      throw VerificationError(reading: request.model, error)
    }
  }

  // MARK: Whole model

  private static func wholeModel(_ request: EvaluationRequest, isContainer: Bool)
    throws(VerificationError) -> Result
  {
    let (ids, types) = try tokenIDs(request.inputs)
    let model: WholeModel
    var replacing: [Int: any FeedForwardBlock] = [:]
    var description = "dense model"
    var metadata: [(key: String, value: String)] = [("mode", "model")]
    if isContainer {
      let container = try openContainer(request.model)
      model = try WholeModel(source: ContainerDenseView(container))
      do {
        for record in container.layers {
          let k = request.topK ?? record.topK
          guard (1...record.expertCount).contains(k) else {
            throw VerificationError(
              "--top-k \(k) is not between 1 and layer \(record.layer)'s \(record.expertCount) "
                + "experts")
          }
          try FiniteCheck.require(container, layer: record)
          replacing[record.layer] = try ExpertFFN(
            weights: ExpertFFNWeights(container: container, layer: record), topK: k)
        }
      } catch {
        throw VerificationError(reading: request.model, error)
      }
      let ks = Set(container.layers.map { request.topK ?? $0.topK }).sorted()
      description =
        "EMoE model (\(container.layers.count) converted layers, k = "
        + ks.map(String.init).joined(separator: ", ") + ")"
      metadata.append(("top_k", ks.map(String.init).joined(separator: ",")))
    } else {
      model = try WholeModel(source: SourceLocator.open(request.model))
      metadata.append(("dense", "true"))
    }
    let output: WholeModel.Output
    do {
      output = try model.run(tokens: ids, tokenTypes: types, replacing: replacing)
    } catch {
      throw VerificationError(reading: request.model, error)
    }
    try FiniteCheck.require(
      output.hiddenStates, tensor: "hidden_states", shape: [ids.count, model.hiddenSize],
      file: request.model, what: "the model's final hidden states")
    if let logits = output.logits {
      try FiniteCheck.require(
        logits, tensor: "logits", shape: [ids.count, logits.count / max(ids.count, 1)],
        file: request.model, what: "the model's logits")
    }
    var tensors = [
      Tensor(
        name: "hidden_states", shape: [ids.count, model.hiddenSize], float32: output.hiddenStates)
    ]
    if let logits = output.logits {
      tensors.append(
        Tensor(name: "logits", shape: [ids.count, logits.count / ids.count], float32: logits))
    }
    return Result(
      tensors: tensors, metadata: metadata, summary: "\(description), \(ids.count) tokens")
  }

  /// `input_ids` (and `token_type_ids`) from a safetensors file.
  public static func tokenIDs(_ path: String) throws(VerificationError) -> ([Int], [Int]?) {
    let file: SafeTensorsFile
    do {
      file = try SafeTensorsFile(path: path)
    } catch {
      throw VerificationError(reading: path, error)
    }
    func integers(_ name: String) throws(VerificationError) -> [Int]? {
      guard file.entry(named: name) != nil else { return nil }
      let location = ErrorLocation(file: path, tensor: name)
      let tensor: Tensor
      do {
        tensor = try file.tensor(named: name)
      } catch {
        throw VerificationError("\(error)", location: location)
      }
      let dims = tensor.shape.dimensions
      guard dims.count == 1 || (dims.count == 2 && dims[0] == 1), tensor.elementCount >= 1,
        tensor.dtype == .i32 || tensor.dtype == .i64
      else {
        throw VerificationError(
          "is \(tensor.dtype.rawValue) \(tensor.shape); expected I32 or I64 [T] or [1, T]",
          location: location)
      }
      let wide = tensor.dtype == .i64
      return tensor.withUnsafeBytes { raw in
        (0..<tensor.elementCount).map { index in
          wide
            ? Int(
              truncatingIfNeeded: Int64(
                littleEndian: raw.loadUnaligned(fromByteOffset: index * 8, as: Int64.self)))
            : Int(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: index * 4, as: Int32.self)))
        }
      }
    }
    guard let ids = try integers("input_ids") else {
      throw VerificationError(
        "holds no 'input_ids' tensor (found: "
          + file.tensorInfos.map(\.name).prefix(8).joined(separator: ", ") + ")",
        location: ErrorLocation(file: path))
    }
    let types = try integers("token_type_ids")
    if let types, types.count != ids.count {
      throw VerificationError(
        "'token_type_ids' has \(types.count) values for \(ids.count) tokens",
        location: ErrorLocation(file: path, tensor: "token_type_ids"))
    }
    return (ids, types)
  }

  private static func openContainer(_ path: String) throws(VerificationError) -> ContainerFile {
    do {
      return try ContainerFile(path: path)
    } catch {
      throw VerificationError(error.description, isIOFailure: error.kind == .io)
    }
  }
}
