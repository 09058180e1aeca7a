import EMoEModel
import EMoENumerics

extension Activation {
  /// The runner's activation for the model registry's.
  public init(_ activation: FFNActivation) {
    switch activation {
    case .gelu: self = .geluErf
    case .geluTanh: self = .geluTanh
    case .relu: self = .relu
    case .silu: self = .silu
    }
  }
}

extension DenseFFN {
  /// The dense FFN of a detected layer, its matrices read as F32 through ``EMoEModel/LayerFFN``
  /// (so the runner and the converter agree on what the layer is).
  ///
  /// - Throws: ``EMoEModel/ModelError`` when a tensor is missing or cannot be decoded;
  ///   ``RunnerError`` when the shapes do not agree.
  public init(_ layer: LayerFFN) throws {
    let d = layer.hiddenSize
    let n = layer.intermediateSize
    func optional(_ role: FFNRole) throws -> [Float]? {
      layer.member(role) == nil ? nil : try layer.floats(role)
    }
    // LayerFFN hands out every matrix neuron-major, [n, d]: the input side maps d → n
    // output-major, the output side maps n → d input-major.
    func inputSide(_ role: FFNRole) throws -> LinearWeights {
      try LinearWeights(values: layer.floats(role), inputs: d, outputs: n, layout: .outputMajor)
    }
    func outputSide(_ role: FFNRole) throws -> LinearWeights {
      try LinearWeights(values: layer.floats(role), inputs: n, outputs: d, layout: .inputMajor)
    }
    if layer.isGLU {
      try self.init(
        form: .gated, activation: Activation(layer.activation), gate: inputSide(.gate),
        up: inputSide(.up), down: outputSide(.down), gateBias: optional(.gateBias),
        upBias: optional(.upBias), downBias: optional(.downBias))
    } else {
      try self.init(
        form: .plain, activation: Activation(layer.activation), up: inputSide(.w1),
        down: outputSide(.w2), upBias: optional(.b1), downBias: optional(.b2))
    }
  }
}
