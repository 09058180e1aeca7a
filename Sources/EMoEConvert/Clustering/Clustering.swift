/// The result of balanced k-means: which expert each key joins, and how good the split is.
public struct Clustering: Sendable {
  /// The expert of each key (`0 ..< experts`), indexed by key.
  public var assignment: [Int]
  /// The number of experts.
  public var experts: Int
  /// The number of keys in each expert.
  public var sizes: [Int]
  /// The cluster means of the L2-normalised keys, `[experts, dimension]` row-major.
  public var centroids: [Float]
  /// The sum of squared distances of the normalised keys to their cluster means.
  public var sse: Double
  /// Lloyd iterations of the chosen restart (all rounds, including those after swaps).
  public var iterations: Int
  /// Lloyd iterations over all restarts.
  public var totalIterations: Int
  /// Pairwise swaps the local-improvement pass applied to the chosen restart.
  public var swaps: Int
  /// The SSE each restart reached, in restart order.
  public var restartSSE: [Double]
  /// The index of the chosen restart (lowest SSE; the earlier on ties).
  public var bestRestart: Int
  /// Wall-clock seconds of the whole fit.
  public var seconds: Double

  /// The experts as contiguous blocks: σ lists the key indices expert by expert (expert 0's
  /// keys first), ascending within an expert.
  ///
  /// Experts are numbered by their smallest key index, so the numbering does not depend on how
  /// the clustering happened to label them.
  public var partition: ExpertPartition {
    ExpertPartition(assignment: assignment, expertCount: experts)
  }
}
