import EMoECore

/// Short renderings of measured numbers for the text reports (no Foundation needed).
enum NumberText {
  /// `value` with three significant digits: `0`, `0.25`, `1.23e-05`, `nan`.
  static func short(_ value: Double) -> String {
    guard value.isFinite else { return value.isNaN ? "nan" : (value > 0 ? "inf" : "-inf") }
    if value == 0 { return "0" }
    let magnitude = abs(value)
    if magnitude >= 1e-3 && magnitude < 1e4 {
      let decimals = max(0, 2 - Int(floor(log10(magnitude))))
      return fixed(value, decimals: decimals)
    }
    var exponent = Int(floor(log10(magnitude)))
    var mantissa = value / pow(10, Double(exponent))
    if abs((mantissa * 100).rounded()) >= 1000 {
      exponent += 1
      mantissa = value / pow(10, Double(exponent))
    }
    let sign = exponent < 0 ? "-" : "+"
    let digits = abs(exponent) < 10 ? "0\(abs(exponent))" : "\(abs(exponent))"
    return fixed(mantissa, decimals: 2) + "e" + sign + digits
  }

  /// `value` rounded to `decimals` places after the point.
  static func fixed(_ value: Double, decimals: Int) -> String {
    guard value.isFinite else { return short(value) }
    let scale = pow(10, Double(decimals))
    let scaled = (abs(value) * scale).rounded()
    guard scaled < 9e18 else { return "\(value)" }
    let integer = Int(scaled)
    let divisor = Int(scale)
    let whole = integer / max(divisor, 1)
    var text = "\(whole)"
    if decimals > 0 {
      let fraction = "\(integer % divisor)"
      text += "." + String(repeating: "0", count: decimals - fraction.count) + fraction
    }
    return (value < 0 && scaled > 0 ? "-" : "") + text
  }
}
