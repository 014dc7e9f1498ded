import CodexFormats
import Foundation
import LibP2P
import Multiformats
import Synchronization
import Testing

@testable import CodexExchange

@Suite("Memory budget of incoming block-exchange messages")
struct MessageBudgetTests {
  /// Starts `acquire` in a task and reports when it returned.
  final class Pending: Sendable {
    final class Flag: Sendable {
      let value = Mutex(false)
    }
    let task: Task<Void, any Error>
    private let flag = Flag()

    init(_ budget: MessageBudget, _ bytes: Int, _ peer: PeerID) {
      let flag = self.flag
      task = Task {
        try await budget.acquire(bytes, for: peer)
        flag.value.withLock { $0 = true }
      }
    }

    var granted: Bool { flag.value.withLock { $0 } }
  }

  /// A bare libp2p host (no exchange engine) that dials out and opens block-exchange streams by hand. It reads
  /// whatever the other side sends on its block-exchange streams, as any peer does (a peer that refuses the
  /// seeder's replies is dropped by the seeder).
  static func rawPeer() async throws -> P2PHost {
    let host = P2PHost(
      configuration: HostConfiguration(identity: .generateSecp256k1(), listenAddresses: []), logger: testLogger())
    host.registry.register(LibP2PExchangeNetwork.protocolID) { stream in
      while try await stream.read() != nil {}
    }
    try await host.start()
    return host
  }

  @Test("per-peer and total limits; a waiter starts when room is given back, in order among those that fit")
  func limits() async throws {
    let budget = MessageBudget(perPeer: 10, total: 25)
    let (a, b, c) = (randomPeer(), randomPeer(), randomPeer())
    try await budget.acquire(6, for: a)
    try await budget.acquire(4, for: a)  // a at its limit (10)
    let a3 = Pending(budget, 1, a)
    try await budget.acquire(10, for: b)
    try await budget.acquire(5, for: c)  // total 25 of 25
    let c2 = Pending(budget, 5, c)
    try await Task.sleep(for: .milliseconds(50))
    #expect(!a3.granted && !c2.granted)
    #expect(budget.waiting == 2 && budget.used == 25 && budget.used(by: a) == 10)
    budget.release(10, for: b)  // c2 fits now (c: 10, total 20); a3 still over a's limit
    #expect(await eventually(timeout: .seconds(5)) { c2.granted })
    #expect(!a3.granted)
    // A message that fits does not queue behind one that does not.
    try await budget.acquire(2, for: b)
    budget.release(6, for: a)
    #expect(await eventually(timeout: .seconds(5)) { a3.granted })
    #expect(budget.used == 4 + 1 + 10 + 2 && budget.waiting == 0)
  }

  @Test("a message over the per-peer limit takes the one large place, outside the total; a second one waits")
  func largeMessages() async throws {
    let budget = MessageBudget(perPeer: 10, total: 20)
    let (a, b, c) = (randomPeer(), randomPeer(), randomPeer())
    try await budget.acquire(10, for: b)
    try await budget.acquire(10, for: c)  // total full
    try await budget.acquire(1000, for: a)  // large: does not wait for the total
    let second = Pending(budget, 500, b)
    let small = Pending(budget, 1, a)
    try await Task.sleep(for: .milliseconds(50))
    #expect(!second.granted && !small.granted)
    #expect(budget.used == 1020 && budget.used(by: a) == 1000)
    budget.release(1000, for: a)
    #expect(await eventually(timeout: .seconds(5)) { second.granted })
    #expect(!small.granted)  // still over the total
    #expect(budget.used(by: a) == 0 && budget.used(by: b) == 510)
    budget.release(10, for: c)
    #expect(await eventually(timeout: .seconds(5)) { small.granted })
  }

  @Test("closing fails waiters and later acquires; a cancelled waiter leaves")
  func closeAndCancel() async throws {
    let budget = MessageBudget(perPeer: 10, total: 10)
    let a = randomPeer()
    try await budget.acquire(10, for: a)
    let cancelled = Pending(budget, 5, a)
    let closed = Pending(budget, 5, a)
    #expect(await eventually(timeout: .seconds(5)) { budget.waiting == 2 })
    cancelled.task.cancel()
    await #expect(throws: CancellationError.self) { try await cancelled.task.value }
    #expect(budget.waiting == 1)
    budget.close()
    await #expect(throws: ExchangeError.self) { try await closed.task.value }
    await #expect(throws: ExchangeError.self) { try await budget.acquire(1, for: a) }
  }

