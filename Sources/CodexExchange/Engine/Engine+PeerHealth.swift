import LibP2P

extension BlockExchangeEngine {
  /// Failures counted against each connected peer that has at least one (bad or unrequested deliveries,
  /// undecodable messages), for diagnostics. A peer evicted after `maxPeerFailures` is no longer listed; see
  /// `stats.peersEvicted`.
  public var failuresByPeer: [PeerID: Int] {
    peers.compactMapValues { $0.failures > 0 ? $0.failures : nil }
  }
}
