/// Byte counts and rates as people read them: `812 B`, `1.1 MB`, `3.4 GB` (decimal units, as
/// disks and network rates are quoted).
enum ByteCount {
  /// `bytes` with one decimal from kB on: `0 B`, `999 B`, `1.0 kB`, `1.1 MB`.
  static func format(_ bytes: Int) -> String {
    format(Double(bytes))
  }

  /// `bytes` (a rate, a fraction of a count) with one decimal from kB on.
  static func format(_ bytes: Double) -> String {
    guard bytes.isFinite, bytes >= 0 else { return "? B" }
    if bytes < 1000 { return "\(Int(bytes.rounded())) B" }
    var value = bytes / 1000
    for unit in ["kB", "MB", "GB", "TB"] {
      let tenths = Int((value * 10).rounded())
      if tenths < 10_000 || unit == "TB" { return "\(tenths / 10).\(tenths % 10) \(unit)" }
      value /= 1000
    }
    return "? B"
  }
}
