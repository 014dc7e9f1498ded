import NIOCore

/// Stops reading a connection's socket while its streams together hold more than `limit` unread bytes.
///
/// Each muxer bounds one stream (mplex: its pause limit; yamux: its receive window) but not their sum: a peer
/// could open hundreds of streams whose readers are busy or blocked and fill each to just under its bound. The
/// gate keeps an upper bound of the buffered bytes (the exact sum at the last check plus everything delivered
/// since); only when that bound passes `limit` does it take the exact sum (one look at every stream), and if
/// that is over the limit it pauses reading and looks again on a timer until the sum drained to half.
///
/// Used on the connection's event loop only.
final class ConnectionReadGate {
  let limit: Int
  /// How often a paused gate looks at the streams again.
  static let recheckInterval: TimeAmount = .milliseconds(10)

  private var exactAtLastCheck = 0
  private var deliveredSinceCheck = 0
  private(set) var isPaused = false
  private var scheduled: Scheduled<Void>?
  private var stopped = false

  init(limit: Int) { self.limit = limit }

  /// `bytes` were handed to a stream. Returns true when the bound passed the limit: the muxer must then call
  /// ``check(eventLoop:buffered:resume:)``.
  func delivered(_ bytes: Int) -> Bool {
    deliveredSinceCheck += bytes
    return !isPaused && !stopped && exactAtLastCheck + deliveredSinceCheck > limit
  }

  /// Takes the exact sum and pauses when it is over the limit. `buffered` gives the exact unread bytes of all
  /// streams; `resume` is called (on the event loop) when a pause ends.
  func check(eventLoop: any EventLoop, buffered: @escaping () -> Int, resume: @escaping () -> Void) {
    guard !isPaused, !stopped else { return }
    exactAtLastCheck = buffered()
    deliveredSinceCheck = 0
    guard exactAtLastCheck > limit else { return }
    isPaused = true
    recheck(eventLoop: eventLoop, buffered: buffered, resume: resume)
  }

  private func recheck(eventLoop: any EventLoop, buffered: @escaping () -> Int, resume: @escaping () -> Void) {
    scheduled = eventLoop.assumeIsolated().scheduleTask(in: Self.recheckInterval) { [self] in
      guard !self.stopped else { return }
      self.exactAtLastCheck = buffered()
      self.deliveredSinceCheck = 0
      guard self.exactAtLastCheck <= self.limit / 2 else {
        return self.recheck(eventLoop: eventLoop, buffered: buffered, resume: resume)
      }
      self.isPaused = false
      self.scheduled = nil
      resume()
    }
  }

  /// Stops looking (the connection is gone).
  func stop() {
    stopped = true
    scheduled?.cancel()
    scheduled = nil
  }
}
