/// What `emoe-pack run` evaluates: one FFN layer or the whole model, of a `.emoe` container
/// or (dense) of its source checkpoint, on inputs from a safetensors file.
public struct EvaluationRequest: Sendable, Equatable {
  /// The `.emoe` container, or with ``dense`` a source checkpoint (safetensors or GGUF).
  public var model: String
  /// The safetensors file of inputs: `hidden_states` `[T, d]` for an FFN, `input_ids` `[T]`
  /// or `[1, T]` (I32/I64, plus optional `token_type_ids`) for a whole model.
  public var inputs: String
  /// Evaluate the dense source instead of an EMoE container.
  public var dense: Bool
  /// The layer whose FFN to run (default for a container: its first converted layer).
  public var layer: Int?
  /// Experts per token (default: each layer's recorded top-k).
  public var topK: Int?
  /// Run the whole model on token ids instead of one FFN on hidden states.
  public var wholeModel: Bool

  /// Creates a request.
  public init(
    model: String, inputs: String, dense: Bool = false, layer: Int? = nil, topK: Int? = nil,
    wholeModel: Bool = false
  ) {
    self.model = model
    self.inputs = inputs
    self.dense = dense
    self.layer = layer
    self.topK = topK
    self.wholeModel = wholeModel
  }
}
