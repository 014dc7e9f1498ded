import CodexNode
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import Testing

/// Counts calls of the reclaimer's trim.
final class TrimCounter: Sendable {
  private let count = Mutex(0)
  var value: Int { count.withLock { $0 } }
  func trim() { count.withLock { $0 += 1 } }
}

/// Polls `condition` until it holds or `timeout` passed.
func eventually(timeout: Duration = .seconds(10), _ condition: () -> Bool) async -> Bool {
  let deadline = ContinuousClock.now + timeout
  while ContinuousClock.now < deadline {
    if condition() { return true }
    try? await Task.sleep(for: .milliseconds(5))
  }
  return condition()
}

@Suite struct MemoryReclaimerTests {
  static let logger = Logger(label: "test")

  @Test func trimsOnceAfterTheLastOfOverlappingTransfersEnds() async throws {
    let counter = TrimCounter()
    let r = MemoryReclaimer(idleDelay: .milliseconds(20), logger: Self.logger) { counter.trim() }
    r.begin()
    r.begin()
    r.end()
    // One transfer still runs: no trim however long it takes.
    try await Task.sleep(for: .milliseconds(150))
    #expect(counter.value == 0)
    #expect(r.activeCount == 1)
    r.end()
    #expect(await eventually { counter.value == 1 })
    // Idle with nothing new ended: no second trim.
    try await Task.sleep(for: .milliseconds(150))
    #expect(counter.value == 1)
    #expect(r.trimCount == 1)
  }

  @Test func aTransferBeginningBeforeTheIdleTrimTrimsFirstInstead() async throws {
    let counter = TrimCounter()
    let r = MemoryReclaimer(idleDelay: .milliseconds(300), logger: Self.logger) { counter.trim() }
    r.begin()
    r.end()
    // The next transfer comes before the idle delay: the trim runs as it begins (synchronously), once.
    r.begin()
    #expect(counter.value == 1)
    // The idle trim scheduled by the first end must not run too.
    try await Task.sleep(for: .milliseconds(500))
    #expect(counter.value == 1)
    // A second transfer joining the running one does not trim again.
    r.begin()
    #expect(counter.value == 1)
    r.end()
    r.end()
    #expect(await eventually { counter.value == 2 })
    // Beginning after an idle trim, with nothing ended since, does not trim.
    r.begin()
    #expect(counter.value == 2)
    r.end()
  }

  @Test func transfersBeginningInQuickSuccessionTrimOncePerInterval() async throws {
    let counter = TrimCounter()
    let r = MemoryReclaimer(idleDelay: .milliseconds(50), minBeginTrimInterval: .seconds(60), logger: Self.logger) {
      counter.trim()
    }
    r.begin()
    r.end()
    r.begin()  // the first begin-trim
    #expect(counter.value == 1)
    for _ in 0..<20 {
      r.end()
      r.begin()  // within the interval: no trim
    }
    #expect(counter.value == 1)
    r.end()
    // The idle trim is not rate-limited: what the requests left is still given back once the node is idle.
    #expect(await eventually { counter.value == 2 })
  }

  @Test func duringEndsTheTransferWhenTheBodyThrows() async throws {
    struct Boom: Error {}
    let counter = TrimCounter()
    let r = MemoryReclaimer(idleDelay: .milliseconds(10), logger: Self.logger) { counter.trim() }
    await #expect(throws: Boom.self) {
      try await r.during { throw Boom() }
    }
    #expect(r.activeCount == 0)
    #expect(await eventually { counter.value == 1 })
    let value = await r.during { 42 }
    #expect(value == 42)
    #expect(r.activeCount == 0)
  }

  @Test func mallocTrimRunsAndResidentSizeIsKnown() throws {
    MemoryReclaimer.mallocTrim()
    let rss = try #require(MemoryReclaimer.residentBytes())
    #expect(rss > 1 << 20)
  }

  /// Uploads, downloads and deletes through the real REST server each count as a transfer, and the node trims
  /// once it is idle again.
  @Test func restTransfersAreTrackedAndTrimmedAfter() async throws {
    let t = try TestNode()
    let memory = t.node.memory
    try await t.live { client in
      let data = randomBytes(3 * 65536 + 5, seed: 7)
      let up = try await client.execute(uri: "/api/codex/v1/data", method: .post, body: ByteBuffer(bytes: data))
      #expect(up.status == .ok)
      #expect(memory.activeCount == 0)
      let down = try await client.execute(uri: "/api/codex/v1/data/\(up.text)", method: .get)
      #expect(down.bytes == data)
      let deleted = try await client.execute(uri: "/api/codex/v1/data/\(up.text)", method: .delete)
      #expect(deleted.status == .noContent)
      #expect(memory.activeCount == 0)
      // Transfers ended: a trim ran as one began after another ended, or runs once the node is idle.
      #expect(await eventually { memory.trimCount >= 1 })
    }
  }
}
