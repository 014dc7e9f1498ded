import CodexFormats
import CodexStore
import LibP2P
import Multiformats
import Testing

@testable import CodexExchange

@Suite("Provider side of the engine")
struct ServingTests {
  @Test("want-haves get Have presences in batches of at most 1024; DontHave only when asked")
  func presences() async throws {
    let hub = InMemoryExchangeHub()
    let seeder = try await hub.node()
    let raw = try await RawPeer(hub: hub)
    let ds = try TestDataset(count: 1500, blockSize: 16, seed: 31)
    try await seeder.store.add(ds)
    try await hub.connect(raw.peer, seeder.peer)
    let missingA = BlockAddress.leaf(treeCid: ds.treeCid, index: 1500)
    let missingB = BlockAddress.leaf(treeCid: ds.treeCid, index: 1501)
    var entries = (0..<1500).map {
      WantListEntry(address: .leaf(treeCid: ds.treeCid, index: $0), wantType: .wantHave)
    }
    entries.append(WantListEntry(address: missingA, wantType: .wantHave, sendDontHave: false))
    entries.append(WantListEntry(address: missingB, wantType: .wantHave, sendDontHave: true))
    try await raw.send(Message(wantList: WantList(entries: entries, full: true)), to: seeder.peer)
    #expect(await raw.waitFor { ms in ms.reduce(0) { $0 + $1.blockPresences.count } >= 1501 })
    let msgs = raw.messages.filter { !$0.blockPresences.isEmpty }
    #expect(msgs.count >= 2)
    #expect(msgs.allSatisfy { $0.blockPresences.count <= 1024 })
    let all = msgs.flatMap(\.blockPresences)
    #expect(all.filter { $0.type == .have }.count == 1500)
    #expect(all.filter { $0.type == .dontHave }.map(\.address) == [missingB])
    #expect(!all.contains { $0.address == missingA })
    #expect(all.allSatisfy { $0.price == BlockPresence.zeroPrice })
    await seeder.engine.stop()
  }

  @Test("want-blocks are served in messages of at most maxBlocksPerMessage (≤ 20) deliveries, each with a valid proof")
  func deliveries() async throws {
    let hub = InMemoryExchangeHub()
    let seeder = try await hub.node()
    let raw = try await RawPeer(hub: hub)
    let ds = try TestDataset(count: 45, seed: 32)
    try await seeder.store.add(ds)
    try await hub.connect(raw.peer, seeder.peer)
    let entries = (0..<45).map { WantListEntry(address: .leaf(treeCid: ds.treeCid, index: $0), wantType: .wantBlock) }
    try await raw.send(Message(wantList: WantList(entries: entries)), to: seeder.peer)
    #expect(await raw.waitFor { ms in ms.reduce(0) { $0 + $1.payload.count } >= 45 })
    let msgs = raw.messages.filter { !$0.payload.isEmpty }
    // nim's limit is 20 deliveries per message; ours is the configured (smaller) run length.
    #expect(ExchangeConfig().maxBlocksPerMessage <= 20)
    #expect(msgs.allSatisfy { $0.payload.count <= ExchangeConfig().maxBlocksPerMessage })
    #expect(msgs.count >= 3)
    let all = msgs.flatMap(\.payload)
    #expect(Set(all.map(\.address)).count == 45)
    for d in all {
      guard case .leaf(_, let i) = d.address else {
        Issue.record("not a leaf")
        continue
      }
      #expect(d.block == ds.blocks[i])
      #expect(d.proof?.verify(leaf: d.block.cid.multihash, root: ds.treeCid.multihash) == true)
    }
    await seeder.engine.stop()
  }

