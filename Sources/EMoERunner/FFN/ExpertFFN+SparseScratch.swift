extension ExpertFFN {
  /// One sparse-path worker's buffers, sized for the busiest expert and reused for every expert
  /// the worker computes.
  final class SparseScratch: Sendable {
    /// The expert's tokens' input rows, gathered.
    let gathered: FloatBuffer
    /// The up projection, then (ungated) the hidden activations.
    let up: FloatBuffer
    /// The gate projection, then the hidden activations; nil for ungated FFNs.
    let gate: FloatBuffer?
    /// Decoded weight rows of one expert block; empty when the rows are read in place.
    let decoded: FloatBuffer

    init(tokens: Int, rows: Int, hiddenSize: Int, gated: Bool, decoding: Bool) {
      gathered = FloatBuffer(count: tokens * hiddenSize)
      up = FloatBuffer(count: tokens * rows)
      gate = gated ? FloatBuffer(count: tokens * rows) : nil
      decoded = FloatBuffer(count: decoding ? rows * hiddenSize : 0)
    }
  }
}
