import LibP2P
import Testing

@testable import CodexExchange

@Suite("Peer selection (nim selectRandom)")
struct PeerSelectionTests {
  @Test("score = 2 × in-flight + 5 × (1 − success rate); success rate 0.5 before the first block")
  func score() {
    let now = ContinuousClock().now
    var p = PeerContext(id: randomPeer(), now: now)
    #expect(p.score == 2.5)
    p.requested = [.cid(Block(data: [1]).cid), .cid(Block(data: [2]).cid)]
    #expect(p.score == 4 + 2.5)
    p.exchanged = 2
    #expect(p.successRate == 0.5)
    #expect(p.score == 4 + 2.5)
    p.requested = []
    #expect(p.score == 0)
  }

  @Test("weights max(score) + 1 − score: the idle, reliable peer is picked far more often")
  func weighted() async throws {
    let hub = InMemoryExchangeHub()
    let node = try await hub.node(config: fastConfig(seed: 5))
    let now = ContinuousClock().now
    var good = PeerContext(id: randomPeer(), now: now)
    good.exchanged = 10
    var busy = PeerContext(id: randomPeer(), now: now)
    busy.requested = Set((0..<5).map { BlockAddress.cid(Block(data: [UInt8($0)]).cid) })
    // scores: good 0, busy 12.5 → weights 13.5 : 1
    var goodPicks = 0
    for _ in 0..<1000 where await node.engine.selectPeer([good, busy]) == good.id { goodPicks += 1 }
    #expect(goodPicks > 850 && goodPicks < 1000)
    #expect(await node.engine.selectPeer([busy]) == busy.id)
    #expect(await node.engine.selectPeer([]) == nil)
    await node.engine.stop()
  }
}

import CodexFormats
