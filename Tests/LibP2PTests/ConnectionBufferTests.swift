import Foundation
import Multiformats
import NIOCore
import Synchronization
import Testing

@testable import LibP2P

@Suite("Unread bytes of all streams of a connection are bounded")
struct ConnectionBufferTests {
  /// The server side of the test protocol: streams kept unread until `release`, then read to the end.
  final class HeldStreams: Sendable {
    let streams = Mutex<[P2PStream]>([])
    let released = Mutex(false)
    let received = Mutex(0)

    var buffered: Int { streams.withLock { $0.reduce(0) { $0 + $1.inbound.bufferedBytes } } }

    func serve(_ stream: P2PStream) async throws {
      streams.withLock { $0.append(stream) }
      while !released.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(5)) }
      while let chunk = try await stream.read() { received.withLock { $0 += chunk.readableBytes } }
    }
  }

  @Test(
    "40 streams of 1 MiB each, none read: the server holds about the 8 MiB limit, then reads all once released",
    arguments: [MplexFrame.protocolID, YamuxHeader.protocolID])
  func boundedAcrossStreams(muxer: String) async throws {
    let limit = 8 << 20
    let held = HeldStreams()
    let server = try await HostTestSupport.makeHost(muxers: [muxer]) {
      $0.muxerConfiguration.maxBufferedPerConnection = limit
    }
    server.registry.register("/test/hold/1.0.0") { stream in try await held.serve(stream) }
    let client = try await HostTestSupport.makeHost(muxers: [muxer])
    let conn = try await client.connect(to: try #require(server.listenAddresses.first))
    let piece = HostTestSupport.pattern(1 << 20, seed: 7)
    // Opened first: while the server holds back, the connection is not read, so no stream can be opened.
    var opened: [P2PStream] = []
    for _ in 0..<40 { opened.append(try await conn.newStream(protocols: ["/test/hold/1.0.0"])) }
    let streams = opened
    let writers = try await withThrowingTaskGroup(of: P2PStream.self) { group in
      for s in streams {
        group.addTask {
          try await s.write(piece)
          try await s.closeWrite()
          return s
        }
      }
      // The writes cannot all complete while the server holds back; look at the server meanwhile.
      try await Task.sleep(for: .seconds(1))
      let peak = held.buffered
      #expect(peak >= limit / 2, "the server should have buffered up to about its limit (\(peak))")
      #expect(peak <= limit + (6 << 20), "the server buffered \(peak) bytes unread, limit \(limit)")
      held.released.withLock { $0 = true }
      var all: [P2PStream] = []
      for try await s in group { all.append(s) }
      return all
    }
    #expect(writers.count == 40)
    #expect(await eventuallyTrue(timeout: .seconds(30)) { held.received.withLock { $0 } == 40 << 20 })
    await client.shutdown()
    await server.shutdown()
  }
}

/// Polls `condition` until true or timeout.
private func eventuallyTrue(timeout: Duration, _ condition: @Sendable () -> Bool) async -> Bool {
  let clock = ContinuousClock()
  let deadline = clock.now.advanced(by: timeout)
  while clock.now < deadline {
    if condition() { return true }
    try? await Task.sleep(for: .milliseconds(10))
  }
  return condition()
}
