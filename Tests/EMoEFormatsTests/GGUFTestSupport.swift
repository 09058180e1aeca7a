import EMoECore
import EMoEFormats
import Foundation

/// Shared helpers for the GGUF tests: a canonical text form of metadata values that the Python
/// scripts print too, and sample metadata covering every value type.
enum GGUFTestSupport {
  /// `type:value`, with floats as hex bit patterns and strings as hex UTF-8, so Swift and Python
  /// can compare values (and types) exactly as text.
  static func canonical(_ value: GGUFValue) -> String {
    switch value {
    case .array(let elementType, let elements):
      return "array<\(elementType)>[" + elements.map(payload).joined(separator: ",") + "]"
    default:
      return "\(value.type):" + payload(value)
    }
  }

  private static func payload(_ value: GGUFValue) -> String {
    switch value {
    case .uint8(let v): String(v)
    case .int8(let v): String(v)
    case .uint16(let v): String(v)
    case .int16(let v): String(v)
    case .uint32(let v): String(v)
    case .int32(let v): String(v)
    case .uint64(let v): String(v)
    case .int64(let v): String(v)
    case .float32(let v): hex(UInt64(v.bitPattern), digits: 8)
    case .float64(let v): hex(v.bitPattern, digits: 16)
    case .bool(let v): v ? "true" : "false"
    case .string(let v): v.utf8.map { hex(UInt64($0), digits: 2) }.joined()
    case .array: canonical(value)
    }
  }

  private static func hex(_ value: UInt64, digits: Int) -> String {
    let text = String(value, radix: 16)
    return String(repeating: "0", count: max(0, digits - text.count)) + text
  }

  /// Metadata with every value type, extreme values, unicode, and every array element type.
  static let sampleMetadata: [(key: String, value: GGUFValue)] = [
    ("general.architecture", .string("llama")),
    ("general.alignment", .uint32(64)),
    ("t.u8", .uint8(255)),
    ("t.i8", .int8(-128)),
    ("t.u16", .uint16(65535)),
    ("t.i16", .int16(-32768)),
    ("t.u32", .uint32(4_294_967_295)),
    ("t.i32", .int32(-2_147_483_648)),
    ("t.f32", .float32(-1.5e-7)),
    ("t.f32.nan", .float32(.nan)),
    ("t.f32.inf", .float32(-.infinity)),
    ("t.bool", .bool(true)),
    ("t.bool.false", .bool(false)),
    ("t.string", .string("héllo, 世界 \u{1F600}\n\"quoted\"")),
    ("t.string.empty", .string("")),
    ("t.u64", .uint64(18_446_744_073_709_551_615)),
    ("t.i64", .int64(-9_223_372_036_854_775_808)),
    ("t.f64", .float64(2.2250738585072014e-308)),
    ("t.arr.u8", .array(elementType: .uint8, elements: [.uint8(0), .uint8(7), .uint8(255)])),
    ("t.arr.i8", .array(elementType: .int8, elements: [.int8(-1), .int8(1)])),
    ("t.arr.u16", .array(elementType: .uint16, elements: [.uint16(1), .uint16(65535)])),
    ("t.arr.i16", .array(elementType: .int16, elements: [.int16(-2)])),
    ("t.arr.u32", .array(elementType: .uint32, elements: [.uint32(3), .uint32(4)])),
    ("t.arr.i32", .array(elementType: .int32, elements: (0..<40).map { .int32(Int32($0) - 20) })),
    ("t.arr.f32", .array(elementType: .float32, elements: [.float32(0.1), .float32(-0.0)])),
    ("t.arr.bool", .array(elementType: .bool, elements: [.bool(true), .bool(false)])),
    (
      "t.arr.string",
      .array(elementType: .string, elements: [.string("a"), .string(""), .string("ü")])
    ),
    ("t.arr.u64", .array(elementType: .uint64, elements: [.uint64(1 << 63)])),
    ("t.arr.i64", .array(elementType: .int64, elements: [.int64(-5)])),
    ("t.arr.f64", .array(elementType: .float64, elements: [.float64(1e300)])),
    ("t.arr.empty", .array(elementType: .string, elements: [])),
  ]

  /// Deterministic pseudo-random bytes.
  static func bytes(count: Int, seed: UInt64) -> [UInt8] {
    var state = seed
    return (0..<count).map { _ in
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return UInt8(truncatingIfNeeded: state >> 33)
    }
  }

  /// Sample tensors of several types, including quantised ones with random (but sane-scaled)
  /// blocks.
  static func sampleTensors() -> [Tensor] {
    let f32 = Tensor(name: "f32.weight", shape: [3, 5], float32: (0..<15).map { Float($0) * 0.25 })
    let f16 = Tensor(
      name: "f16.weight", dtype: .f16, shape: [2, 3],
      storage: .owned(
        [Float](arrayLiteral: 1, -2, 0.5, 65504, 0, -0.0).flatMap { value in
          withUnsafeBytes(of: Float16(value).bitPattern.littleEndian) { Array($0) }
        }))
    let bf16 = Tensor(
      name: "bf16.weight", dtype: .bf16, shape: [4], storage: .owned(bytes(count: 8, seed: 1)))
    var q8 = bytes(count: 34 * 6, seed: 2)
    var q6 = bytes(count: 210 * 2, seed: 3)
    for block in 0..<6 { q8[block * 34 + 1] = 0x2C }  // sane F16 scales
    for block in 0..<2 { q6[block * 210 + 209] = 0x1C }
    let q8Tensor = Tensor(name: "q8.weight", dtype: .q8_0, shape: [3, 64], storage: .owned(q8))
    let q6Tensor = Tensor(name: "q6.weight", dtype: .q6_K, shape: [2, 256], storage: .owned(q6))
    let q41 = Tensor(
      name: "blk.0.ffn_up.weight", dtype: .q4_1, shape: [2, 1, 32],
      storage: .owned(bytes(count: 40, seed: 4)))
    let i32 = Tensor(
      name: "ints", dtype: .i32, shape: [5], storage: .owned(bytes(count: 20, seed: 5)))
    let scalar = Tensor(name: "scalar", shape: [1], float32: [42])
    return [f32, f16, bf16, q8Tensor, q6Tensor, q41, i32, scalar]
  }
}
