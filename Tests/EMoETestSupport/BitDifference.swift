/// The first place where two float arrays differ bit for bit, described in one short line.
///
/// Comparing whole arrays in `#expect` prints every element on failure (tens of thousands of
/// numbers for a layer's output); this names the count of differing elements, the first index
/// and a few values on each side instead. `nil` when the arrays are bit-identical.
public struct BitDifference: CustomStringConvertible, Sendable {
  /// How many elements differ (or the two lengths, when they differ).
  public let differing: Int
  /// The first differing index.
  public let firstIndex: Int
  /// A few values of each array from ``firstIndex`` on.
  public let left: [Float]
  public let right: [Float]
  /// The lengths of the two arrays.
  public let counts: (Int, Int)

  /// Compares `left` and `right` bit for bit.
  public static func between(_ left: [Float], _ right: [Float]) -> BitDifference? {
    let common = min(left.count, right.count)
    var first: Int?
    var differing = 0
    for index in 0..<common where left[index].bitPattern != right[index].bitPattern {
      if first == nil { first = index }
      differing += 1
    }
    if first == nil, left.count == right.count { return nil }
    let start = first ?? common
    let end = { (array: [Float]) in
      Array(array[min(start, array.count)..<min(start + 4, array.count)])
    }
    return BitDifference(
      differing: differing + abs(left.count - right.count), firstIndex: start,
      left: end(left), right: end(right), counts: (left.count, right.count))
  }

  public var description: String {
    "\(differing) of \(max(counts.0, counts.1)) values differ (lengths \(counts.0) and \(counts.1)); "
      + "first at index \(firstIndex): \(left) vs \(right)"
  }
}
