import CodexFormats
import CodexStore
import Foundation
import Testing

@testable import CodexExchange

@Suite("Block exchange over RepoStore")
struct RepoStoreExchangeTests {
  /// A seeder and a leecher, each an engine over its own RepoStore, connected in memory; the seeder holds `ds`.
  struct Pair {
    let base: URL
    let seederRepo: RepoStore
    let leecherRepo: RepoStore
    let seeder: BlockExchangeEngine
    let leecher: BlockExchangeEngine
    /// The leecher's network store.
    let store: NetworkStore

    init(_ ds: TestDataset, leecherQuota: UInt64 = RepoConfig(directory: "").quotaMaxBytes) async throws {
      base = FileManager.default.temporaryDirectory.appendingPathComponent("bx-repo-\(UUID().uuidString)")
      seederRepo = try RepoStore(
        config: RepoConfig(directory: base.appendingPathComponent("s").path), logger: testLogger())
      leecherRepo = try RepoStore(
        config: RepoConfig(directory: base.appendingPathComponent("l").path, quotaMaxBytes: leecherQuota),
        logger: testLogger())
      for (i, b) in ds.blocks.enumerated() {
        try await seederRepo.putBlock(b, ttl: nil)
        try await seederRepo.putLeaf(tree: ds.treeCid, index: i, blockCid: b.cid, proof: try ds.tree.proof(for: i))
      }
      let hub = InMemoryExchangeHub()
      func engine(_ store: RepoStore) async throws -> (BlockExchangeEngine, InMemoryExchangeNetwork) {
        let net = hub.makeNetwork(peer: randomPeer())
        let e = BlockExchangeEngine(
          network: net, store: store, discovery: StaticDiscovery(), config: fastConfig(), logger: testLogger())
        try await e.start()
        return (e, net)
      }
      let (se, sn) = try await engine(seederRepo)
      let (le, ln) = try await engine(leecherRepo)
      try await hub.connect(sn.localPeer, ln.localPeer)
      seeder = se
      leecher = le
      store = NetworkStore(local: leecherRepo, engine: le, blockTimeout: .seconds(20))
    }

    func close() async {
      await seeder.stop()
      await leecher.stop()
      await seederRepo.close()
      await leecherRepo.close()
      try? FileManager.default.removeItem(at: base)
    }
  }

  @Test("a dataset fetched through NetworkStore lands in the leecher's RepoStore with its proofs")
  func fetchIntoRepo() async throws {
    let ds = try TestDataset(count: 10, blockSize: 4096, seed: 41)
    let p = try await Pair(ds)
    let n = try await p.store.fetchDataset(manifest(ds), window: 4)
    #expect(n == 10)
    for i in 0..<10 {
      let got = try #require(try await p.leecherRepo.getBlock(tree: ds.treeCid, index: i))
      #expect(got.block == ds.blocks[i])
      #expect(got.proof.verify(leaf: got.block.cid.multihash, root: ds.treeCid.multihash))
    }
    #expect(try await p.store.fetchDataset(manifest(ds)) == 0)
    await p.close()
  }

  @Test("with a full quota, streamed blocks still reach the reader unstored, while a download into the repo fails")
  func fullQuotaStreamsButDoesNotDownload() async throws {
    let ds = try TestDataset(count: 12, blockSize: 4096, seed: 43)
    // Room for 3 of the 12 blocks.
    let quota: UInt64 = 3 * 4096
    let p = try await Pair(ds, leecherQuota: quota)

    var streamed: [Block] = []
    for try await block in p.store.blocks(tree: ds.treeCid, indices: 0..<12, window: 4) { streamed.append(block) }
    #expect(streamed == ds.blocks)
    let notStored = await p.leecher.stats.blocksNotStored
    #expect(notStored >= 9)
    #expect(try await p.leecherRepo.space().quotaUsedBytes <= quota)

    await #expect(throws: ExchangeError.self) { try await p.store.fetchDataset(manifest(ds), window: 4) }
    #expect(try await p.leecherRepo.space().quotaUsedBytes <= quota)
    await p.close()
  }
}
