import NIOCore
import Synchronization

/// The inbound byte queue of one stream: filled on the event loop, drained by one consumer task.
///
/// The consumer tells the muxer how much it read only in batches (``next()`` returns a non-zero report
/// once `reportThreshold` bytes were consumed, or when a queue over `pauseLimit` drained to half of it), so
/// reading a chunk does not cost a hop to the event loop.
final class StreamInbound: Sendable {
  /// One chunk for the consumer, and how many consumed bytes to report to the muxer now (0: none).
  typealias Delivery = (buffer: ByteBuffer, report: Int)

  private struct State {
    var chunks = CircularBuffer<ByteBuffer>()
    var buffered = 0
    var unreported = 0
    var paused = false
    var finished = false
    var error: StreamError?
    var waiter: CheckedContinuation<Delivery?, any Error>?

    /// Accounts for `n` consumed bytes; returns the bytes to report to the muxer (0: not yet).
    mutating func consumed(_ n: Int, reportThreshold: Int, pauseLimit: Int) -> Int {
      unreported += n
      if unreported >= reportThreshold || (paused && buffered <= pauseLimit / 2) {
        paused = false
        defer { unreported = 0 }
        return unreported
      }
      return 0
    }
  }

  private let state = Mutex(State())
  private let reportThreshold: Int
  private let pauseLimit: Int

  /// - Parameters:
  ///   - reportThreshold: consumed bytes that trigger a report (yamux: half its window; mplex: never).
  ///   - pauseLimit: queued bytes above which the muxer stops reading; a report follows when the queue
  ///     drained to half of it.
  init(reportThreshold: Int = .max, pauseLimit: Int = .max) {
    self.reportThreshold = reportThreshold
    self.pauseLimit = pauseLimit
  }

  /// Bytes currently queued and not yet read.
  var bufferedBytes: Int { state.withLock { $0.buffered } }

  /// Whether the queue went over `pauseLimit` and the consumer has not yet drained it to half (at which
  /// point ``next()`` returns a report and clears this). A muxer that stopped reading for this stream must
  /// resume when a report arrives and this is false: the consumer reports the drain exactly once.
  var isPaused: Bool { state.withLock { $0.paused } }

  /// Queues `buffer` (event loop side). Returns the number of bytes queued afterwards.
  @discardableResult
  func deliver(_ buffer: ByteBuffer) -> Int {
    guard buffer.readableBytes > 0 else { return bufferedBytes }
    let (waiter, report, total): (CheckedContinuation<Delivery?, any Error>?, Int, Int) = state.withLock { s in
      if s.finished || s.error != nil { return (nil, 0, s.buffered) }
      if let w = s.waiter {
        s.waiter = nil
        let r = s.consumed(buffer.readableBytes, reportThreshold: reportThreshold, pauseLimit: pauseLimit)
        return (w, r, s.buffered)
      }
      s.chunks.append(buffer)
      s.buffered += buffer.readableBytes
      if s.buffered > pauseLimit { s.paused = true }
      return (nil, 0, s.buffered)
    }
    waiter?.resume(returning: (buffer, report))
    return total
  }

  /// Marks the end of the inbound data: clean EOF when `error` is nil, else a failure after queued data.
  func finish(error: StreamError? = nil) {
    let waiter: CheckedContinuation<Delivery?, any Error>? = state.withLock { s in
      // An error after a clean end of stream is ignored: the data already read was complete.
      if let error, s.error == nil, !s.finished { s.error = error }
      s.finished = true
      let w = s.waiter
      s.waiter = nil
      return w
    }
    if let waiter {
      if let error { waiter.resume(throwing: error) } else { waiter.resume(returning: nil) }
    }
  }

  /// Fails the queue immediately, dropping queued data (reset).
  func fail(_ error: StreamError) {
    let waiter: CheckedContinuation<Delivery?, any Error>? = state.withLock { s in
      s.chunks.removeAll()
      s.buffered = 0
      s.paused = false
      if s.error == nil { s.error = error }
      s.finished = true
      let w = s.waiter
      s.waiter = nil
      return w
    }
    waiter?.resume(throwing: error)
  }

  private enum Outcome {
    case value(Delivery)
    case eof
    case error(any Error)
    case wait
  }

  /// Takes a queued chunk, or tells why there is none. With `waiter`, registers it when the consumer must wait.
  private func poll(_ waiter: CheckedContinuation<Delivery?, any Error>?) -> Outcome {
    state.withLock { s in
      if let chunk = s.chunks.popFirst() {
        s.buffered -= chunk.readableBytes
        let r = s.consumed(chunk.readableBytes, reportThreshold: reportThreshold, pauseLimit: pauseLimit)
        return .value((chunk, r))
      }
      if let e = s.error { return .error(e) }
      if s.finished { return .eof }
      guard let waiter else { return .wait }
      if Task.isCancelled { return .error(CancellationError()) }
      s.waiter = waiter
      return .wait
    }
  }

  /// The next chunk, `nil` at a clean end of stream.
  func next() async throws -> Delivery? {
    // Fast path: data already queued, no suspension.
    switch poll(nil) {
    case .value(let d): return d
    case .eof: return nil
    case .error(let e): throw e
    case .wait: break
    }
    return try await withTaskCancellationHandler {
      try await withCheckedThrowingContinuation { (cont: CheckedContinuation<Delivery?, any Error>) in
        switch poll(cont) {
        case .value(let d): cont.resume(returning: d)
        case .eof: cont.resume(returning: nil)
        case .error(let e): cont.resume(throwing: e)
        case .wait: break
        }
      }
    } onCancel: {
      let waiter = state.withLock { s -> CheckedContinuation<Delivery?, any Error>? in
        let w = s.waiter
        s.waiter = nil
        return w
      }
      waiter?.resume(throwing: CancellationError())
    }
  }
}
