import NIOCore
import Synchronization

/// The inbound byte queue of one stream: filled on the event loop, drained by one consumer task.
final class StreamInbound: Sendable {
  private struct State {
    var chunks = CircularBuffer<ByteBuffer>()
    var buffered = 0
    var finished = false
    var error: StreamError?
    var waiter: CheckedContinuation<ByteBuffer?, any Error>?
  }

  private let state = Mutex(State())

  /// Bytes currently queued and not yet read.
  var bufferedBytes: Int { state.withLock { $0.buffered } }

  /// Queues `buffer` (event loop side). Returns the number of bytes queued afterwards.
  @discardableResult
  func deliver(_ buffer: ByteBuffer) -> Int {
    guard buffer.readableBytes > 0 else { return bufferedBytes }
    let (waiter, total): (CheckedContinuation<ByteBuffer?, any Error>?, Int) = state.withLock { s in
      if s.finished || s.error != nil { return (nil, s.buffered) }
      if let w = s.waiter {
        s.waiter = nil
        return (w, s.buffered)
      }
      s.chunks.append(buffer)
      s.buffered += buffer.readableBytes
      return (nil, s.buffered)
    }
    waiter?.resume(returning: buffer)
    return total
  }

  /// Marks the end of the inbound data: clean EOF when `error` is nil, else a failure after queued data.
  func finish(error: StreamError? = nil) {
    let waiter: CheckedContinuation<ByteBuffer?, any Error>? = state.withLock { s in
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
    let waiter: CheckedContinuation<ByteBuffer?, any Error>? = state.withLock { s in
      s.chunks.removeAll()
      s.buffered = 0
      if s.error == nil { s.error = error }
      s.finished = true
      let w = s.waiter
      s.waiter = nil
      return w
    }
    waiter?.resume(throwing: error)
  }

  /// The next chunk, `nil` at a clean end of stream.
  func next() async throws -> ByteBuffer? {
    try await withTaskCancellationHandler {
      try await withCheckedThrowingContinuation { (cont: CheckedContinuation<ByteBuffer?, any Error>) in
        enum Outcome {
          case value(ByteBuffer)
          case eof
          case error(any Error)
          case wait
        }
        let outcome: Outcome = state.withLock { s in
          if let chunk = s.chunks.popFirst() {
            s.buffered -= chunk.readableBytes
            return .value(chunk)
          }
          if let e = s.error { return .error(e) }
          if s.finished { return .eof }
          if Task.isCancelled { return .error(CancellationError()) }
          s.waiter = cont
          return .wait
        }
        switch outcome {
        case .value(let b): cont.resume(returning: b)
        case .eof: cont.resume(returning: nil)
        case .error(let e): cont.resume(throwing: e)
        case .wait: break
        }
      }
    } onCancel: {
      let waiter = state.withLock { s -> CheckedContinuation<ByteBuffer?, any Error>? in
        let w = s.waiter
        s.waiter = nil
        return w
      }
      waiter?.resume(throwing: CancellationError())
    }
  }
}
