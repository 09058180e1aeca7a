import EMoECore
import EMoETestSupport
import Foundation

/// Reading golden binary files and comparing floats bit for bit, for the codec tests.
enum CodecTestSupport {
  /// `Fixtures/codec_golden/`.
  static var goldenFolder: String { TestPaths.fixtures + "/codec_golden" }

  /// The bytes of the file at `path`.
  static func bytes(_ path: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
  }

  /// The little-endian F32 values in the file at `path`.
  static func floats(_ path: String) throws -> [Float] {
    let raw = try bytes(path)
    return stride(from: 0, to: raw.count - 3, by: 4).map { offset in
      Float(
        bitPattern: UInt32(raw[offset]) | UInt32(raw[offset + 1]) << 8
          | UInt32(raw[offset + 2]) << 16 | UInt32(raw[offset + 3]) << 24)
    }
  }

  /// The index of the first value that differs (bit patterns differ, unless both are NaN), or
  /// `nil` when the arrays agree.
  static func firstMismatch(_ actual: [Float], _ expected: [Float]) -> Int? {
    if actual.count != expected.count { return min(actual.count, expected.count) }
    for index in actual.indices {
      let a = actual[index]
      let e = expected[index]
      if a.isNaN && e.isNaN { continue }
      if a.bitPattern != e.bitPattern { return index }
    }
    return nil
  }

  /// A short report of the mismatch at `index`.
  static func describe(_ actual: [Float], _ expected: [Float], at index: Int) -> String {
    guard index < actual.count, index < expected.count else {
      return "counts differ: \(actual.count) vs \(expected.count)"
    }
    let a = actual[index]
    let e = expected[index]
    return "value \(index): got \(a) (0x\(String(a.bitPattern, radix: 16))), "
      + "expected \(e) (0x\(String(e.bitPattern, radix: 16)))"
  }
}
