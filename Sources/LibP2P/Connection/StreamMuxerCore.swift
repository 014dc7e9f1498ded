import NIOCore
import Synchronization

/// Identifies a stream inside one muxed connection: its number and which side opened it.
public struct MuxedStreamID: Hashable, Sendable, CustomStringConvertible {
  /// The stream number on the wire (mplex stream id, yamux stream id).
  public var number: UInt64
  /// `true` when this side opened the stream.
  public var openedLocally: Bool

  public init(number: UInt64, openedLocally: Bool) {
    self.number = number
    self.openedLocally = openedLocally
  }

  public var description: String { "\(number)\(openedLocally ? "L" : "R")" }
}

/// What a stream multiplexer offers to its streams and to the connection that owns it.
///
/// Every method must be called on the muxer's event loop; ``P2PStream`` and ``P2PConnection`` hop there.
protocol StreamMuxerCore: AnyObject {
  /// The muxer protocol id, e.g. `/mplex/6.7.0`.
  var muxerProtocol: String { get }
  /// Number of streams currently open (in either direction).
  var openStreamCount: Int { get }
  /// Writes stream data; the promise completes when the bytes reached the socket (or failed).
  func streamWrite(_ id: MuxedStreamID, _ data: ByteBuffer, promise: EventLoopPromise<Void>)
  /// Half-closes the write side of a stream.
  func streamCloseWrite(_ id: MuxedStreamID, promise: EventLoopPromise<Void>)
  /// Resets a stream in both directions.
  func streamReset(_ id: MuxedStreamID)
  /// The consumer took `bytes` out of the stream's inbound buffer (reported in batches, see `StreamInbound`).
  func streamConsumed(_ id: MuxedStreamID, bytes: Int)
  /// Opens a new outbound stream.
  func openStream(promise: EventLoopPromise<P2PStream>)
  /// Closes the whole muxed connection (go-away where the muxer has one).
  func closeConnection(promise: EventLoopPromise<Void>?)
  /// Set once the connection is gone; shared with every ``MuxerRef`` of this muxer.
  var liveness: MuxerLiveness { get }
}

/// Whether a muxed connection is still up, readable from any thread. The muxer marks it closed when its
/// channel goes inactive, so stream and connection calls made afterwards (a handler task still running while
/// the host shuts down, say) fail or finish locally instead of scheduling work on an event loop that may
/// already be shut down (NIO drops such work, and a promise waiting on it would never complete).
final class MuxerLiveness: Sendable {
  private let closed = Atomic<Bool>(false)

  var isClosed: Bool { closed.load(ordering: .acquiring) }

  func markClosed() { closed.store(true, ordering: .releasing) }
}

/// A ``StreamMuxerCore`` reference that may be carried across threads; use only on `eventLoop`.
struct MuxerRef: @unchecked Sendable {
  let core: any StreamMuxerCore
  let eventLoop: any EventLoop
  private let liveness: MuxerLiveness

  /// Must be created on `eventLoop` (it reads the core's liveness flag).
  init(core: any StreamMuxerCore, eventLoop: any EventLoop) {
    self.core = core
    self.eventLoop = eventLoop
    self.liveness = core.liveness
  }

  /// Whether the connection is gone. Callers that would wait on a promise check this first and fail at once:
  /// after the host shut its event loops down, work sent there would never run and the promise never complete.
  var isClosed: Bool { liveness.isClosed }

  /// Runs `body` on the muxer's event loop; does nothing once the connection is gone (see ``isClosed``).
  func execute(_ body: @escaping @Sendable (any StreamMuxerCore) -> Void) {
    execute(body, ifClosed: {})
  }

  /// Runs `body` on the muxer's event loop, or `ifClosed` (on the calling thread) instead when the connection is
  /// gone. Callers that wait on a promise the body completes pass one that completes it: checking ``isClosed``
  /// and then calling ``execute(_:)`` leaves a window in which the connection closes, the body is dropped and
  /// the promise never completes (a writer would wait for good).
  func execute(_ body: @escaping @Sendable (any StreamMuxerCore) -> Void, ifClosed: () -> Void) {
    if eventLoop.inEventLoop {
      body(core)
    } else if !liveness.isClosed {
      let ref = self
      eventLoop.execute { body(ref.core) }
    } else {
      ifClosed()
    }
  }
}
