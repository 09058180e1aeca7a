import EMoERunner
import Synchronization

/// An EMoE FFN that also counts how many tokens each expert receives, for the report's expert
/// load.
final class LoadCountingFFN: FeedForwardBlock {
  /// The FFN that routes and computes.
  let ffn: ExpertFFN
  private let counts: Mutex<[Int]>

  init(_ ffn: ExpertFFN) {
    self.ffn = ffn
    counts = Mutex([Int](repeating: 0, count: ffn.weights.expertCount))
  }

  var hiddenSize: Int { ffn.hiddenSize }

  /// Tokens routed to each expert so far.
  var load: [Int] { counts.withLock { $0 } }

  func forward(_ input: UnsafePointer<Float>, tokens: Int, into output: UnsafeMutablePointer<Float>)
    throws
  {
    let routing = ffn.route(input, tokens: tokens)
    counts.withLock { counts in
      for expert in routing.selected { counts[expert] += 1 }
    }
    try ffn.forward(input, tokens: tokens, routing: routing, path: ffn.path, into: output)
  }
}
