import CodexFormats
import CodexStore
import Foundation
import Multiformats
import Testing

@testable import CodexExchange

/// Well-formed but hostile block-exchange messages (they decode; what they ask or claim is nonsense) sent to a seeder
/// and a leecher, both engines over real `RepoStore`s, while the leecher downloads a dataset from the seeder. The
/// decoder fuzz (`MessageTests`) covers bytes that do not decode; this covers what the engines do with the rest.
@Suite("Hostile well-formed messages")
struct HostileMessageTests {
  /// Random message parts built from the dataset (so some addresses exist), from other trees and from nonsense.
  struct Generator {
    var rng: TestRNG
    let ds: TestDataset
    let other: TestDataset

    mutating func int(_ n: Int) -> Int { Int(rng.next() % UInt64(n)) }
    mutating func bool() -> Bool { rng.next() & 1 == 1 }

    mutating func index() -> Int {
      switch int(6) {
      case 0: return Int.max
      case 1: return Int.max - int(3)
      case 2: return ds.blocks.count + int(4)
      case 3: return 1 << (40 + int(20))
      default: return int(ds.blocks.count)
      }
    }

    mutating func address() -> BlockAddress {
      switch int(5) {
      case 0: return .leaf(treeCid: other.treeCid, index: index())
      case 1: return .cid(ds.blocks[int(ds.blocks.count)].cid)
      case 2: return .cid(Block(data: rng.bytes(1 + int(64))).cid)
      case 3: return .leaf(treeCid: ds.blocks[0].cid, index: index())  // a block CID as tree
      default: return .leaf(treeCid: ds.treeCid, index: index())
      }
    }

    mutating func delivery() throws -> BlockDelivery {
      let i = int(ds.blocks.count)
      let j = (i + 1 + int(ds.blocks.count - 1)) % ds.blocks.count
      switch int(6) {
      case 0:  // a real block and proof at the wrong index
        return BlockDelivery(
          block: ds.blocks[i], address: .leaf(treeCid: ds.treeCid, index: j), proof: try ds.tree.proof(for: i))
      case 1:  // a random block claiming a leaf, with a real proof of another
        return BlockDelivery(
          block: Block(data: rng.bytes(1024)), address: .leaf(treeCid: ds.treeCid, index: i),
          proof: try ds.tree.proof(for: i))
      case 2:  // a proof with a nonsense index
        let p = try ds.tree.proof(for: i)
        return BlockDelivery(
          block: ds.blocks[i], address: .leaf(treeCid: ds.treeCid, index: index()),
          proof: CodexProof(mcodec: p.mcodec, index: index(), leafCount: index(), path: p.path))
      case 3:  // a proof with a cut or padded path
        let p = try ds.tree.proof(for: i)
        let path = bool() ? Array(p.path.dropLast()) : p.path + p.path
        return BlockDelivery(
          block: ds.blocks[i], address: .leaf(treeCid: ds.treeCid, index: i),
          proof: CodexProof(mcodec: p.mcodec, index: i, leafCount: p.leafCount, path: path))
      case 4:  // a leaf without proof
        return BlockDelivery(block: ds.blocks[i], address: .leaf(treeCid: ds.treeCid, index: i))
      default:  // a block by CID nobody asked for
        let b = bool() ? ds.blocks[i] : Block(data: rng.bytes(1 + int(2048)))
        return BlockDelivery(block: b, address: .cid(b.cid))
      }
    }

    mutating func message() throws -> Message {
      var m = Message()
      m.wantList = WantList(
        entries: (0..<int(40)).map { _ in
          WantListEntry(
            address: address(), priority: Int32(truncatingIfNeeded: rng.next()), cancel: int(4) == 0,
            wantType: bool() ? .wantBlock : .wantHave, sendDontHave: bool())
        }, full: int(5) == 0)
      m.blockPresences = (0..<int(20)).map { _ in
        BlockPresence(address: address(), type: bool() ? .have : .dontHave, price: rng.bytes(int(3) == 0 ? 64 : 32))
      }
      if int(3) == 0 { m.payload = try (0..<(1 + int(4))).map { _ in try delivery() } }
      m.pendingBytes = rng.next()
      return m
    }
  }

