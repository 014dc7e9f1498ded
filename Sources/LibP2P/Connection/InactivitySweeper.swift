import NIOCore

/// The muxers' periodic stream inactivity sweep (mplex and yamux): calls `sweep(timeout, now)` on the
/// handler's event loop every quarter of the timeout (at least every millisecond) until ``stop()``, so a
/// stream is reset between 1 and 1.25 times the timeout after its last data (see ``StreamActivity``).
///
/// Event-loop confined, owned by one muxer handler; `sweep` may capture the handler (the cycle is broken
/// by ``stop()``, which the handler calls when it is removed or the connection shuts down).
final class InactivitySweeper {
  private var scheduled: Scheduled<Void>?
  private var stopped = false

  /// Starts sweeping; does nothing when `timeout` is nil or after ``stop()``.
  func start(
    timeout: TimeAmount?, context: ChannelHandlerContext, sweep: @escaping (TimeAmount, NIODeadline) -> Void
  ) {
    guard let timeout, !stopped else { return }
    let period = TimeAmount.nanoseconds(max(timeout.nanoseconds / 4, 1_000_000))
    let loop = context.eventLoop
    scheduled = loop.assumeIsolated().scheduleTask(in: period) { [self] in
      guard !self.stopped else { return }
      sweep(timeout, loop.now)
      self.start(timeout: timeout, context: context, sweep: sweep)
    }
  }

  /// Cancels the pending sweep; no further sweep runs.
  func stop() {
    stopped = true
    scheduled?.cancel()
    scheduled = nil
  }
}
