import LibP2P
import Multiformats

/// What the engine knows about one connected peer.
struct PeerContext: Sendable {
  let id: PeerID
  // requester side
  /// Addresses the peer said it has (Have presences).
  var haves: Set<BlockAddress> = []
  /// Trees the peer is taken to hold whole: it sent a Have for one of their leaves or delivered one. Leaves of these trees are asked with a want-block at once (with `sendDontHave`,
  /// so a peer that lacks one says so), without a want-have round trip first. Bounded by `maxTreesRemembered`.
  var trees: Set<Cid> = []
  static let maxTreesRemembered = 1024
  /// Want-blocks sent to it and not yet answered.
  var requested: Set<BlockAddress> = []
  /// Want-haves sent to it since the last knowledge refresh.
  var askedHave: Set<BlockAddress> = []
  var lastRefresh: ContinuousClock.Instant
  var refreshBackoff = 1
  /// Want-blocks we cancelled at it (got the block elsewhere, or stopped wanting it): a delivery racing the cancel
  /// is dropped without penalty. Bounded: cleared when it grows past `maxCancelledRemembered`.
  var cancelled: Set<BlockAddress> = []
  static let maxCancelledRemembered = 4096
  /// Blocks accepted from it.
  var exchanged = 0
  /// Bad deliveries and undecodable messages.
  var failures = 0
  /// When we last heard from it.
  var lastActivity: ContinuousClock.Instant

  // provider side
  /// Its want-blocks, by address; `wantOrder` keeps arrival order (may hold stale addresses).
  var wanted: [BlockAddress: WantListEntry] = [:]
  var wantOrder: [BlockAddress] = []
  var wantOrderStart = 0
  /// Its want-haves we could not answer yet: a Have presence goes out when the block arrives here.
  var pendingHaves: Set<BlockAddress> = []
  /// Wanted addresses reserved by a running serving pass (other passes skip them).
  var inPass: Set<BlockAddress> = []
  /// Consecutive lookups that found nothing; stop rescheduling when it covers every want.
  var unavailableStreak = 0

  init(id: PeerID, now: ContinuousClock.Instant) {
    self.id = id
    lastActivity = now
    lastRefresh = now
  }

  /// True if `address` is a leaf of a tree the peer is taken to hold whole.
  func holdsTree(of address: BlockAddress) -> Bool {
    if case .leaf(let tree, _) = address { return trees.contains(tree) }
    return false
  }

  /// Takes the peer to hold the tree of leaf `address` whole.
  mutating func noteTreeHolder(_ address: BlockAddress) {
    guard case .leaf(let tree, _) = address, !trees.contains(tree) else { return }
    if trees.count >= Self.maxTreesRemembered { trees = [] }
    trees.insert(tree)
  }

  /// `exchanged / (exchanged + requested)`, 0.5 before the first block.
  var successRate: Double {
    exchanged > 0 ? Double(exchanged) / Double(exchanged + requested.count) : 0.5
  }

  /// nim's `selectRandom` score: lower is better.
  var score: Double { 2 * Double(requested.count) + 5 * (1 - successRate) }

  mutating func addWant(_ entry: WantListEntry, limit: Int) -> Bool {
    if wanted[entry.address] != nil {
      return true
    }
    guard wanted.count < limit else { return false }
    wanted[entry.address] = entry
    wantOrder.append(entry.address)
    return true
  }

  mutating func removeWant(_ address: BlockAddress) {
    wanted.removeValue(forKey: address)
    compactIfNeeded()
  }

  /// Up to `limit` wanted addresses in order, starting at the rotation point.
  mutating func nextWants(limit: Int) -> [BlockAddress] {
    var out: [BlockAddress] = []
    var i = wantOrderStart
    while out.count < limit && i < wantOrder.count {
      let a = wantOrder[i]
      if wanted[a] != nil && !inPass.contains(a) && !out.contains(a) { out.append(a) }
      i += 1
    }
    return out
  }

  /// Moves `addresses` (looked at, not available) to the back of the order.
  mutating func rotate(_ addresses: [BlockAddress]) {
    guard !addresses.isEmpty else { return }
    let set = Set(addresses)
    var kept: [BlockAddress] = []
    kept.reserveCapacity(wantOrder.count - wantOrderStart)
    for a in wantOrder[wantOrderStart...] where wanted[a] != nil && !set.contains(a) { kept.append(a) }
    wantOrder = kept + addresses.filter { wanted[$0] != nil }
    wantOrderStart = 0
  }

  private mutating func compactIfNeeded() {
    if wantOrder.count > 64 && wantOrder.count > 2 * wanted.count {
      var seen = Set<BlockAddress>()
      wantOrder = wantOrder.filter { wanted[$0] != nil && seen.insert($0).inserted }
      wantOrderStart = 0
    }
  }
}

/// A 64-bit SplitMix PRNG, seedable for deterministic peer selection.
struct SplitMix64: RandomNumberGenerator, Sendable {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}
