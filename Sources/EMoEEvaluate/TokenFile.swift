import EMoECore
import EMoEFormats

/// Token ids given directly: `input_ids` `[T]` or `[1, T]`, I32 or I64, in a safetensors file.
enum TokenFile {
  static func read(_ path: String) throws(EvaluationError) -> [Int] {
    let tensor: Tensor
    do {
      let file = try SafeTensorsFile(path: path)
      guard file.entry(named: "input_ids") != nil else {
        throw EvaluationError(
          "holds no 'input_ids' tensor", location: ErrorLocation(file: path))
      }
      tensor = try file.tensor(named: "input_ids")
    } catch let error as EvaluationError {
      throw error
    } catch {
      throw EvaluationError("\(error)", location: ErrorLocation(file: path))
    }
    let dims = tensor.shape.dimensions
    guard dims.count == 1 || (dims.count == 2 && dims[0] == 1), tensor.elementCount >= 2,
      tensor.dtype == .i32 || tensor.dtype == .i64
    else {
      throw EvaluationError(
        "is \(tensor.dtype.rawValue) \(tensor.shape); expected I32 or I64 [T] or [1, T], T ≥ 2",
        location: ErrorLocation(file: path, tensor: "input_ids"))
    }
    let wide = tensor.dtype == .i64
    return tensor.withUnsafeBytes { raw in
      (0..<tensor.elementCount).map { index in
        wide
          ? Int(
            truncatingIfNeeded: Int64(
              littleEndian: raw.loadUnaligned(fromByteOffset: index * 8, as: Int64.self)))
          : Int(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: index * 4, as: Int32.self)))
      }
    }
  }
}