  @Test("nonsense wants, presences and deliveries: no trap, nothing bad stored, the real download completes")
  func barrage() async throws {
    let base = FileManager.default.temporaryDirectory.appendingPathComponent("bx-hostile-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: base) }
    let ds = try TestDataset(count: 300, blockSize: 1024, seed: 71)
    let other = try TestDataset(count: 8, blockSize: 1024, seed: 72)
    let seederRepo = try RepoStore(
      config: RepoConfig(directory: base.appendingPathComponent("s").path), logger: testLogger())
    let leecherRepo = try RepoStore(
      config: RepoConfig(directory: base.appendingPathComponent("l").path), logger: testLogger())
    for (i, b) in ds.blocks.enumerated() {
      try await seederRepo.putBlock(b, ttl: nil)
      try await seederRepo.putLeaf(tree: ds.treeCid, index: i, blockCid: b.cid, proof: try ds.tree.proof(for: i))
    }
    let hub = InMemoryExchangeHub()
    var config = fastConfig()
    config.maxPeerFailures = 1_000_000  // keep the hostile peer around so every message is handled
    let seederNet = hub.makeNetwork(peer: randomPeer())
    let leecherNet = hub.makeNetwork(peer: randomPeer())
    let seeder = BlockExchangeEngine(
      network: seederNet, store: seederRepo, discovery: StaticDiscovery(), config: config, logger: testLogger())
    let leecher = BlockExchangeEngine(
      network: leecherNet, store: leecherRepo, discovery: StaticDiscovery(), config: config, logger: testLogger())
    try await seeder.start()
    try await leecher.start()
    let hostile = try await RawPeer(hub: hub)
    try await hub.connect(seederNet.localPeer, leecherNet.localPeer)
    try await hub.connect(hostile.peer, seederNet.localPeer)
    try await hub.connect(hostile.peer, leecherNet.localPeer)

    let store = NetworkStore(local: leecherRepo, engine: leecher, blockTimeout: .seconds(60))
    let download = Task { try await store.fetchDataset(manifest(ds), window: 16) }
    var gen = Generator(rng: TestRNG(seed: 20_261_207), ds: ds, other: other)
    for _ in 0..<400 {
      let m = try gen.message()
      try await hostile.send(m, to: gen.bool() ? seederNet.localPeer : leecherNet.localPeer)
    }
    #expect(try await download.value == ds.blocks.count)

    // Every leaf the leecher holds is the dataset's, with a proof that verifies; nothing of the other tree.
    for i in 0..<ds.blocks.count {
      let got = try #require(try await leecherRepo.getBlock(tree: ds.treeCid, index: i))
      #expect(got.block == ds.blocks[i])
      #expect(got.proof.verify(leaf: got.block.cid.multihash, root: ds.treeCid.multihash))
    }
    #expect(try await leecherRepo.getBlock(tree: ds.treeCid, index: ds.blocks.count) == nil)
    #expect(try await leecherRepo.getBlock(tree: other.treeCid, index: 0) == nil)
    let rejected = await leecher.stats.rejectedDeliveries
    #expect(rejected > 0)

    // The seeder still serves: an honest want-block from the same (hostile) peer is answered with a valid proof.
    let before = hostile.messages.count
    let wanted = BlockAddress.leaf(treeCid: ds.treeCid, index: 7)
    try await hostile.send(
      Message(wantList: WantList(entries: [WantListEntry(address: wanted, wantType: .wantBlock)])),
      to: seederNet.localPeer)
    #expect(
      await hostile.waitFor { ms in ms.dropFirst(before).contains { $0.payload.contains { $0.address == wanted } } })
    let served = try #require(hostile.messages.dropFirst(before).flatMap(\.payload).first { $0.address == wanted })
    #expect(served.block == ds.blocks[7])
    #expect(served.proof?.verify(leaf: served.block.cid.multihash, root: ds.treeCid.multihash) == true)

    await seeder.stop()
    await leecher.stop()
    await seederRepo.close()
    await leecherRepo.close()
  }
}
