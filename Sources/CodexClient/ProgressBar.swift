/// A point-in-time view of a transfer, the input of ``ProgressBar/render(_:width:)``.
public struct ProgressSnapshot: Sendable, Equatable {
  /// Bytes transferred so far.
  public var bytes: Int64
  /// Expected total, when known (file size or `Content-Length`).
  public var total: Int64?
  /// Seconds since the transfer started.
  public var elapsed: Double
  /// Whether the transfer has finished (the line then shows the elapsed time instead of an ETA).
  public var finished: Bool

  public init(bytes: Int64, total: Int64?, elapsed: Double, finished: Bool = false) {
    self.bytes = bytes
    self.total = total
    self.elapsed = elapsed
    self.finished = finished
  }

  /// Average rate since the start, in bytes per second (nil before any time has passed).
  public var rate: Double? { elapsed > 0 ? Double(bytes) / elapsed : nil }

  /// Completed fraction in 0...1 when the total is known; an empty transfer counts as complete.
  public var fraction: Double? {
    guard let total else { return nil }
    if total <= 0 { return 1 }
    return min(1, max(0, Double(bytes) / Double(total)))
  }

  /// Estimated seconds left (nil when the total or the rate is unknown).
  public var eta: Double? {
    guard let total, let rate, rate > 0 else { return nil }
    return Double(max(0, total - bytes)) / rate
  }
}

/// Renders a one-line progress bar such as
/// ` 45% [=========>           ] 450.0 MiB / 1.00 GiB  512.3 MB/s  ETA 0:02`.
/// Pure: the same snapshot and width always give the same text, never longer than `width` characters.
public enum ProgressBar {
  /// The line for `snapshot`, at most `width` characters (no trailing newline or carriage return).
  /// With an unknown total the line has no percentage and no bar: `450.0 MiB  512.3 MB/s  0:05`.
  public static func render(_ snapshot: ProgressSnapshot, width: Int) -> String {
    let width = max(0, width)
    let rateText = snapshot.rate.map { ByteFormat.rate(bytesPerSecond: $0) } ?? "-- B/s"
    let line: String
    if let total = snapshot.total, let fraction = snapshot.fraction {
      let percent = Int((fraction * 100).rounded(.down))
      var pct = "\(percent)%"
      while pct.count < 4 { pct = " " + pct }
      let timeText =
        snapshot.finished
        ? "in \(ByteFormat.duration(seconds: snapshot.elapsed))"
        : "ETA \(snapshot.eta.map { ByteFormat.duration(seconds: $0) } ?? "--:--")"
      let tail = " \(ByteFormat.bytes(snapshot.bytes)) / \(ByteFormat.bytes(total))  \(rateText)  \(timeText)"
      let barWidth = width - pct.count - tail.count - 3  // " [" + "]"
      if barWidth >= 10 {
        line = pct + " [" + bar(fraction: fraction, width: barWidth) + "]" + tail
      } else {
        line = pct + tail
      }
    } else {
      let timeText = ByteFormat.duration(seconds: snapshot.elapsed)
      line = "\(ByteFormat.bytes(snapshot.bytes))  \(rateText)  \(timeText)"
    }
    return line.count <= width ? line : String(line.prefix(width))
  }

  /// `width` characters: `=` for the done part, `>` at the head while incomplete, spaces after.
  public static func bar(fraction: Double, width: Int) -> String {
    guard width > 0 else { return "" }
    let f = fraction.isFinite ? min(1, max(0, fraction)) : 0
    let filled = Int((f * Double(width)).rounded(.down))
    if filled >= width { return String(repeating: "=", count: width) }
    if filled == 0 { return ">" + String(repeating: " ", count: width - 1) }
    return String(repeating: "=", count: filled - 1) + ">" + String(repeating: " ", count: width - filled)
  }
}
