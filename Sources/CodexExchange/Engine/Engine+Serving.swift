import CodexFormats
import CodexStore
import LibP2P
import Logging
import Multiformats
import NIOCore

extension BlockExchangeEngine {
  /// Tells the engine that blocks became available locally, so peers waiting for them get served.
  public func blocksStored(_ addresses: [BlockAddress]) {
    blocksAvailable(addresses)
  }

  func blocksAvailable(_ addresses: [BlockAddress]) {
    // Ids first, then in-place mutation (iterating `peers` while mutating it would copy the contexts' sets).
    for id in peers.compactMap({ $0.value.pendingHaves.isEmpty ? nil : $0.key }) {
      for a in addresses where peers[id]!.pendingHaves.remove(a) != nil {
        queuePresence(BlockPresence(address: a, type: .have), to: id)
      }
    }
    let waiting = peers.compactMap { id, ctx in
      !ctx.wanted.isEmpty && addresses.contains(where: { ctx.wanted[$0] != nil }) ? id : nil
    }
    for id in waiting {
      peers[id]!.unavailableStreak = 0
      schedule(id)
    }
  }

  // MARK: want-lists

  /// nim's `wantListHandler`: want-haves are answered with presences, want-blocks join the peer's wanted set,
  /// cancels leave it.
  func handleWants(_ list: WantList, from peer: PeerID) async {
    var haveChecks: [WantListEntry] = []
    var added = false
    for e in list.entries {
      guard peers[peer] != nil else { return }
      if e.cancel {
        peers[peer]!.removeWant(e.address)
        peers[peer]!.pendingHaves.remove(e.address)
        continue
      }
      switch e.wantType {
      case .wantHave:
        haveChecks.append(e)
      case .wantBlock:
        if peers[peer]!.addWant(e, limit: config.maxWantsPerPeer) { added = true }
      }
    }
    if added {
      peers[peer]?.unavailableStreak = 0
      schedule(peer)
    }
    for e in haveChecks {
      let has = await hasLocally(e.address)
      if has {
        queuePresence(BlockPresence(address: e.address, type: .have), to: peer)
      } else {
        if e.sendDontHave { queuePresence(BlockPresence(address: e.address, type: .dontHave), to: peer) }
        if peers[peer] != nil, peers[peer]!.pendingHaves.count < config.maxWantsPerPeer {
          peers[peer]!.pendingHaves.insert(e.address)
        }
      }
    }
  }

  nonisolated func hasLocally(_ address: BlockAddress) async -> Bool {
    do {
      switch address {
      case .leaf(let tree, let index): return try await store.hasBlock(tree: tree, index: index)
      case .cid(let cid):
        if Codex.isEmpty(cid) { return true }
        return try await store.hasBlock(cid)
      }
    } catch {
      return false
    }
  }

  // MARK: scheduling

  /// Queues `peer` for a task runner (once; again after a pass ends if `maxPassesPerPeer` passes are running).
  func schedule(_ peer: PeerID) {
    guard peers[peer] != nil, !stopped else { return }
    if serving[peer, default: 0] >= max(1, config.maxPassesPerPeer) {
      rescheduleAfterServing.insert(peer)
      return
    }
    guard !scheduledSet.contains(peer) else { return }
    if !runnerWaiters.isEmpty {
      serving[peer, default: 0] += 1
      runnerWaiters.removeFirst().resume(returning: peer)
      return
    }
    scheduled.append(peer)
    scheduledSet.insert(peer)
  }

  func nextScheduledPeer() async -> PeerID? {
    if stopped { return nil }
    while !scheduled.isEmpty {
      let peer = scheduled.removeFirst()
      scheduledSet.remove(peer)
      // Queued while under the limit, but passes started since: serve it when one of them ends.
      if serving[peer, default: 0] >= max(1, config.maxPassesPerPeer) {
        rescheduleAfterServing.insert(peer)
        continue
      }
      serving[peer, default: 0] += 1
      return peer
    }
    return await withCheckedContinuation { (c: CheckedContinuation<PeerID?, Never>) in
      runnerWaiters.append(c)
    }
  }

