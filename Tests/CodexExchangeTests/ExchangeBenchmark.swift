import CodexFormats
import Foundation
import Testing

@testable import CodexExchange

/// Throughput of a 32 MiB dataset fetch (512 × 64 KiB blocks, prefetch window 64), over libp2p on loopback and over
/// the in-memory network, with SHA-256 of the same bytes as the baseline. Prints JSON lines; asserts nothing
/// about time. Run with `BX_BENCH=1 swift test --filter ExchangeBenchmark` (use `-c release` for real numbers).
@Suite("Exchange benchmark")
struct ExchangeBenchmark {
  static func emit(_ name: String, bytes: Int, _ d: Duration) {
    let seconds = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    print("{\"name\":\"\(name)\",\"value\":\(Double(bytes) / 1e6 / seconds),\"unit\":\"MB/s\"}")
  }

  @Test(.enabled(if: ProcessInfo.processInfo.environment["BX_BENCH"] != nil))
  func fetchThroughput() async throws {
    let ds = try TestDataset(count: 512, blockSize: 65536, seed: 99)
    let clock = ContinuousClock()
    do {
      let seeder = try await LiveNode.start()
      let leecher = try await LiveNode.start()
      try await seeder.store.add(ds)
      try await leecher.exchange.connect(peer: seeder.host.peerID, addresses: seeder.host.listenAddresses)
      let t0 = clock.now
      var n = 0
      for try await b in leecher.exchange.networkStore.blocks(tree: ds.treeCid, indices: 0..<512, window: 64) {
        n += b.data.count
      }
      Self.emit("blockexc_libp2p_loopback_fetch", bytes: n, clock.now - t0)
      await leecher.shutdown()
      await seeder.shutdown()
    }
    do {
      let hub = InMemoryExchangeHub()
      let seeder = try await hub.node()
      let leecher = try await hub.node()
      try await seeder.store.add(ds)
      try await hub.connect(seeder.peer, leecher.peer)
      let t0 = clock.now
      var n = 0
      for try await b in leecher.networkStore.blocks(tree: ds.treeCid, indices: 0..<512, window: 64) {
        n += b.data.count
      }
      Self.emit("blockexc_inmemory_fetch", bytes: n, clock.now - t0)
      await leecher.engine.stop()
      await seeder.engine.stop()
    }
    let t0 = clock.now
    var sink: UInt8 = 0
    for b in ds.blocks { sink ^= SHA256Hashing.digest(b.data)[0] }
    Self.emit("baseline_sha256_same_bytes", bytes: 512 * 65536, clock.now - t0)
    #expect(sink == sink)
  }
}
