/// Keys and settings that balanced k-means cannot work with.
public enum ClusteringError: Error, Sendable, Equatable, CustomStringConvertible {
  /// The key buffer does not hold `count × dimension` values, or a size is not positive.
  case badKeyShape(values: Int, count: Int, dimension: Int)
  /// The expert count is below 1 or above the number of keys.
  case expertCountOutOfRange(experts: Int, keys: Int)
  /// The number of keys is not a multiple of the expert count and uneven sizes were not allowed.
  case notDivisible(keys: Int, experts: Int)
  /// A key holds NaN or infinity.
  case nonFinite(row: Int)
  /// Sizes past what the BLAS interface accepts (32-bit dimensions).
  case tooLarge(keys: Int, dimension: Int)

  /// A message for the user.
  public var description: String {
    switch self {
    case .badKeyShape(let values, let count, let dimension):
      "keys: \(values) values do not form \(count) keys of dimension \(dimension)"
    case .expertCountOutOfRange(let experts, let keys):
      "\(experts) experts is outside 1...\(keys) (the number of keys)"
    case .notDivisible(let keys, let experts):
      "\(keys) keys do not split into \(experts) equal experts (allow uneven sizes or choose an expert count dividing \(keys))"
    case .nonFinite(let row):
      "key \(row) holds NaN or infinity"
    case .tooLarge(let keys, let dimension):
      "\(keys) keys of dimension \(dimension) exceed the 32-bit sizes BLAS accepts"
    }
  }
}
