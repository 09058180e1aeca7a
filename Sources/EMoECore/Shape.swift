/// The dimensions of a tensor in row-major (PyTorch and numpy) order, outermost first.
public struct Shape: Hashable, Sendable, Codable, ExpressibleByArrayLiteral,
  CustomStringConvertible
{
  /// The dimensions, outermost first.
  public var dimensions: [Int]

  /// Creates a shape from its dimensions, outermost first.
  public init(_ dimensions: [Int]) { self.dimensions = dimensions }

  /// Creates a shape from an array literal.
  public init(arrayLiteral elements: Int...) { self.dimensions = elements }

  /// The number of dimensions (0 for a scalar).
  public var rank: Int { dimensions.count }

  /// The number of elements, or `nil` when a dimension is negative or the product overflows.
  ///
  /// A scalar (rank 0) has one element; any zero dimension gives zero.
  public var elementCount: Int? {
    var product = 1
    for dimension in dimensions {
      guard dimension >= 0 else { return nil }
      let (next, overflow) = product.multipliedReportingOverflow(by: dimension)
      if overflow { return nil }
      product = next
    }
    return product
  }

  /// The shape written as `[a, b, c]`.
  public var description: String { "[" + dimensions.map(String.init).joined(separator: ", ") + "]" }

  /// The dimension at `index`, outermost first.
  public subscript(index: Int) -> Int { dimensions[index] }

  /// Encodes as a plain JSON array of dimensions.
  public func encode(to encoder: any Encoder) throws {
    var container = encoder.singleValueContainer()
    try container.encode(dimensions)
  }

  /// Decodes from a plain JSON array of dimensions.
  public init(from decoder: any Decoder) throws {
    dimensions = try decoder.singleValueContainer().decode([Int].self)
  }
}