  /// Starts a pass: up to `limit` wanted addresses not in another pass of this peer, reserved for this one. While
  /// more wants remain (and blocks were found lately), the peer is queued again so another runner can serve it in
  /// parallel: one pass at a time leaves a fast link idle between store reads and sends.
  func beginServing(_ peer: PeerID, limit: Int) -> [BlockAddress]? {
    guard peers[peer] != nil else {
      passEnded(peer)
      return nil
    }
    let addresses = reserveWants(peer, limit: limit)
    let ctx = peers[peer]!
    if ctx.wanted.count > ctx.inPass.count, ctx.unavailableStreak == 0 { schedule(peer) }
    return addresses
  }

  /// Reserves up to `limit` more wanted addresses of `peer` for a running pass.
  func reserveWants(_ peer: PeerID, limit: Int) -> [BlockAddress] {
    guard peers[peer] != nil else { return [] }
    let addresses = peers[peer]!.nextWants(limit: limit)
    peers[peer]!.inPass.formUnion(addresses)
    return addresses
  }

  private func passEnded(_ peer: PeerID) {
    let n = serving[peer, default: 1] - 1
    serving[peer] = n > 0 ? n : nil
  }

  /// Ends a pass over `reserved`: `sent` leave the wanted set; `missing` ones are answered with DontHave when the
  /// want asked for it (and dropped), else rotated to the back.
  func endServing(
    _ peer: PeerID, reserved: [BlockAddress], sent: [BlockAddress], missing: [BlockAddress], sendFailed: Bool
  ) {
    passEnded(peer)
    let again = rescheduleAfterServing.remove(peer) != nil
    guard peers[peer] != nil else { return }
    peers[peer]!.inPass.subtract(reserved)
    for a in sent { peers[peer]!.removeWant(a) }
    stats.blocksSent += sent.count
    if !sent.isEmpty { stats.deliveryMessagesSent += 1 }
    var rotate: [BlockAddress] = []
    for a in missing {
      if !sendFailed, peers[peer]!.wanted[a]?.sendDontHave == true {
        peers[peer]!.removeWant(a)
        queuePresence(BlockPresence(address: a, type: .dontHave), to: peer)
      } else {
        rotate.append(a)
      }
    }
    peers[peer]!.rotate(rotate)
    if sent.isEmpty {
      peers[peer]!.unavailableStreak += rotate.count
    } else {
      peers[peer]!.unavailableStreak = 0
    }
    if again { peers[peer]!.unavailableStreak = 0 }
    let ctx = peers[peer]!
    guard !sendFailed, ctx.wanted.count > ctx.inPass.count else { return }
    if again || !sent.isEmpty || ctx.unavailableStreak < ctx.wanted.count {
      schedule(peer)
    }
  }

  // MARK: delivery queue

  /// Queues a delivery message on `peer`'s link, first waiting while `maxQueuedDeliveryBytes` are queued to it.
  /// False when the peer is gone.
  func queueDeliveries(_ frame: ByteBuffer, bytes: Int, to peer: PeerID) async -> Bool {
    while peers[peer] != nil, !stopped, deliveryBytesQueued[peer, default: 0] >= config.maxQueuedDeliveryBytes {
      await withCheckedContinuation { deliveryWaiters[peer, default: []].append($0) }
    }
    guard peers[peer] != nil, !stopped, let sender = senders[peer] else { return false }
    deliveryBytesQueued[peer, default: 0] += bytes
    sender.yield((.framed(frame), bytes))
    return true
  }

  /// A queued delivery message to `peer` was written (or failed): room for the next.
  func deliveriesWritten(_ bytes: Int, to peer: PeerID) {
    guard let queued = deliveryBytesQueued[peer] else { return }
    deliveryBytesQueued[peer] = max(0, queued - bytes)
    for w in deliveryWaiters.removeValue(forKey: peer) ?? [] { w.resume() }
  }

  // MARK: task runners

