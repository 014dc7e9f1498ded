/// Human-readable sizes, rates and durations for command-line output. Pure functions, no locale.
public enum ByteFormat {
  /// Binary units: `"0 B"`, `"1023 B"`, `"1.5 KiB"`, `"64.0 KiB"`, `"1.00 GiB"`. Values below 1024 are exact;
  /// larger ones have one decimal (two from GiB up). Negative values are formatted with a leading `-`.
  public static func bytes(_ count: Int64) -> String {
    if count < 0 { return "-" + bytes(count == Int64.min ? Int64.max : -count) }
    if count < 1024 { return "\(count) B" }
    let units = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
    var value = Double(count) / 1024
    var index = 0
    while value >= 1024, index < units.count - 1 {
      value /= 1024
      index += 1
    }
    // Avoid "1024.0 KiB" after rounding.
    let decimals = index >= 2 ? 2 : 1
    if fixed(value, decimals) == fixed(1024, decimals), index < units.count - 1 {
      value /= 1024
      index += 1
    }
    return "\(fixed(value, index >= 2 ? 2 : 1)) \(units[index])"
  }

  /// Decimal rate units (as in "MB/s"): `"0 B/s"`, `"512.0 kB/s"`, `"123.4 MB/s"`, `"1.23 GB/s"`.
  /// Non-finite or negative rates give `"-- B/s"`.
  public static func rate(bytesPerSecond: Double) -> String {
    guard bytesPerSecond.isFinite, bytesPerSecond >= 0 else { return "-- B/s" }
    if bytesPerSecond < 1000 { return "\(Int(bytesPerSecond.rounded())) B/s" }
    if bytesPerSecond < 1e6 { return "\(fixed(bytesPerSecond / 1e3, 1)) kB/s" }
    if bytesPerSecond < 1e9 { return "\(fixed(bytesPerSecond / 1e6, 1)) MB/s" }
    return "\(fixed(bytesPerSecond / 1e9, 2)) GB/s"
  }

  /// `"0:05"`, `"12:34"`, `"1:02:03"`; non-finite, negative or absurdly long (> 99 h) durations give `"--:--"`.
  public static func duration(seconds: Double) -> String {
    guard seconds.isFinite, seconds >= 0, seconds < 360_000 else { return "--:--" }
    let total = Int(seconds.rounded(.up))
    let h = total / 3600
    let m = (total % 3600) / 60
    let s = total % 60
    let ss = s < 10 ? "0\(s)" : "\(s)"
    if h > 0 {
      let mm = m < 10 ? "0\(m)" : "\(m)"
      return "\(h):\(mm):\(ss)"
    }
    return "\(m):\(ss)"
  }

  /// `value` with exactly `decimals` digits after the point (round half away from zero), no locale.
  static func fixed(_ value: Double, _ decimals: Int) -> String {
    var scale: Double = 1
    for _ in 0..<decimals { scale *= 10 }
    let scaled = (abs(value) * scale).rounded()
    guard scaled < 9e18 else { return value < 0 ? "-inf" : "inf" }
    let n = Int64(scaled)
    let p = Int64(scale)
    let intPart = n / p
    var frac = String(n % p)
    while frac.count < decimals { frac = "0" + frac }
    let sign = value < 0 && n != 0 ? "-" : ""
    return decimals == 0 ? "\(sign)\(intPart)" : "\(sign)\(intPart).\(frac)"
  }
}
