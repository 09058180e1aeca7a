import EMoERunner
import Synchronization

/// A layer's dense FFN that keeps a copy of every input row it computes, so that calibration
/// sees what the layer sees on real text.
final class ActivationRecorder: FeedForwardBlock {
  /// The layer's dense FFN, which computes the output.
  let dense: DenseFFN
  private let rows = Mutex<[Float]>([])

  var hiddenSize: Int { dense.hiddenSize }

  init(_ dense: DenseFFN) { self.dense = dense }

  func forward(_ input: UnsafePointer<Float>, tokens: Int, into output: UnsafeMutablePointer<Float>)
    throws
  {
    let count = tokens * hiddenSize
    rows.withLock { $0.append(contentsOf: UnsafeBufferPointer(start: input, count: count)) }
    dense.forward(input, tokens: tokens, into: output)
  }

  /// Every input row recorded so far, `[tokens, hiddenSize]` row-major.
  var inputs: [Float] { rows.withLock { $0 } }
}
