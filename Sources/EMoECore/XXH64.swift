/// An incremental XXH64 hash (Yann Collet's xxHash, 64-bit variant), used for the `.emoe`
/// container's checksums.
///
/// XXH64 runs at several GB/s, so checksumming a 10 GB model costs seconds, where SHA-256 would
/// cost a minute; it is a checksum against corruption, not a defence against tampering (provenance
/// uses ``SHA256`` for that). The digest is the same whatever the split of the input into
/// ``update(_:)`` calls.
public struct XXH64: Sendable {
  private static let prime1: UInt64 = 0x9E37_79B1_85EB_CA87
  private static let prime2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
  private static let prime3: UInt64 = 0x1656_67B1_9E37_79F9
  private static let prime4: UInt64 = 0x85EB_CA77_C2B2_AE63
  private static let prime5: UInt64 = 0x27D4_EB2F_1656_67C5

  private let seed: UInt64
  private var lanes: (UInt64, UInt64, UInt64, UInt64)
  private var pending: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
  private var pendingCount = 0
  private var totalBytes: UInt64 = 0

  /// Creates an empty hash with `seed` (the container always uses 0).
  public init(seed: UInt64 = 0) {
    self.seed = seed
    lanes = (
      seed &+ XXH64.prime1 &+ XXH64.prime2, seed &+ XXH64.prime2, seed, seed &- XXH64.prime1
    )
  }

  /// Hashes `bytes` in one call.
  public static func hash(_ bytes: UnsafeRawBufferPointer, seed: UInt64 = 0) -> UInt64 {
    var hasher = XXH64(seed: seed)
    hasher.update(bytes)
    return hasher.finalize()
  }

  /// Hashes the bytes of `array` in one call.
  public static func hash(_ array: [UInt8], seed: UInt64 = 0) -> UInt64 {
    array.withUnsafeBytes { hash($0, seed: seed) }
  }

  /// The digest as 16 lowercase hex digits, most significant first (xxhsum's canonical form).
  public static func hex(_ digest: UInt64) -> String {
    let digits = String(digest, radix: 16)
    return String(repeating: "0", count: 16 - digits.count) + digits
  }

  /// Adds `bytes` to the hash.
  public mutating func update(_ bytes: UnsafeRawBufferPointer) {
    guard let base = bytes.baseAddress, bytes.count > 0 else { return }
    totalBytes &+= UInt64(bytes.count)
    var offset = 0
    if pendingCount > 0 {
      let take = min(32 - pendingCount, bytes.count)
      withUnsafeMutableBytes(of: &pending) { stripe in
        stripe.baseAddress!.advanced(by: pendingCount).copyMemory(from: base, byteCount: take)
      }
      pendingCount += take
      offset = take
      guard pendingCount == 32 else { return }
      let stripe = pending
      lanes.0 = XXH64.round(lanes.0, UInt64(littleEndian: stripe.0))
      lanes.1 = XXH64.round(lanes.1, UInt64(littleEndian: stripe.1))
      lanes.2 = XXH64.round(lanes.2, UInt64(littleEndian: stripe.2))
      lanes.3 = XXH64.round(lanes.3, UInt64(littleEndian: stripe.3))
      pendingCount = 0
    }
    // The hot loop keeps the four lanes in locals so they stay in registers.
    var (v1, v2, v3, v4) = lanes
    while bytes.count - offset >= 32 {
      let p = base + offset
      v1 = XXH64.round(v1, UInt64(littleEndian: p.loadUnaligned(as: UInt64.self)))
      v2 = XXH64.round(
        v2, UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
      v3 = XXH64.round(
        v3, UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 16, as: UInt64.self)))
      v4 = XXH64.round(
        v4, UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 24, as: UInt64.self)))
      offset += 32
    }
    lanes = (v1, v2, v3, v4)
    let rest = bytes.count - offset
    if rest > 0 {
      withUnsafeMutableBytes(of: &pending) { stripe in
        stripe.baseAddress!.copyMemory(from: base + offset, byteCount: rest)
      }
      pendingCount = rest
    }
  }

  /// Adds the bytes of `array` to the hash.
  public mutating func update(_ array: [UInt8]) {
    array.withUnsafeBytes { update($0) }
  }

  /// The digest of everything added so far; the hash may be updated further afterwards.
  public func finalize() -> UInt64 {
    var hash: UInt64
    if totalBytes >= 32 {
      let (v1, v2, v3, v4) = lanes
      hash = rotl(v1, 1) &+ rotl(v2, 7) &+ rotl(v3, 12) &+ rotl(v4, 18)
      hash = XXH64.merge(hash, v1)
      hash = XXH64.merge(hash, v2)
      hash = XXH64.merge(hash, v3)
      hash = XXH64.merge(hash, v4)
    } else {
      hash = seed &+ XXH64.prime5
    }
    hash &+= totalBytes
    var tail = pending
    let count = pendingCount
    withUnsafeBytes(of: &tail) { raw in
      var offset = 0
      while count - offset >= 8 {
        let lane = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
        hash ^= XXH64.round(0, lane)
        hash = rotl(hash, 27) &* XXH64.prime1 &+ XXH64.prime4
        offset += 8
      }
      if count - offset >= 4 {
        let word = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
        hash ^= UInt64(word) &* XXH64.prime1
        hash = rotl(hash, 23) &* XXH64.prime2 &+ XXH64.prime3
        offset += 4
      }
      while offset < count {
        hash ^= UInt64(raw[offset]) &* XXH64.prime5
        hash = rotl(hash, 11) &* XXH64.prime1
        offset += 1
      }
    }
    hash ^= hash >> 33
    hash &*= XXH64.prime2
    hash ^= hash >> 29
    hash &*= XXH64.prime3
    hash ^= hash >> 32
    return hash
  }

  @inline(__always)
  private static func round(_ accumulator: UInt64, _ input: UInt64) -> UInt64 {
    rotl(accumulator &+ input &* prime2, 31) &* prime1
  }

  @inline(__always)
  private static func merge(_ accumulator: UInt64, _ lane: UInt64) -> UInt64 {
    (accumulator ^ round(0, lane)) &* prime1 &+ prime4
  }
}

@inline(__always)
private func rotl(_ value: UInt64, _ amount: UInt64) -> UInt64 {
  (value << amount) | (value >> (64 - amount))
}