  @Test("a cancelled want is not served once the block shows up; a later want is")
  func cancel() async throws {
    let hub = InMemoryExchangeHub()
    let seeder = try await hub.node()
    let raw = try await RawPeer(hub: hub)
    let ds = try TestDataset(count: 3, seed: 33)
    try await hub.connect(raw.peer, seeder.peer)
    let x = BlockAddress.leaf(treeCid: ds.treeCid, index: 0)
    let y = BlockAddress.leaf(treeCid: ds.treeCid, index: 1)
    let z = BlockAddress.leaf(treeCid: ds.treeCid, index: 2)
    try await raw.send(
      Message(wantList: WantList(entries: [WantListEntry(address: x), WantListEntry(address: z)])), to: seeder.peer)
    try await raw.send(Message(wantList: WantList(entries: [WantListEntry(address: x, cancel: true)])), to: seeder.peer)
    #expect(await eventually { await seeder.engine.stats.messagesReceived == 2 })
    for i in 0..<3 {
      try await seeder.networkStore.putBlock(ds.blocks[i], ttl: nil)
      try await seeder.networkStore.putLeaf(
        tree: ds.treeCid, index: i, blockCid: ds.blocks[i].cid, proof: try ds.tree.proof(for: i))
    }
    // z was still wanted: served when it showed up.
    #expect(await raw.waitFor { ms in ms.contains { $0.payload.contains { $0.address == z } } })
    try await raw.send(Message(wantList: WantList(entries: [WantListEntry(address: y)])), to: seeder.peer)
    #expect(await raw.waitFor { ms in ms.contains { $0.payload.contains { $0.address == y } } })
    #expect(!raw.messages.contains { $0.payload.contains { $0.address == x } })
    await seeder.engine.stop()
  }

  @Test("task runners serve peers round-robin")
  func fairness() async throws {
    let hub = InMemoryExchangeHub()
    var cfg = fastConfig()
    cfg.concurrentTasks = 1
    let seeder = try await hub.node(config: cfg)
    let log = ArrivalLog()
    let a = try await RawPeer(hub: hub, log: log)
    let b = try await RawPeer(hub: hub, log: log)
    // Three full messages per peer, of different datasets: the order of the store's reads shows whom each pass
    // served. (The order of the sends does not: every peer's messages go out from its own sender task.)
    let dsA = try TestDataset(count: 3 * cfg.maxBlocksPerMessage, blockSize: 64, seed: 34)
    let dsB = try TestDataset(count: 3 * cfg.maxBlocksPerMessage, blockSize: 64, seed: 35)
    try await seeder.store.add(dsA)
    try await seeder.store.add(dsB)
    try await hub.connect(a.peer, seeder.peer)
    try await hub.connect(b.peer, seeder.peer)
    await seeder.store.setHang(true)
    func wants(_ ds: TestDataset) -> Message {
      Message(
        wantList: WantList(
          entries: ds.blocks.indices.map { WantListEntry(address: .leaf(treeCid: ds.treeCid, index: $0)) }))
    }
    try await a.send(wants(dsA), to: seeder.peer)
    #expect(await eventually { await seeder.engine.stats.messagesReceived == 1 })
    try await b.send(wants(dsB), to: seeder.peer)
    #expect(await eventually { await seeder.engine.stats.messagesReceived == 2 })
    await seeder.store.setHang(false)
    #expect(await eventually { log.order.count == 6 })
    #expect(log.order.filter { $0 == a.peer }.count == 3)
    // One pass per message, alternating between the peers.
    let reads = await seeder.store.leafReads
    #expect(reads.count == 6 * cfg.maxBlocksPerMessage)
    let passes = stride(from: 0, to: reads.count, by: cfg.maxBlocksPerMessage).map { start in
      Set(reads[start..<min(start + cfg.maxBlocksPerMessage, reads.count)])
    }
    #expect(passes == [dsA, dsB, dsA, dsB, dsA, dsB].map { Set([$0.treeCid]) })
    await seeder.engine.stop()
  }

  @Test("an unanswered want-have gets a Have once the block arrives")
  func lateHave() async throws {
    let hub = InMemoryExchangeHub()
    let node = try await hub.node()
    let raw = try await RawPeer(hub: hub)
    let ds = try TestDataset(count: 1, seed: 35)
    try await hub.connect(raw.peer, node.peer)
    let leaf = BlockAddress.leaf(treeCid: ds.treeCid, index: 0)
    try await raw.send(
      Message(wantList: WantList(entries: [WantListEntry(address: leaf, wantType: .wantHave)])), to: node.peer)
    #expect(await eventually { await node.engine.stats.messagesReceived == 1 })
    #expect(raw.messages.allSatisfy { $0.blockPresences.isEmpty })
    try await node.networkStore.putBlock(ds.blocks[0], ttl: nil)
    try await node.networkStore.putLeaf(
      tree: ds.treeCid, index: 0, blockCid: ds.blocks[0].cid, proof: try ds.tree.proof(for: 0))
    #expect(
      await raw.waitFor { ms in ms.contains { $0.blockPresences == [BlockPresence(address: leaf, type: .have)] } })
    await node.engine.stop()
  }
}