  @Test(
    "a peer announcing large messages on many streams and sending them slowly holds a bounded amount; others are served"
  )
  func slowLargeMessages() async throws {
    let seeder = try await LiveNode.start()
    let attacker = try await LiveNode.start()
    let honest = try await LiveNode.start()
    let ds = try TestDataset(count: 8, blockSize: 65536, seed: 81)
    try await seeder.store.add(ds)
    try await attacker.exchange.connect(peer: seeder.host.peerID, addresses: seeder.host.listenAddresses)
    // 13 streams, each announcing a 5 MiB message (within the per-peer limit) and 2 announcing 90 MiB, each with
    // its first MiB sent: without a budget each would be buffered until complete (up to 100 MiB a stream).
    var streams: [P2PStream] = []
    let piece = [UInt8](repeating: 0x0A, count: 1 << 20)
    for i in 0..<15 {
      let s = try await attacker.host.newStream(to: seeder.host.peerID, protocols: [LibP2PExchangeNetwork.protocolID])
      try await s.write(Varint.encode(UInt64(i < 13 ? 5 << 20 : 90 << 20)) + piece)
      streams.append(s)
    }
    let budget = seeder.exchange.network.budget
    let perPeer = LibP2PExchangeNetwork.defaultMessageBytesPerPeer
    // One 5 MiB message fits the per-peer 8 MiB and one 90 MiB message takes the large place; the rest wait.
    #expect(await eventually(timeout: .seconds(20)) { budget.waiting == 13 })
    // The attacker holds its per-peer share and the one large place, no more.
    #expect(budget.used(by: attacker.host.peerID) <= perPeer + (90 << 20))
    #expect(budget.used(by: attacker.host.peerID) >= 5 << 20)

    // An honest peer still fetches the dataset.
    try await honest.exchange.connect(peer: seeder.host.peerID, addresses: seeder.host.listenAddresses)
    var got: [Block] = []
    for try await b in honest.exchange.networkStore.blocks(tree: ds.treeCid, indices: 0..<8, window: 4) {
      got.append(b)
    }
    #expect(got == ds.blocks)

    // When the attacker goes, everything it held is given back.
    for s in streams { s.reset() }
    await attacker.shutdown()
    #expect(await eventually(timeout: .seconds(20)) { budget.used(by: attacker.host.peerID) == 0 })
    #expect(budget.waiting == 0)
    await honest.shutdown()
    await seeder.shutdown()
  }

  @Test("one peer may keep 16 block-exchange streams open; a 17th is reset, and other peers' streams are not")
  func inboundStreamsPerPeer() async throws {
    let seeder = try await LiveNode.start()
    let greedy = try await Self.rawPeer()
    let other = try await LiveNode.start()
    let ds = try TestDataset(count: 2, blockSize: 1024, seed: 82)
    try await seeder.store.add(ds)
    try await greedy.connect(to: try #require(seeder.host.listenAddresses.first), peer: seeder.host.peerID)
    let limit = LibP2PExchangeNetwork.defaultMaxInboundStreamsPerPeer
    let want = Message(
      wantList: WantList(entries: [WantListEntry(address: .cid(ds.blocks[0].cid), wantType: .wantHave)]))
    var open: [P2PStream] = []
    for _ in 0..<limit {
      let s = try await greedy.newStream(to: seeder.host.peerID, protocols: [LibP2PExchangeNetwork.protocolID])
      open.append(s)
    }
    let before = await seeder.exchange.engine.stats.messagesReceived
    for s in open { try await s.write(MessageFraming.frame(want)) }
    let count = open.count
    #expect(
      await eventually(timeout: .seconds(10)) {
        await seeder.exchange.engine.stats.messagesReceived >= before + count
      })
    // The next one is reset by the seeder (its read fails); an accepted one would just stay open.
    let extra = try await greedy.newStream(to: seeder.host.peerID, protocols: [LibP2PExchangeNetwork.protocolID])
    let failed = Pending.Flag()
    let reader = Task {
      do { while try await extra.read() != nil {} } catch { failed.value.withLock { $0 = true } }
    }
    #expect(await eventually(timeout: .seconds(10)) { failed.value.withLock { $0 } })
    extra.reset()
    _ = await reader.value
    // Another peer still exchanges blocks with the seeder.
    try await other.exchange.connect(peer: seeder.host.peerID, addresses: seeder.host.listenAddresses)
    let got = try #require(try await other.exchange.networkStore.getBlock(tree: ds.treeCid, index: 1))
    #expect(got.block == ds.blocks[1])
    for s in open { s.reset() }
    await other.shutdown()
    await greedy.shutdown()
    await seeder.shutdown()
  }

  @Test("120 peers each with a block-exchange stream are all heard (the limit is per peer, not for all together)")
  func manyPeers() async throws {
    let seeder = try await LiveNode.start()
    let ds = try TestDataset(count: 1, blockSize: 1024, seed: 83)
    try await seeder.store.add(ds)
    let want = Message(
      wantList: WantList(entries: [WantListEntry(address: .cid(ds.blocks[0].cid), wantType: .wantHave)]))
    let address = try #require(seeder.host.listenAddresses.first)
    var peers: [(P2PHost, P2PStream)] = []
    for _ in 0..<120 {
      let h = try await Self.rawPeer()
      try await h.connect(to: address, peer: seeder.host.peerID)
      let s = try await h.newStream(to: seeder.host.peerID, protocols: [LibP2PExchangeNetwork.protocolID])
      try await s.write(MessageFraming.frame(want))
      peers.append((h, s))
    }
    #expect(await eventually(timeout: .seconds(30)) { await seeder.exchange.engine.stats.messagesReceived >= 120 })
    for (h, _) in peers { await h.shutdown() }
    await seeder.shutdown()
  }
}
