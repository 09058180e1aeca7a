import EMoEConvert
import Foundation

/// Deterministic key sets for clustering tests.
enum ClusteringTestData {
  /// `count` keys of `dimension` values drawn around `centres` random directions with noise.
  static func clusteredKeys(count: Int, dimension: Int, centres: Int, seed: UInt64) -> [Float] {
    var generator = SplitMix64(seed: seed)
    func uniform() -> Float { Float(generator.nextUnit()) * 2 - 1 }
    let directions = (0..<(centres * dimension)).map { _ in uniform() }
    var keys = [Float](repeating: 0, count: count * dimension)
    for row in 0..<count {
      let centre = generator.nextIndex(below: centres)
      for column in 0..<dimension {
        keys[row * dimension + column] = directions[centre * dimension + column] + 0.6 * uniform()
      }
    }
    return keys
  }

  /// Raw little-endian F32 values from a file.
  static func floats(atPath path: String) throws -> [Float] {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
  }

  /// Writes F32 values to a file as raw little-endian bytes.
  static func write(_ values: [Float], toPath path: String) throws {
    try values.withUnsafeBytes { Data($0) }.write(to: URL(fileURLWithPath: path))
  }
}
