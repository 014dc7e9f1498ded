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
  /// The muxer whose streams the gate sums and which it tells when reading may go on.
  weak var muxer: (any ReadGatedMuxer)?

  private var exactAtLastCheck = 0
  private var deliveredSinceCheck = 0
  private(set) var isPaused = false
  private var scheduled: Scheduled<Void>?
  private var stopped = false

  init(limit: Int) { self.limit = limit }

  /// `bytes` were handed to one of the muxer's streams. When the bound passes the limit the exact sum is taken,
  /// and reading pauses if that is over the limit.
  func delivered(_ bytes: Int, eventLoop: any EventLoop) {
    deliveredSinceCheck += bytes
    guard !isPaused, !stopped, exactAtLastCheck + deliveredSinceCheck > limit, let muxer else { return }
    measure(muxer)
    guard exactAtLastCheck > limit else { return }
    isPaused = true
    recheck(eventLoop: eventLoop)
  }

  private func recheck(eventLoop: any EventLoop) {
    scheduled = eventLoop.assumeIsolated().scheduleTask(in: Self.recheckInterval) { [self] in
      guard !self.stopped, let muxer = self.muxer else { return }
      self.measure(muxer)
      guard self.exactAtLastCheck <= self.limit / 2 else { return self.recheck(eventLoop: eventLoop) }
      self.isPaused = false
      self.scheduled = nil
      muxer.readGateOpened()
    }
  }

  /// Takes the exact sum of the muxer's unread bytes as the new base of the bound.
  private func measure(_ muxer: any ReadGatedMuxer) {
    exactAtLastCheck = muxer.unreadBytes
    deliveredSinceCheck = 0
  }

  /// Stops looking (the connection is gone).
  func stop() {
    stopped = true
    scheduled?.cancel()
    scheduled = nil
  }
}

/// The muxer a ``ConnectionReadGate`` watches (on its event loop).
protocol ReadGatedMuxer: AnyObject {
  /// Unread bytes queued on all its streams now.
  var unreadBytes: Int { get }
  /// The gate opened again: read from the socket if a read was held back.
  func readGateOpened()
}
