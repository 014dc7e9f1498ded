import NIOCore

/// Writes waiting for the channel to become writable again: the connection-level half of a muxer's write
/// back-pressure (mplex and yamux share it). Used on the channel's event loop only.
struct WritabilityWaiters {
  private var waiters: [EventLoopPromise<Void>] = []

  /// Completes `promise` now if the connection can take more bytes, fails it if the connection is closed, and
  /// otherwise keeps it until `channelBecameWritable()`.
  mutating func complete(_ promise: EventLoopPromise<Void>, channel: (any Channel)?, closed: Bool) {
    if closed {
      promise.fail(StreamError.connectionClosed)
    } else if channel?.isWritable ?? false {
      promise.succeed(())
    } else {
      waiters.append(promise)
    }
  }

  /// Releases every waiting write.
  mutating func channelBecameWritable() {
    let ready = waiters
    waiters = []
    for w in ready { w.succeed(()) }
  }

  /// Fails every waiting write (the connection is going away).
  mutating func failAll(_ error: any Error) {
    let doomed = waiters
    waiters = []
    for w in doomed { w.fail(error) }
  }
}
