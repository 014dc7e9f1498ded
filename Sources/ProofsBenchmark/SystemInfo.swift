#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Clocks without Foundation.
enum Clock {
  /// Monotonic wall-clock seconds.
  static func wall() -> Double { read(CLOCK_MONOTONIC) }
  /// CPU seconds used by the calling thread.
  static func threadCPU() -> Double { read(CLOCK_THREAD_CPUTIME_ID) }

  private static func read(_ id: clockid_t) -> Double {
    var ts = timespec()
    clock_gettime(id, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
  }
}

/// Host facts printed with the measurements.
enum SystemInfo {
  /// Online CPU count.
  static var activeProcessorCount: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

  /// The 1-minute load average, or "?".
  static var loadAverage: String {
    var loads = [Double](repeating: 0, count: 3)
    guard getloadavg(&loads, 3) > 0 else { return "?" }
    return JSONLine.fixed(loads[0], 2)
  }
}

/// JSON-lines output.
enum JSONLine {
  /// Fixed-point formatting.
  static func fixed(_ v: Double, _ digits: Int) -> String {
    guard v.isFinite else { return "0" }
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let scaled = (v * scale).rounded()
    let whole = Int(scaled / scale)
    if digits == 0 { return "\(whole)" }
    let frac = Int(abs(scaled) - abs(Double(whole)) * scale)
    let fracText = String(frac)
    return (scaled < 0 && whole == 0 ? "-" : "") + "\(whole)."
      + String(repeating: "0", count: max(0, digits - fracText.count)) + fracText
  }

  /// Prints `{"name":…,"value":…,"unit":…, extra…}`; extra values are raw JSON.
  static func emit(_ name: String, _ value: Double, _ unit: String, _ extra: [String: String] = [:]) {
    var fields = ["\"name\":\"\(name)\"", "\"value\":\(fixed(value, 3))", "\"unit\":\"\(unit)\""]
    for (k, v) in extra.sorted(by: { $0.key < $1.key }) { fields.append("\"\(k)\":\(v)") }
    print("{" + fields.joined(separator: ",") + "}")
  }
}
