import Foundation
import NIOCore
import NIOPosix
import Synchronization
import Testing

@testable import CodexAPI

/// A response producer waits while the connection's event loop has not taken its previous write.
@Suite(.timeLimit(.minutes(1))) struct WriteQueueGaugeTests {
  @Test func theProducerWaitsForAStarvedEventLoop() async throws {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let loop = group.next()
    // Starve the loop: it runs nothing else until `release` is signalled.
    let release = DispatchSemaphore(value: 0)
    loop.execute { release.wait() }
    let gauge = WriteQueueGauge(eventLoop: loop, limit: 1)
    await gauge.wrote()  // one write may wait on the loop: no suspension
    let returned = Atomic(0)
    let second = Task {
      await gauge.wrote()
      returned.store(1, ordering: .sequentiallyConsistent)
    }
    try await Task.sleep(for: .milliseconds(300))
    #expect(returned.load(ordering: .sequentiallyConsistent) == 0, "the producer ran ahead of a starved loop")
    release.signal()
    await second.value
    #expect(returned.load(ordering: .sequentiallyConsistent) == 1)
    // With the loop running, writes go through without piling up.
    for _ in 0..<100 { await gauge.wrote() }
    try await group.shutdownGracefully()
  }
}
