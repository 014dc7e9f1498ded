import LibP2P
import Multiformats
import Synchronization

/// A peer that may hold a CID, and where to dial it.
public struct ProviderInfo: Sendable, Hashable {
  public var peer: PeerID
  public var addresses: [Multiaddr]

  public init(peer: PeerID, addresses: [Multiaddr] = []) {
    self.peer = peer
    self.addresses = addresses
  }
}

/// Finds providers of content and announces our own (`blockexc.md` §4.1 discovery, §4.3 advertising).
/// The DHT (codex-dht) implements it later; `StaticDiscovery` serves until then and in tests.
public protocol Discovery: Sendable {
  /// Peers that may hold `cid` (a manifest, tree or block CID). May be empty; never blocks for long.
  func findProviders(for cid: Cid) async throws -> [ProviderInfo]
  /// Announces that this node provides `cid`.
  func provide(_ cid: Cid) async throws
}

/// A `Discovery` fed by hand: every known peer is a candidate provider for every CID (the block-exchange
/// want-have round then tells who really has what). The node adds peers as it connects to them.
public final class StaticDiscovery: Discovery {
  private struct State {
    var peers: [PeerID: ProviderInfo] = [:]
    var provided: Set<Cid> = []
  }
  private let state = Mutex(State())

  public init(providers: [ProviderInfo] = []) {
    state.withLock { s in for p in providers { s.peers[p.peer] = p } }
  }

  /// Adds or replaces a known peer.
  public func add(_ provider: ProviderInfo) { state.withLock { $0.peers[provider.peer] = provider } }
  /// Forgets a peer.
  public func remove(_ peer: PeerID) { _ = state.withLock { $0.peers.removeValue(forKey: peer) } }
  /// The CIDs announced through `provide`.
  public var provided: Set<Cid> { state.withLock { $0.provided } }

  public func findProviders(for cid: Cid) async throws -> [ProviderInfo] {
    state.withLock { Array($0.peers.values) }
  }

  public func provide(_ cid: Cid) async throws {
    _ = state.withLock { $0.provided.insert(cid) }
  }
}
