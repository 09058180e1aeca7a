import EMoETestSupport
import Foundation

/// Reads the raw little-endian F32 files and JSON indexes of the committed golden data.
enum GoldenFiles {
  /// A float array stored as `file` beside an index, with its shape.
  struct Array32: Codable {
    var file: String
    var shape: [Int]
  }

  /// The values of a raw little-endian F32 file.
  static func floats(_ path: String) throws -> [Float] {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    precondition(data.count % 4 == 0, "\(path) is not whole F32 values")
    return data.withUnsafeBytes { raw in
      (0..<(data.count / 4)).map {
        Float(
          bitPattern: UInt32(
            littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)))
      }
    }
  }

  /// The values of `array` in the folder `directory`, checked against its shape.
  static func floats(_ array: Array32, in directory: String) throws -> [Float] {
    let values = try floats(directory + "/" + array.file)
    precondition(values.count == array.shape.reduce(1, *), "\(array.file) does not match its shape")
    return values
  }

  /// Decodes the JSON index at `path`.
  static func index<T: Decodable>(_ type: T.Type, at path: String) throws -> T {
    try JSONDecoder().decode(T.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
  }
}

/// Distances between two float vectors for tolerance checks.
struct Comparison: CustomStringConvertible {
  /// The largest absolute difference.
  var maxAbs: Float
  /// The largest absolute value of the reference.
  var referenceMax: Float
  /// The cosine similarity (computed in double precision).
  var cosine: Double

  init(_ actual: [Float], _ expected: [Float]) {
    precondition(actual.count == expected.count, "\(actual.count) vs \(expected.count) values")
    var maxAbs: Float = 0
    var referenceMax: Float = 0
    var dot = 0.0
    var normA = 0.0
    var normB = 0.0
    for (a, b) in zip(actual, expected) {
      maxAbs = max(maxAbs, abs(a - b).isNaN ? .infinity : abs(a - b))
      referenceMax = max(referenceMax, abs(b))
      dot += Double(a) * Double(b)
      normA += Double(a) * Double(a)
      normB += Double(b) * Double(b)
    }
    self.maxAbs = maxAbs
    self.referenceMax = referenceMax
    cosine = normA > 0 && normB > 0 ? dot / (normA.squareRoot() * normB.squareRoot()) : 0
  }

  var description: String {
    "max |Δ| = \(maxAbs) (reference max \(referenceMax)), cosine = \(cosine)"
  }
}