  /// One provider task runner: pops a scheduled peer, looks up to `maxBlocksPerMessage` of its wanted blocks
  /// (concurrently, more if some are missing, at most `maxLookupsPerPass`), sends them in one message, puts the
  /// peer back in the queue if more remain. Store reads and hashing happen off the actor.
  nonisolated func runnerLoop() async {
    while !Task.isCancelled {
      guard let peer = await nextScheduledPeer() else { return }
      guard var reserved = await beginServing(peer, limit: config.maxBlocksPerMessage) else { continue }
      var message = DeliveryMessageBuilder()
      var sent: [BlockAddress] = []
      var missing: [BlockAddress] = []
      var next = 0
      while true {
        let chunk = Array(reserved[next...])
        next = reserved.count
        for (a, found) in zip(chunk, await lookup(chunk, into: &message)) {
          if found { sent.append(a) } else { missing.append(a) }
        }
        let want = config.maxBlocksPerMessage - sent.count
        let budget = config.maxLookupsPerPass - reserved.count
        guard want > 0, budget > 0, !chunk.isEmpty else { break }
        let more = await reserveWants(peer, limit: min(want, budget))
        if more.isEmpty { break }
        reserved += more
      }
      // Queue the message on the peer's link and go on with the next pass while it is written (reading the store
      // overlaps with sending). A peer whose link is slow or hangs fills its bounded queue and then holds at most
      // `maxPassesPerPeer` runners, not all of them.
      var failed = false
      if !sent.isEmpty {
        let bytes = message.dataBytes
        failed = !(await queueDeliveries(message.finish(), bytes: bytes, to: peer))
      }
      await endServing(peer, reserved: reserved, sent: failed ? [] : sent, missing: missing, sendFailed: failed)
    }
  }

  /// Looks `addresses` up and appends the deliveries found to `message`, in the order of `addresses`; true where
  /// found. Leaves of one tree from a store that lends its blocks (`LendingReads`, the repo) are copied once, from
  /// its read buffers into the message; everything else goes through `lookupAll`.
  nonisolated func lookup(_ addresses: [BlockAddress], into message: inout DeliveryMessageBuilder) async -> [Bool] {
    if let lender = store as? any LendingReads, case .leaf(let tree, _)? = addresses.first,
      let indices = Self.leafIndices(addresses, of: tree)
    {
      do {
        return try await lender.withBlocks(tree: tree, indices: indices) { (leaves: [ServedLeaf?]) -> [Bool] in
          message.reserve(
            leaves.reduce(0) { total, leaf in
              guard let leaf else { return total }
              return total
                + DeliveryMessageBuilder.sizeBound(
                  dataCount: leaf.data.count, cidCount: leaf.cid.bytes.count, treeCidCount: tree.bytes.count,
                  proofCount: leaf.proof.count)
            })
          return zip(addresses, leaves).map { address, leaf in
            guard let leaf else { return false }
            message.append(cid: leaf.cid, data: leaf.data, address: address, proof: leaf.proof)
            return true
          }
        }
      } catch {
        logger.debug("store read failed while serving", metadata: ["tree": "\(tree)", "error": "\(error)"])
        return addresses.map { _ in false }
      }
    }
    let found = await lookupAll(addresses)
    message.reserve(found.reduce(0) { $0 + ($1.map(DeliveryMessageBuilder.sizeBound(of:)) ?? 0) })
    return found.map { delivery in
      guard let delivery else { return false }
      message.append(delivery)
      return true
    }
  }

  /// The indices of `addresses` when all are leaves of `tree`, else nil.
  static func leafIndices(_ addresses: [BlockAddress], of tree: Cid) -> [Int]? {
    var indices: [Int] = []
    indices.reserveCapacity(addresses.count)
    for a in addresses {
      guard case .leaf(let t, let index) = a, t == tree else { return nil }
      indices.append(index)
    }
    return indices
  }

