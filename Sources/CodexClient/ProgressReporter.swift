import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Draws a ``ProgressBar`` on a terminal file descriptor (normally stderr) while a transfer runs.
///
/// Thread-safe; `advance` may be called from any task. Redraws at most ten times a second, and once more in
/// ``finish()``. Create it only when the descriptor is a terminal (see ``make(fd:environment:)``).
public final class ProgressReporter: Sendable {
  struct State {
    var bytes: Int64 = 0
    var total: Int64?
    var started: ContinuousClock.Instant?
    var lastDraw: ContinuousClock.Instant?
    var finished = false
  }

  private let fd: Int32
  private let width: Int
  private let label: String
  private let state = Mutex(State())

  /// A reporter drawing on `fd` with lines of at most `width` characters, prefixed by `label`.
  public init(fd: Int32, width: Int, label: String = "") {
    self.fd = fd
    self.width = max(20, width)
    self.label = label
  }

  /// A reporter for stderr if it is a terminal, else nil (no progress output when redirected).
  public static func make(label: String = "", environment: [String: String]) -> ProgressReporter? {
    let fd: Int32 = 2
    guard Terminal.isTTY(fd) else { return nil }
    return ProgressReporter(fd: fd, width: Terminal.width(of: fd, environment: environment), label: label)
  }

  /// Starts the clock and sets the expected total (nil if unknown).
  public func start(total: Int64?) {
    let now = ContinuousClock.now
    state.withLock {
      $0.total = total
      $0.started = now
    }
  }

  /// Adds `count` transferred bytes and redraws if the last draw is older than 100 ms.
  public func advance(by count: Int) {
    let now = ContinuousClock.now
    let line: String? = state.withLock { s in
      s.bytes += Int64(count)
      if s.started == nil { s.started = now }
      if let last = s.lastDraw, now - last < .milliseconds(100) { return nil }
      s.lastDraw = now
      return self.line(s, now: now)
    }
    if let line { Terminal.write("\r" + line + "\u{1B}[K", to: fd) }
  }

  /// Draws the final state and ends the line. Idempotent.
  public func finish() {
    let now = ContinuousClock.now
    let line: String? = state.withLock { s in
      if s.finished { return nil }
      s.finished = true
      return self.line(s, now: now)
    }
    if let line { Terminal.write("\r" + line + "\u{1B}[K\n", to: fd) }
  }

  /// Ends the current line without redrawing (before printing an error message). Idempotent.
  public func abandon() {
    let drew: Bool = state.withLock { s in
      if s.finished { return false }
      s.finished = true
      return s.lastDraw != nil
    }
    if drew { Terminal.write("\n", to: fd) }
  }

  private func line(_ s: State, now: ContinuousClock.Instant) -> String {
    let elapsed = s.started.map { (now - $0).seconds } ?? 0
    let snapshot = ProgressSnapshot(bytes: s.bytes, total: s.total, elapsed: elapsed, finished: s.finished)
    let prefix = label.isEmpty ? "" : label + " "
    return prefix + ProgressBar.render(snapshot, width: width - prefix.count - 1)
  }
}

extension Duration {
  /// The duration in seconds as a Double.
  var seconds: Double {
    let c = components
    return Double(c.seconds) + Double(c.attoseconds) * 1e-18
  }
}
