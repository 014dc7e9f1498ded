import CodexExchange
import CodexNode
import Foundation
import Hummingbird

/// `GET /debug/exchange`: read-only block-exchange counters of this node (a Swift extension, for tests and
/// diagnostics): blocks accepted per peer, deliveries rejected (bad proof, wrong bytes, unrequested), undecodable
/// messages, peers evicted, and the failures currently counted against each connected peer.
struct ExchangeDebugRoutes {
  let node: CodexNode

  /// The answer; peer ids are base58 strings.
  struct ExchangeDebug: Codable, Sendable {
    var receivedBlocksByPeer: [String: Int]
    var failuresByPeer: [String: Int]
    var connectedPeers: [String]
    var messagesReceived: Int
    var blocksReceived: Int
    var blocksNotStored: Int
    var blocksSent: Int
    var deliveryMessagesSent: Int
    var rejectedDeliveries: Int
    var malformedMessages: Int
    var peersEvicted: Int
  }

  func register(on api: RouterGroup<CodexRequestContext>) {
    api.get("debug/exchange") { _, _ in
      let engine = node.exchange.engine
      let stats = await engine.stats
      func named<Key: Hashable & CustomStringConvertible>(_ d: [Key: Int]) -> [String: Int] {
        Dictionary(d.map { ($0.key.description, $0.value) }, uniquingKeysWith: +)
      }
      let info = ExchangeDebug(
        receivedBlocksByPeer: named(await engine.receivedBlocksByPeer),
        failuresByPeer: named(await engine.failuresByPeer),
        connectedPeers: await engine.connectedPeers.map(\.description).sorted(),
        messagesReceived: stats.messagesReceived, blocksReceived: stats.blocksReceived,
        blocksNotStored: stats.blocksNotStored, blocksSent: stats.blocksSent,
        deliveryMessagesSent: stats.deliveryMessagesSent,
        rejectedDeliveries: stats.rejectedDeliveries, malformedMessages: stats.malformedMessages,
        peersEvicted: stats.peersEvicted)
      return try CodexAPI.json(info, pretty: true)
    }
  }
}
