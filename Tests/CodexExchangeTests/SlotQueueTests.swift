import Foundation
import Multiformats
import Testing

@testable import CodexExchange

/// Download loops waiting for in-flight slots: woken one per freed slot at the peer that freed it.
@Suite("Slot queues")
struct SlotQueueTests {
  @Test("first in, first out; stale entries dropped on request; compacts as it goes")
  func fifo() throws {
    let ds = try TestDataset(count: 3000, seed: 41)
    let addresses = (0..<3000).map { BlockAddress.leaf(treeCid: ds.treeCid, index: $0) }
    var q = SlotQueue()
    for a in addresses { q.append(a) }
    #expect(q.count == 3000)
    for a in addresses.prefix(2000) { #expect(q.popFirst() == a) }
    #expect(q.count == 1000)
    q.removeAll { a in
      guard case .leaf(_, let i) = a else { return true }
      return i % 2 == 0
    }
    #expect(q.count == 500)
    #expect(q.popFirst() == addresses[2001])
    while q.popFirst() != nil {}
    #expect(q.count == 0)
    q.append(addresses[7])
    #expect(q.popFirst() == addresses[7])
  }

  /// A leecher limited to `slots` want-blocks per peer fetches `count` blocks. Retry timers are ten minutes, so only
  /// the wake of a freed slot can move a loop that waits for one: a missed wake stalls the download until the
  /// block timeout (20 s) fails it.
  func fetchThroughFewSlots(seeders: Int, slots: Int, count: Int) async throws -> Int {
    let hub = InMemoryExchangeHub()
    var cfg = fastConfig(seed: 7)
    cfg.maxInflightPerPeer = slots
    cfg.maxBlocksPerMessage = 4
    cfg.retryInterval = .seconds(600)
    let leecher = try await hub.node(config: cfg)
    let ds = try TestDataset(count: count, seed: 43)
    var nodes: [TestNode] = []
    for _ in 0..<seeders {
      let s = try await hub.node()
      try await s.store.add(ds)
      try await hub.connect(s.peer, leecher.peer)
      nodes.append(s)
    }
    let fetched = try await leecher.networkStore.fetchDataset(manifest(ds), window: count)
    for s in nodes { await s.engine.stop() }
    await leecher.engine.stop()
    return fetched
  }

  @Test("one seeder, 4 slots, 96 blocks in one window: freed slots wake the waiting loops")
  func oneSeeder() async throws {
    #expect(try await fetchThroughFewSlots(seeders: 1, slots: 4, count: 96) == 96)
  }

  @Test("three seeders, 4 slots each, 96 blocks: each peer's freed slots wake loops queued at it")
  func threeSeeders() async throws {
    #expect(try await fetchThroughFewSlots(seeders: 3, slots: 4, count: 96) == 96)
  }
}
