import NIOCore
import NIOPosix
import Synchronization
import Testing

@testable import LibP2P

@Suite("MuxerRef")
struct MuxerRefTests {
  /// A muxer core that only counts the calls that reach it.
  final class CountingCore: StreamMuxerCore, @unchecked Sendable {
    let muxerProtocol = "/test"
    let liveness = MuxerLiveness()
    let calls = Mutex(0)
    var openStreamCount: Int { 0 }
    func streamWrite(_ id: MuxedStreamID, _ data: ByteBuffer, promise: EventLoopPromise<Void>) {
      calls.withLock { $0 += 1 }
      promise.succeed(())
    }
    func streamCloseWrite(_ id: MuxedStreamID, promise: EventLoopPromise<Void>) { promise.succeed(()) }
    func streamReset(_ id: MuxedStreamID) {}
    func streamConsumed(_ id: MuxedStreamID, bytes: Int) {}
    func openStream(promise: EventLoopPromise<P2PStream>) { promise.fail(StreamError.closed) }
    func closeConnection(promise: EventLoopPromise<Void>?) { promise?.succeed(()) }
  }

  @Test("off the loop, a call on a closed connection runs its ifClosed fallback instead of being dropped silently")
  func closedFallback() async throws {
    let loop = MultiThreadedEventLoopGroup.singleton.next()
    let core = CountingCore()
    let ref = try await loop.submit { MuxerRef(core: core, eventLoop: loop) }.get()
    #expect(!loop.inEventLoop)

    // Open: the body runs on the loop, the fallback does not.
    let live = loop.makePromise(of: Void.self)
    ref.execute(
      { $0.streamWrite(MuxedStreamID(number: 1, openedLocally: true), ByteBuffer(), promise: live) },
      ifClosed: { live.fail(StreamError.connectionClosed) })
    try await live.futureResult.get()
    #expect(core.calls.withLock { $0 } == 1)

    // Closed (as between a caller's `isClosed` check and its `execute`): the promise is still completed.
    core.liveness.markClosed()
    let dead = loop.makePromise(of: Void.self)
    let fellBack = Mutex(false)
    ref.execute(
      { $0.streamWrite(MuxedStreamID(number: 1, openedLocally: true), ByteBuffer(), promise: dead) },
      ifClosed: {
        fellBack.withLock { $0 = true }
        dead.fail(StreamError.connectionClosed)
      })
    #expect(fellBack.withLock { $0 })
    if !fellBack.withLock({ $0 }) { dead.fail(CancellationError()) }  // never leave the promise pending
    await #expect(throws: StreamError.connectionClosed) { try await dead.futureResult.get() }
    #expect(core.calls.withLock { $0 } == 1)
  }
}
