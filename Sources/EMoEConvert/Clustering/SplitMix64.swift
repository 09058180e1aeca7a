/// A small seeded pseudo-random generator (Steele, Lea and Flood's SplitMix64), so clustering
/// results are identical on every platform and Swift version.
public struct SplitMix64: RandomNumberGenerator, Sendable {
  private var state: UInt64

  /// Creates a generator from a seed.
  public init(seed: UInt64) { state = seed }

  /// The next 64 random bits.
  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// A uniform value in `0 ..< 1` with 53 random bits.
  public mutating func nextUnit() -> Double {
    Double(next() >> 11) * 0x1.0p-53
  }

  /// A uniform integer in `0 ..< bound` (`bound` > 0), free of modulo bias.
  public mutating func nextIndex(below bound: Int) -> Int {
    precondition(bound > 0, "empty range")
    let limit = UInt64(bound)
    let threshold = (0 &- limit) % limit
    while true {
      let value = next()
      let (high, low) = value.multipliedFullWidth(by: limit)
      if low >= threshold { return Int(high) }
    }
  }

  /// An independent stream for `index` derived from `seed` (restart i of a fit, and so on).
  public static func stream(seed: UInt64, index: Int) -> SplitMix64 {
    var mixer = SplitMix64(
      seed: seed ^ (UInt64(truncatingIfNeeded: index) &* 0xD1B5_4A32_D192_ED03))
    return SplitMix64(seed: mixer.next())
  }
}
