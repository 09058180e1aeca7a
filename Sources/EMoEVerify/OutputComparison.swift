import EMoECore

/// How far one `[tokens, width]` output is from a reference output.
///
/// Relative error is defined against the reference's largest magnitude, not elementwise, so
/// outputs near zero do not inflate it: `maxRelative = max|y − y_ref| / max|y_ref|` over every
/// token and column (`max|Δ|` itself when the reference is all zeros). Cosine is the smallest
/// per-token cosine similarity (a token whose two rows are both zero counts as 1).
public struct OutputComparison: Sendable, Equatable {
  /// `max |y − y_ref|`.
  public var maxAbsolute: Double
  /// `max |y_ref|`.
  public var referenceScale: Double
  /// The smallest per-token cosine similarity.
  public var minimumCosine: Double
  /// The mean per-token cosine similarity.
  public var meanCosine: Double
  /// The number of tokens compared.
  public var tokens: Int

  /// `maxAbsolute / referenceScale`, or `maxAbsolute` when the reference is zero.
  public var maxRelative: Double {
    referenceScale > 0 ? maxAbsolute / referenceScale : maxAbsolute
  }

  /// Compares `output` with `reference`, both `[tokens, width]` row-major, over the tokens for
  /// which `include` is true (every token when `nil`).
  public init(
    _ output: UnsafePointer<Float>, reference: UnsafePointer<Float>, tokens: Int, width: Int,
    include: [Bool]? = nil
  ) {
    var maxAbsolute = 0.0
    var scale = 0.0
    var minimumCosine = 1.0
    var cosineSum = 0.0
    var counted = 0
    for token in 0..<tokens where include?[token] ?? true {
      var dot = 0.0
      var outputNorm = 0.0
      var referenceNorm = 0.0
      for column in 0..<width {
        let y = Double(output[token * width + column])
        let r = Double(reference[token * width + column])
        let difference = abs(y - r)
        // NaN anywhere must fail a comparison, so it wins every maximum.
        if difference.isNaN || difference > maxAbsolute { maxAbsolute = difference }
        if abs(r) > scale { scale = abs(r) }
        dot += y * r
        outputNorm += y * y
        referenceNorm += r * r
      }
      let cosine =
        outputNorm == 0 && referenceNorm == 0
        ? 1 : dot / (outputNorm.squareRoot() * referenceNorm.squareRoot())
      if cosine.isNaN || cosine < minimumCosine { minimumCosine = cosine }
      cosineSum += cosine
      counted += 1
    }
    self.maxAbsolute = maxAbsolute
    self.referenceScale = scale
    self.minimumCosine = minimumCosine
    self.meanCosine = counted == 0 ? 1 : cosineSum / Double(counted)
    self.tokens = counted
  }

  /// Compares two arrays holding `[tokens, width]`.
  public init(
    _ output: [Float], reference: [Float], tokens: Int, width: Int, include: [Bool]? = nil
  ) {
    precondition(output.count >= tokens * width && reference.count >= tokens * width, "sizes")
    self = output.withUnsafeBufferPointer { y in
      reference.withUnsafeBufferPointer { r in
        OutputComparison(
          y.baseAddress!, reference: r.baseAddress!, tokens: tokens, width: width,
          include: include)
      }
    }
  }

  /// The figures as JSON members.
  public var measures: [JSONMember] {
    [
      JSONMember("max_abs_error", .number(maxAbsolute)),
      JSONMember("max_rel_error", .number(maxRelative)),
      JSONMember("reference_max_abs", .number(referenceScale)),
      JSONMember("min_cosine", .number(minimumCosine)),
      JSONMember("mean_cosine", .number(meanCosine)),
      JSONMember("tokens", .integer(Int64(tokens))),
    ]
  }
}
