import EMoENumerics

/// The F32 weight matrix of one linear map from `inputs` to `outputs` values, in the layout its
/// source file uses.
public struct LinearWeights: Sendable {
  /// How the matrix is stored.
  public enum Layout: String, Sendable, Hashable {
    /// `[outputs, inputs]`: PyTorch's `nn.Linear` and GGUF (one row per output).
    case outputMajor
    /// `[inputs, outputs]`: GPT-2's `Conv1D` (one row per input).
    case inputMajor
  }

  /// The row-major values, `outputs · inputs` of them.
  public let values: [Float]
  /// The length of each input vector.
  public let inputs: Int
  /// The length of each output vector.
  public let outputs: Int
  /// How ``values`` are arranged.
  public let layout: Layout

  /// Wraps `values` after checking their count.
  ///
  /// - Throws: ``RunnerError`` when `values.count != inputs · outputs`.
  public init(values: [Float], inputs: Int, outputs: Int, layout: Layout = .outputMajor)
    throws(RunnerError)
  {
    guard inputs > 0, outputs > 0, values.count == inputs * outputs else {
      throw RunnerError(
        "a \(inputs) → \(outputs) matrix needs \(inputs * outputs) values, got \(values.count)")
    }
    self.values = values
    self.inputs = inputs
    self.outputs = outputs
    self.layout = layout
  }

  /// Computes `Y = X · Wᵀ` (or `X · W` for input-major storage) for `tokens` rows of `X`
  /// (`[tokens, inputs]`, row stride `inputs`) into `Y` (`[tokens, outputs]`, row stride
  /// `outputStride`), adding to `Y` when `accumulate` is set.
  func apply(
    _ x: UnsafePointer<Float>, tokens: Int, into y: UnsafeMutablePointer<Float>,
    outputStride: Int? = nil, accumulate: Bool = false
  ) {
    values.withUnsafeBufferPointer { w in
      BLAS.sgemm(
        .none, layout == .outputMajor ? .transposed : .none, m: tokens, n: outputs, k: inputs,
        a: x, lda: inputs, b: w.baseAddress!, ldb: layout == .outputMajor ? inputs : outputs,
        beta: accumulate ? 1 : 0, c: y, ldc: outputStride ?? outputs)
    }
  }

  /// Row `output` of the output-major form (the weights of one output), as a new array.
  public func outputRow(_ output: Int) -> [Float] {
    switch layout {
    case .outputMajor:
      return Array(values[(output * inputs)..<((output + 1) * inputs)])
    case .inputMajor:
      return (0..<inputs).map { values[$0 * outputs + output] }
    }
  }

  /// The same map stored output-major (`[outputs, inputs]`).
  public func outputMajor() -> LinearWeights {
    guard layout == .inputMajor else { return self }
    var transposed = [Float](repeating: 0, count: values.count)
    for input in 0..<inputs {
      for output in 0..<outputs {
        transposed[output * inputs + input] = values[input * outputs + output]
      }
    }
    return try! LinearWeights(values: transposed, inputs: inputs, outputs: outputs)
  }
}
