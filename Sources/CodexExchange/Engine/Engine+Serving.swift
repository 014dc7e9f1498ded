import CodexFormats
import CodexStore
import LibP2P
import Logging
import Multiformats

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
    if !scheduled.isEmpty {
      let peer = scheduled.removeFirst()
      scheduledSet.remove(peer)
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

  // MARK: task runners

  /// One provider task runner: pops a scheduled peer, looks up to `maxBlocksPerMessage` of its wanted blocks
  /// (concurrently, more if some are missing, at most `maxLookupsPerPass`), sends them in one message, puts the
  /// peer back in the queue if more remain. Store reads and hashing happen off the actor.
  nonisolated func runnerLoop() async {
    while !Task.isCancelled {
      guard let peer = await nextScheduledPeer() else { return }
      guard var reserved = await beginServing(peer, limit: config.maxBlocksPerMessage) else { continue }
      var deliveries: [BlockDelivery] = []
      var missing: [BlockAddress] = []
      var next = 0
      while true {
        let chunk = Array(reserved[next...])
        next = reserved.count
        for (a, d) in zip(chunk, await lookupAll(chunk)) {
          if let d { deliveries.append(d) } else { missing.append(a) }
        }
        let want = config.maxBlocksPerMessage - deliveries.count
        let budget = config.maxLookupsPerPass - reserved.count
        guard want > 0, budget > 0, !chunk.isEmpty else { break }
        let more = await reserveWants(peer, limit: min(want, budget))
        if more.isEmpty { break }
        reserved += more
      }
      // Send before handing the pass back: a peer whose sends hang (dead or slow link) holds at most
      // `maxPassesPerPeer` runners, not all of them.
      var failed = false
      if !deliveries.isEmpty {
        do {
          try await network.send(Message(payload: deliveries), to: peer)
        } catch {
          failed = true
          logger.debug("sending blocks failed", metadata: ["to": "\(peer)", "error": "\(error)"])
        }
      }
      await endServing(
        peer, reserved: reserved, sent: failed ? [] : deliveries.map(\.address), missing: missing, sendFailed: failed)
    }
  }

  /// Looks `addresses` up concurrently; results in the same order.
  nonisolated func lookupAll(_ addresses: [BlockAddress]) async -> [BlockDelivery?] {
    if addresses.count == 1 { return [await lookup(addresses[0])] }
    return await withTaskGroup(of: (Int, BlockDelivery?).self) { group in
      for (i, a) in addresses.enumerated() { group.addTask { (i, await self.lookup(a)) } }
      var out = [BlockDelivery?](repeating: nil, count: addresses.count)
      for await (i, d) in group { out[i] = d }
      return out
    }
  }

  /// The block (and proof) for `address` from the local store, checked against its CID; nil when absent or corrupt.
  nonisolated func lookup(_ address: BlockAddress) async -> BlockDelivery? {
    do {
      let block: Block
      var proof: CodexProof? = nil
      switch address {
      case .leaf(let tree, let index):
        guard let found = try await store.getBlock(tree: tree, index: index) else { return nil }
        block = found.block
        proof = found.proof
      case .cid(let cid):
        if Codex.isEmpty(cid) { return BlockDelivery(block: Block(unchecked: cid, data: []), address: address) }
        guard let found = try await store.getBlock(cid) else { return nil }
        block = found
      }
      if config.verifyServedBlocks {
        guard block.cid.multihash.code == .sha2_256, SHA256Hashing.digest(block.data) == block.cid.multihash.digest
        else {
          logger.error("local block does not match its CID; not serving it", metadata: ["cid": "\(block.cid)"])
          return nil
        }
      }
      return BlockDelivery(block: block, address: address, proof: proof)
    } catch {
      logger.debug("store read failed while serving", metadata: ["address": "\(address)", "error": "\(error)"])
      return nil
    }
  }
}
