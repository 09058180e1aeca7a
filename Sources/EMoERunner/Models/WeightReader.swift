import EMoECore
import EMoEFormats
import EMoENumerics

/// Reads a model's tensors as F32, checking each one's shape, for the whole-model runners.
///
/// Every tensor decodes through the shared ``EMoENumerics/Dequantizer/floats(of:)``.
struct WeightReader: Sendable {
  /// The model.
  let source: any ModelSource
  private let names: Set<String>

  init(_ source: any ModelSource) {
    self.source = source
    names = Set(source.tensorInfos.map(\.name))
  }

  /// Whether the model has a tensor named `name`.
  func has(_ name: String) -> Bool { names.contains(name) }

  /// The values of `name`, which must have `shape`.
  func floats(_ name: String, shape: [Int]) throws(RunnerError) -> [Float] {
    guard has(name) else {
      throw RunnerError("the model has no such tensor", file: source.path, tensor: name)
    }
    let tensor: Tensor
    do {
      tensor = try source.tensor(named: name)
    } catch {
      throw RunnerError("cannot be read: \(error)", file: source.path, tensor: name)
    }
    guard tensor.shape.dimensions == shape else {
      throw RunnerError(
        "has shape \(tensor.shape), expected \(Shape(shape))", file: source.path, tensor: name)
    }
    do {
      return try Dequantizer.floats(of: tensor)
    } catch {
      throw RunnerError("cannot be decoded to F32: \(error)", file: source.path, tensor: name)
    }
  }

  /// The values of `name` when the model has it (with `shape`), otherwise `nil`.
  func optionalFloats(_ name: String, shape: [Int]) throws(RunnerError) -> [Float]? {
    has(name) ? try floats(name, shape: shape) : nil
  }
}
