import NIOCore
import Synchronization

/// A secured (Noise) and multiplexed (mplex or yamux) connection to one authenticated peer.
///
/// Safe to use from any task. Closing the connection resets all its streams.
public final class P2PConnection: Sendable, CustomStringConvertible {
  /// Peer, addresses, direction and muxer.
  public let info: ConnectionInfo
  let channel: any Channel
  let muxer: MuxerRef
  private let idleState = Mutex<NIODeadline?>(nil)

  init(info: ConnectionInfo, channel: any Channel, muxer: MuxerRef) {
    self.info = info
    self.channel = channel
    self.muxer = muxer
  }

  /// The authenticated remote peer.
  public var remotePeer: PeerID { info.remotePeer }

  /// `true` until the underlying channel closed.
  public var isActive: Bool { channel.isActive }

  /// Completes when the connection closed.
  public var closeFuture: EventLoopFuture<Void> { channel.closeFuture }

  public var description: String {
    "P2PConnection(\(info.remotePeer), \(info.muxer), \(info.isInitiator ? "outbound" : "inbound"))"
  }

  /// Opens a raw stream without protocol negotiation.
  public func openRawStream() async throws -> P2PStream {
    guard !muxer.isClosed else { throw StreamError.connectionClosed }
    let promise = muxer.eventLoop.makePromise(of: P2PStream.self)
    muxer.execute({ $0.openStream(promise: promise) }, ifClosed: { promise.fail(StreamError.connectionClosed) })
    return try await promise.futureResult.get()
  }

  /// Opens a stream and negotiates the first of `protocols` the remote accepts.
  ///
  /// - Throws: ``MultistreamError/noProtocolAccepted(_:)`` (the stream is then reset) or stream errors.
  public func newStream(protocols: [String]) async throws -> P2PStream {
    let stream = try await openRawStream()
    do {
      _ = try await MultistreamSelect.select(protocols, on: stream)
      return stream
    } catch {
      stream.reset()
      throw error
    }
  }

  /// Number of open streams.
  public func streamCount() async -> Int {
    guard !muxer.isClosed else { return 0 }
    let promise = muxer.eventLoop.makePromise(of: Int.self)
    muxer.execute({ promise.succeed($0.openStreamCount) }, ifClosed: { promise.succeed(0) })
    return (try? await promise.futureResult.get()) ?? 0
  }

  /// Closes the connection (yamux sends go-away first); waits until the channel is closed.
  public func close() async {
    guard !muxer.isClosed else { return }
    let promise = muxer.eventLoop.makePromise(of: Void.self)
    muxer.execute({ $0.closeConnection(promise: promise) }, ifClosed: { promise.succeed(()) })
    _ = try? await promise.futureResult.get()
    _ = try? await channel.closeFuture.get()
  }

  /// Closes the connection when it has had no open streams for `timeout` (checked every timeout/4).
  func startIdleTimer(_ timeout: TimeAmount) {
    let period = TimeAmount.nanoseconds(max(timeout.nanoseconds / 4, 1_000_000))
    let conn = self
    muxer.eventLoop.scheduleRepeatedTask(initialDelay: period, delay: period) { task in
      guard conn.channel.isActive else {
        task.cancel()
        return
      }
      conn.muxer.execute { core in
        let now = NIODeadline.now()
        let idle = core.openStreamCount == 0
        let expired: Bool = conn.idleState.withLock { since in
          if !idle {
            since = nil
            return false
          }
          if let s = since { return now - s >= timeout }
          since = now
          return false
        }
        if expired {
          task.cancel()
          core.closeConnection(promise: nil)
        }
      }
    }
  }
}
