/// One layer's feed-forward network as the whole-model runners call it: a batch of `tokens`
/// hidden states `[tokens, hiddenSize]` in, the same shape out.
///
/// The source model's dense FFN and the EMoE FFN both conform, so a model runner can swap a
/// layer's FFN for its EMoE form through a hook.
public protocol FeedForwardBlock: Sendable {
  /// The hidden size d (the length of each input and output row).
  var hiddenSize: Int { get }

  /// Computes the FFN output of `tokens` row-major rows of `input` into `output`; neither
  /// pointer may alias the other.
  func forward(_ input: UnsafePointer<Float>, tokens: Int, into output: UnsafeMutablePointer<Float>)
    throws
}

extension FeedForwardBlock {
  /// The FFN output of the row-major `[tokens, hiddenSize]` matrix `input`.
  public func forward(_ input: [Float], tokens: Int) throws -> [Float] {
    precondition(input.count == tokens * hiddenSize, "input is not [\(tokens), \(hiddenSize)]")
    var output = [Float](repeating: 0, count: input.count)
    try input.withUnsafeBufferPointer { x in
      try output.withUnsafeMutableBufferPointer { y in
        try forward(x.baseAddress!, tokens: tokens, into: y.baseAddress!)
      }
    }
    return output
  }
}

/// Whether an FFN is the plain two-matrix form or a gated linear unit.
public enum FeedForwardForm: String, Sendable, Hashable {
  /// `y = W2 · act(W1 x + b1) + b2` (BERT, GPT-2, ViT).
  case plain
  /// `y = Wd · (act(Wg x) ⊙ (Wu x))` (LLaMA, Mistral, Qwen).
  case gated
}
