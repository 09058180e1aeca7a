import EMoECore
import EMoEFormats
import EMoENumerics

/// The FFN inputs `verify` feeds each converted layer: random unit-variance hidden states from a
/// fixed seed, or hidden states read from a safetensors file.
///
/// Random inputs are i.i.d. N(0, 1) values, the scale of the normalised hidden states an FFN
/// sees in BERT (after LayerNorm) and LLaMA (after RMSNorm): SplitMix64 from `seed` feeds the
/// Box–Muller transform in double precision, row by row, so the same seed gives the same
/// values on every machine.
///
/// A file holds one `[T, d]` float tensor (F32, F16, BF16 or F64) per use: `hidden_states.L`
/// for layer L, else `hidden_states` for every layer.
public enum HiddenStateInputs {
  /// The name of the input tensor for every layer.
  public static let tensorName = "hidden_states"

  /// `tokens × dimension` standard-normal values from `seed`.
  public static func random(tokens: Int, dimension: Int, seed: UInt64) -> [Float] {
    var state = seed
    func next() -> UInt64 {
      state &+= 0x9E37_79B9_7F4A_7C15
      var z = state
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }
    func uniform() -> Double { (Double(next() >> 11) + 0.5) / 9_007_199_254_740_992 }
    let count = tokens * dimension
    var values = [Float](repeating: 0, count: count)
    var index = 0
    while index < count {
      let radius = (-2 * log(uniform())).squareRoot()
      let angle = 2 * Double.pi * uniform()
      values[index] = Float(radius * cos(angle))
      if index + 1 < count { values[index + 1] = Float(radius * sin(angle)) }
      index += 2
    }
    return values
  }

  /// The `[T, dimension]` hidden states for `layer` from the safetensors file at `path`:
  /// `hidden_states.<layer>` if present, else `hidden_states`.
  ///
  /// - Throws: ``VerificationError`` when the file cannot be read, has neither tensor, the
  ///   tensor is not a `[T, dimension]` float matrix with T ≥ 1, or it holds NaN or infinity
  ///   (``VerificationError/isNonFinite``).
  public static func read(from path: String, layer: Int?, dimension: Int) throws(VerificationError)
    -> (values: [Float], tokens: Int)
  {
    let file: SafeTensorsFile
    do {
      file = try SafeTensorsFile(path: path)
    } catch {
      throw VerificationError(reading: path, error)
    }
    let candidates = (layer.map { ["\(tensorName).\($0)"] } ?? []) + [tensorName]
    guard let name = candidates.first(where: { file.entry(named: $0) != nil }) else {
      throw VerificationError(
        "holds no tensor named \(candidates.map { "'\($0)'" }.joined(separator: " or ")) "
          + "(found: \(file.tensorInfos.map(\.name).prefix(8).joined(separator: ", ")))",
        location: ErrorLocation(file: path))
    }
    return try floatMatrix(file, name: name, columns: dimension)
  }

  /// Reads tensor `name` of `file` as a `[rows, columns]` F32 matrix.
  static func floatMatrix(_ file: SafeTensorsFile, name: String, columns: Int)
    throws(VerificationError) -> (values: [Float], tokens: Int)
  {
    let location = ErrorLocation(file: file.path, tensor: name)
    let tensor: Tensor
    do {
      tensor = try file.tensor(named: name)
    } catch {
      throw VerificationError("\(error)", location: location)
    }
    guard tensor.shape.rank == 2, tensor.shape[1] == columns, tensor.shape[0] >= 1 else {
      throw VerificationError(
        "has shape \(tensor.shape); expected [T, \(columns)] with T ≥ 1", location: location)
    }
    guard [.f32, .f16, .bf16, .f64].contains(tensor.dtype) else {
      throw VerificationError(
        "is \(tensor.dtype.rawValue); expected F32, F16, BF16 or F64", location: location)
    }
    let values: [Float]
    do {
      values = try Dequantizer.floats(of: tensor)
    } catch {
      throw VerificationError("\(error)", location: location)
    }
    try FiniteCheck.require(
      values, tensor: name, shape: tensor.shape, file: file.path, what: "the input")
    return (values, tensor.shape[0])
  }
}