  /// Looks `addresses` up; results in the same order, nil where absent or corrupt. The leaves of one tree are read
  /// with one `getBlocks` call (the repo reads neighbouring blocks with one disk read), plain CIDs one by one,
  /// concurrently. With `verifyServedBlocks` every block is re-hashed, on several tasks, except leaves read from a
  /// store that checks them itself (`IntegrityCheckedReads`: the repo compares each with its stored CRC-32C).
  nonisolated func lookupAll(_ addresses: [BlockAddress]) async -> [BlockDelivery?] {
    var byTree: [Cid: [(slot: Int, index: Int)]] = [:]
    var plain: [Int] = []
    for (slot, a) in addresses.enumerated() {
      switch a {
      case .leaf(let tree, let index): byTree[tree, default: []].append((slot, index))
      case .cid: plain.append(slot)
      }
    }
    var out = [BlockDelivery?](repeating: nil, count: addresses.count)
    // Leaves from a store that checks its blocks' checksums on read need no second check here.
    let leavesChecked = store is any IntegrityCheckedReads
    await withTaskGroup(of: [(Int, BlockDelivery?)].self) { group in
      for (tree, leaves) in byTree {
        group.addTask { await self.lookupLeaves(tree: tree, leaves) }
      }
      for slot in plain {
        group.addTask { [(slot, await self.lookup(addresses[slot]))] }
      }
      for await results in group {
        for (slot, d) in results { out[slot] = d }
      }
    }
    guard config.verifyServedBlocks else { return out }
    if leavesChecked, plain.isEmpty { return out }
    return await verified(out, only: leavesChecked ? Set(plain) : nil)
  }

  /// Leaves of one tree from the local store, tagged with their slots in the pass.
  nonisolated func lookupLeaves(tree: Cid, _ leaves: [(slot: Int, index: Int)]) async -> [(Int, BlockDelivery?)] {
    do {
      let found = try await store.getBlocks(tree: tree, indices: leaves.map(\.index))
      return zip(leaves, found).map { leaf, f in
        (
          leaf.slot,
          f.map { BlockDelivery(block: $0.block, address: .leaf(treeCid: tree, index: leaf.index), proof: $0.proof) }
        )
      }
    } catch {
      logger.debug("store read failed while serving", metadata: ["tree": "\(tree)", "error": "\(error)"])
      return leaves.map { ($0.slot, nil) }
    }
  }

  /// The block (and proof) for a plain-CID address from the local store; nil when absent.
  nonisolated func lookup(_ address: BlockAddress) async -> BlockDelivery? {
    do {
      switch address {
      case .leaf(let tree, let index):
        guard let found = try await store.getBlock(tree: tree, index: index) else { return nil }
        return BlockDelivery(block: found.block, address: address, proof: found.proof)
      case .cid(let cid):
        if Codex.isEmpty(cid) { return BlockDelivery(block: Block(unchecked: cid, data: []), address: address) }
        guard let found = try await store.getBlock(cid) else { return nil }
        return BlockDelivery(block: found, address: address)
      }
    } catch {
      logger.debug("store read failed while serving", metadata: ["address": "\(address)", "error": "\(error)"])
      return nil
    }
  }

  /// `deliveries` with every block that does not hash to its CID dropped (logged): never send a delivery the
  /// receiver must reject. Hashes in parallel, a few blocks per task.
  /// `only`: the slots to check (nil: all).
  nonisolated func verified(_ deliveries: [BlockDelivery?], only: Set<Int>? = nil) async -> [BlockDelivery?] {
    let perTask = 4
    var out = deliveries
    await withTaskGroup(of: [Int].self) { group in
      for start in stride(from: 0, to: deliveries.count, by: perTask) {
        let range = start..<min(start + perTask, deliveries.count)
        group.addTask {
          range.filter { i in
            guard only?.contains(i) ?? true, let block = deliveries[i]?.block,
              !block.data.isEmpty || !Codex.isEmpty(block.cid)
            else {
              return false
            }
            return block.cid.multihash.code != .sha2_256
              || SHA256Hashing.digest(block.data) != block.cid.multihash.digest
          }
        }
      }
      for await bad in group {
        for i in bad {
          logger.error(
            "local block does not match its CID; not serving it", metadata: ["cid": "\(out[i]!.block.cid)"])
          out[i] = nil
        }
      }
    }
    return out
  }
}
