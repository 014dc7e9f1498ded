import CodexFormats
import CodexStore
import LibP2P
import Logging
import Multiformats

/// A block this node is waiting for.
struct PendingBlock: Sendable {
  var waiters: [Int: CheckedContinuation<FetchedBlock, any Error>] = [:]
  /// When each waiter that asked for a timeout gives up, and that timeout (for its error).
  var waiterDeadlines: [Int: (at: ContinuousClock.Instant, timeout: Duration)] = [:]
  /// Suspended download loops and their timers (nil: woken by an event or the request watchdog).
  var wakers: [Int: (CheckedContinuation<Void, Never>, Task<Void, Never>?)] = [:]
  /// The peer the want-block went to, while outstanding.
  var requestedFrom: PeerID?
  var requestedAt: ContinuousClock.Instant
  /// Every peer a want-block went to (they get a cancel once the block arrived).
  var askedPeers: Set<PeerID> = []
  var retriesLeft: Int
  /// Peers whose want-block for this address timed out (`requestTimeout`); others are preferred.
  var timedOut: Set<PeerID> = []
  /// Want-haves went out since every known holder timed out.
  var refreshedAfterTimeout = false
  /// A delivery was accepted and is being stored.
  var storing = false
  /// The peer whose delivery is being stored.
  var deliverer: PeerID?
  /// The download loop waits for a free in-flight slot.
  var waitingForSlot = false
  /// Peers that answered DontHave or a bad delivery for it: holders only after an explicit Have, not because they
  /// hold other leaves of the tree.
  var noTreeGuess: Set<PeerID> = []
  /// When a want-have for it first went to each peer (`inflightCap` counts those that may still answer).
  var haveAskedAt: [PeerID: ContinuousClock.Instant] = [:]
}

extension PendingBlock {
  /// When the outstanding want-block counts as unanswered (re-issued to another peer) and when the peer it went
  /// to, last heard from at `peerLastActive`, counts as silent (evicted).
  func deadlines(peerLastActive: ContinuousClock.Instant, _ config: ExchangeConfig) -> (
    request: ContinuousClock.Instant, activity: ContinuousClock.Instant
  ) {
    (
      requestedAt.advanced(by: config.requestTimeout),
      max(requestedAt, peerLastActive).advanced(by: config.peerActivityTimeout)
    )
  }
}

/// How a delivery checked out before the engine looked at its state (computed off the actor).
enum DeliveryCheck: Sendable, Equatable {
  case ok
  case bad(String)
}

extension BlockExchangeEngine {
  // MARK: public requester API

  /// Fetches one block from the network (never looks at the local store; `NetworkStore` does).
  ///
  /// Several callers asking for the same address share one download. The block is stored locally (with its leaf
  /// proof) before this returns.
  /// - Parameter timeout: fail with `ExchangeError.timeout` after this long (nil: only `blockRetries` bounds it).
  /// - Throws: `ExchangeError` (`.timeout`, `.retriesExhausted`, `.stopped`, `.storeFailed`), `CancellationError`.
  public func requestBlock(_ address: BlockAddress, timeout: Duration? = nil) async throws -> FetchedBlock {
    guard !stopped else { throw ExchangeError.stopped }
    if case .cid(let cid) = address, Codex.isEmpty(cid) {
      return FetchedBlock(block: Block(unchecked: cid, data: []), proof: nil)
    }
    let token = nextToken
    nextToken += 1
    if pending[address] == nil {
      pending[address] = PendingBlock(requestedAt: clock.now, retriesLeft: config.blockRetries)
      Task { await self.downloadLoop(address) }
    }
    return try await withTaskCancellationHandler {
      try await withCheckedThrowingContinuation { (c: CheckedContinuation<FetchedBlock, any Error>) in
        self.addWaiter(address, token: token, continuation: c, timeout: timeout)
      }
    } onCancel: {
      Task { await self.dropWaiter(address, token: token, error: CancellationError()) }
    }
  }

  /// Addresses currently wanted from the network.
  public var pendingAddresses: [BlockAddress] { Array(pending.keys) }

  /// Waits, at most `limit`, until no leaf of `tree` is wanted or being stored. Once a tree's readers are gone
  /// (cancelled), blocks already accepted from peers are still written: a delete of the dataset must come after
  /// them, or they would stay behind with nothing referring to them.
  public func settle(tree: Cid, limit: Duration = .seconds(10)) async {
    let deadline = clock.now.advanced(by: limit)
    func busy() -> Bool {
      pending.keys.contains { if case .leaf(let t, _) = $0 { t == tree } else { false } }
    }
    while busy() && clock.now < deadline && !stopped {
      try? await Task.sleep(for: .milliseconds(5))
    }
  }

  // MARK: waiters

  private func addWaiter(
    _ address: BlockAddress, token: Int, continuation: CheckedContinuation<FetchedBlock, any Error>, timeout: Duration?
  ) {
    guard pending[address] != nil, !stopped else {
      continuation.resume(throwing: ExchangeError.stopped)
      return
    }
    pending[address]!.waiters[token] = continuation
    if let timeout {
      let deadline = clock.now.advanced(by: timeout)
      pending[address]!.waiterDeadlines[token] = (deadline, timeout)
      scheduleWaiterTimer(at: deadline)
    }
  }

  /// Arms the one waiter-timeout timer for `deadline` unless it already fires earlier. Deadlines of a download
  /// mostly grow, so the timer is rarely re-armed (before: one sleeping task per requested block).
  private func scheduleWaiterTimer(at deadline: ContinuousClock.Instant) {
    if let armed = waiterTimerDeadline, armed <= deadline { return }
    waiterTimer?.cancel()
    waiterTimerGeneration += 1
    let generation = waiterTimerGeneration
    waiterTimerDeadline = deadline
    waiterTimer = Task { [weak self] in
      try? await Task.sleep(until: deadline, clock: .continuous)
      if Task.isCancelled { return }
      await self?.waiterTimerFired(generation)
    }
  }

  /// Fails the waiters whose timeout passed and re-arms the timer for the earliest remaining deadline.
  private func waiterTimerFired(_ generation: Int) {
    guard generation == waiterTimerGeneration, !stopped else { return }
    waiterTimer = nil
    waiterTimerDeadline = nil
    let now = clock.now
    var due: [(BlockAddress, Int, Duration)] = []
    var next: ContinuousClock.Instant?
    for (address, p) in pending where !p.waiterDeadlines.isEmpty {
      for (token, d) in p.waiterDeadlines {
        if d.at <= now {
          due.append((address, token, d.timeout))
        } else if next.map({ d.at < $0 }) ?? true {
          next = d.at
        }
      }
    }
    for (address, token, timeout) in due {
      dropWaiter(address, token: token, error: ExchangeError.timeout(address, timeout, connectedPeers: peers.count))
    }
    if let next { scheduleWaiterTimer(at: next) }
  }

  private func dropWaiter(_ address: BlockAddress, token: Int, error: any Error) {
    pending[address]?.waiterDeadlines[token] = nil
    guard let c = pending[address]?.waiters.removeValue(forKey: token) else { return }
    c.resume(throwing: error)
    if pending[address]?.waiters.isEmpty == true, pending[address]?.storing == false {
      logger.debug("block no longer wanted", metadata: ["address": "\(address)"])
      finish(address, result: nil)
    }
  }

  /// Ends the want for `address`: resumes waiters with the block or `error`, wakes its loop, sends cancels.
  func finish(
    _ address: BlockAddress, result: FetchedBlock?, error: (any Error)? = nil, except deliverer: PeerID? = nil
  ) {
    guard let p = pending.removeValue(forKey: address) else { return }
    for (_, c) in p.waiters {
      if let result {
        c.resume(returning: result)
      } else {
        c.resume(throwing: error ?? CancellationError())
      }
    }
    for (_, w) in p.wakers {
      w.1?.cancel()
      w.0.resume()
    }
    var freedAt: [PeerID] = []
    for peer in p.askedPeers {
      guard peers[peer] != nil else { continue }
      if peers[peer]!.requested.remove(address) != nil { freedAt.append(peer) }
      // A late copy is dropped without penalty: one racing our cancel, or the deliverer's second copy when the
      // want was re-issued to it after `requestTimeout` (a loaded peer or a slow disk here is not misbehaviour).
      if peers[peer]!.cancelled.count >= PeerContext.maxCancelledRemembered { peers[peer]!.cancelled = [] }
      peers[peer]!.cancelled.insert(address)
      if peer != deliverer {
        queueWant(WantListEntry(address: address, cancel: true, wantType: .wantBlock), to: peer)
      }
    }
    for peer in freedAt { wakeSlotWaiters(at: peer) }
  }

  func fail(_ address: BlockAddress, _ error: any Error) {
    finish(address, result: nil, error: error)
  }

  // MARK: download loop

  /// nim's `downloadInternal`: ask a peer that has it, wait (dropping unresponsive peers), or refresh knowledge and
  /// search for providers, until the block arrives, every waiter left, or retries run out.
  func downloadLoop(_ address: BlockAddress) async {
    while !stopped {
      guard let p = pending[address], !p.waiters.isEmpty || p.storing else {
        if pending[address] != nil { finish(address, result: nil) }
        return
      }
      if p.storing {
        // No timer: the store writer's answer (`stored(_:error:)`) or `stop()` always ends the want.
        await sleepOrWake(address, for: nil)
        continue
      }
      if let peer = p.requestedFrom {
        if let lastActivity = peers[peer]?.lastActivity, peers[peer]!.requested.contains(address) {
          let (requestDeadline, deadline) = p.deadlines(peerLastActive: lastActivity, config)
          let now = clock.now
          if now >= deadline {
            evict(peer, reason: "no answer within \(config.peerActivityTimeout)")
            continue
          }
          if now >= requestDeadline {
            // Re-issue elsewhere; the slow peer keeps the want (a late delivery is still accepted) but no slot.
            logger.debug(
              "want-block timed out, asking another peer", metadata: ["remote": "\(peer)", "address": "\(address)"])
            peers[peer]!.requested.remove(address)
            pending[address]?.requestedFrom = nil
            pending[address]?.timedOut.insert(peer)
            wakeSlotWaiters(at: peer)
            continue
          }
          // No timer per block: a delivery, DontHave or peer loss wakes the loop, and so does the request
          // watchdog once `requestTimeout` (or the peer's activity deadline) passed.
          await sleepOrWake(address, for: nil)
          continue
        }
        pending[address]?.requestedFrom = nil
      }
      // Peer ids only: a PeerContext copy kept alive across the awaits below would make every later insert into
      // that peer's sets copy them whole.
      var holders = peers.compactMap { id, c in isHolder(c, of: address, noTreeGuess: p.noTreeGuess) ? id : nil }
      let cap = inflightCap(for: address, holders: holders.count)
      if !p.timedOut.isEmpty {
        let fresh = holders.filter { !p.timedOut.contains($0) }
        if !fresh.isEmpty {
          holders = fresh
        } else if !p.refreshedAfterTimeout {
          // Only slow peers are known to have it: ask everyone else first (a Have requests at once).
          pending[address]?.refreshedAfterTimeout = true
          refreshKnowledge(address)
          await sleepOrWake(address, for: config.retryInterval)
          continue
        } else {
          pending[address]?.timedOut = []
          pending[address]?.refreshedAfterTimeout = false
        }
      }
      let free = holders.filter { peers[$0]!.requested.count < cap }
      if let pick = runPeer(for: address, among: free) ?? selectPeer(free.compactMap { peers[$0] }) {
        request(address, from: pick)
        continue
      }
      if !holders.isEmpty {
        waitForSlot(address, at: holders)
        await sleepOrWake(address, for: config.retryInterval)
        continue
      }
      if p.retriesLeft <= 0 {
        fail(address, ExchangeError.retriesExhausted(address, config.blockRetries))
        return
      }
      pending[address]?.retriesLeft -= 1
      refreshKnowledge(address)
      searchProviders(address.discoveryCid)
      let maxNanos = max(
        1,
        config.retryInterval.components.seconds * 1_000_000_000
          + config.retryInterval.components.attoseconds / 1_000_000_000)
      let delay = Duration.nanoseconds(Int64.random(in: 1...maxNanos, using: &rng))
      await sleepOrWake(address, for: delay)
    }
  }

  /// Suspends the download loop of `address` until `wake(address)` or `duration` passed; with no duration, until
  /// `wake(address)` only (from an event or `requestWatchdog`), without a timer task.
  func sleepOrWake(_ address: BlockAddress, for duration: Duration?) async {
    guard pending[address] != nil else { return }
    let token = nextToken
    nextToken += 1
    await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
      let timer = duration.map { duration in
        Task {
          try? await Task.sleep(for: duration)
          if Task.isCancelled { return }
          self.wakeOne(address, token: token)
        }
      }
      pending[address]!.wakers[token] = (c, timer)
    }
  }

  /// Wakes the download loops whose outstanding want-block passed `requestTimeout` or whose peer passed its
  /// activity deadline, so they re-issue the request or evict the peer. Runs every `watchdogInterval` while
  /// requests are pending (one timer for all instead of one per block).
  func requestWatchdog() async {
    while !stopped {
      try? await Task.sleep(for: watchdogInterval)
      if stopped { return }
      let now = clock.now
      var due: [BlockAddress] = []
      for (address, p) in pending where !p.wakers.isEmpty {
        guard let peer = p.requestedFrom else { continue }
        let (request, activity) = p.deadlines(peerLastActive: peers[peer]?.lastActivity ?? p.requestedAt, config)
        if now >= min(request, activity) { due.append(address) }
      }
      for address in due { wake(address) }
    }
  }

  /// How often `requestWatchdog` looks: a quarter of the shorter timeout, at least 10 ms.
  var watchdogInterval: Duration {
    max(.milliseconds(10), min(config.requestTimeout, config.peerActivityTimeout) / 4)
  }

  private func wakeOne(_ address: BlockAddress, token: Int) {
    guard let w = pending[address]?.wakers.removeValue(forKey: token) else { return }
    w.0.resume()
  }

  /// Wakes the download loop of `address`.
  func wake(_ address: BlockAddress) {
    guard let wakers = pending[address]?.wakers, !wakers.isEmpty else { return }
    pending[address]!.wakers = [:]
    for (_, w) in wakers {
      w.1?.cancel()
      w.0.resume()
    }
  }

  /// Queues the download loop of `address` for a slot at each of `holders`; once while it waits (a loop woken by
  /// its timer that still finds no slot is already queued).
  func waitForSlot(_ address: BlockAddress, at holders: [PeerID]) {
    guard pending[address]?.waitingForSlot == false else { return }
    pending[address]!.waitingForSlot = true
    for holder in holders {
      slotQueues[holder, default: SlotQueue()].append(address)
      if slotQueues[holder]!.count > 2 * pending.count + 1024 {
        slotQueues[holder]!.removeAll { self.pending[$0]?.waitingForSlot != true }
      }
    }
  }

  /// `count` in-flight slots at `peer` came free: gives them to the loops waiting for one there, oldest first. Each
  /// such block is asked of `peer` at once and its loop woken; a waiting loop that cannot use `peer` any more (not a
  /// holder now, timed out there) is woken to choose again without taking a slot. Handing the slot over, rather
  /// than waking a loop to pick any free holder, keeps `peer` busy: a loop that picked another peer left this
  /// slot unused and the loops queued only here asleep.
  func wakeSlotWaiters(at peer: PeerID, count: Int = 1) {
    var left = count
    while left > 0, peers[peer] != nil, let address = slotQueues[peer]?.popFirst() {
      guard let p = pending[address], p.waitingForSlot else { continue }
      pending[address]!.waitingForSlot = false
      if p.requestedFrom == nil, !p.storing, !p.waiters.isEmpty, !p.timedOut.contains(peer),
        isHolder(peers[peer]!, of: address, noTreeGuess: p.noTreeGuess),
        peers[peer]!.requested.count < inflightCap(for: address)
      {
        request(address, from: peer)
        left -= 1
      }
      wake(address)
    }
    if slotQueues[peer]?.count == 0 { slotQueues[peer] = nil }
  }

  /// Wakes every loop waiting for a slot at `peer`, which is gone: they choose again.
  func wakeAllSlotWaiters(at peer: PeerID) {
    guard var queue = slotQueues.removeValue(forKey: peer) else { return }
    while let address = queue.popFirst() {
      guard pending[address]?.waitingForSlot == true else { continue }
      pending[address]!.waitingForSlot = false
      wake(address)
    }
  }

  // MARK: peer selection and requests

  /// True if `context`'s peer counts as holding `address`: it said Have, or it holds the leaf's tree and has not
  /// said DontHave (or sent a bad copy) for this leaf; and it is not about to be evicted.
  func isHolder(_ context: PeerContext, of address: BlockAddress, noTreeGuess: Set<PeerID>) -> Bool {
    context.failures < config.maxPeerFailures
      && (context.haves.contains(address) || (!noTreeGuess.contains(context.id) && context.holdsTree(of: address)))
  }

  /// The most want-blocks a peer may have outstanding when it is picked for `address`: with one candidate holder,
  /// the whole `maxInflightPerPeer`; with several, an equal share of what this node wants now (`pending`), rounded
  /// up to whole runs of `maxBlocksPerMessage`. Candidates are the peers known to hold it and the peers first asked
  /// a want-have for it less than `presenceGrace` ago that have not answered. Without the share, the first seeder
  /// to answer the want-haves of a prefetch window took the whole window and the others, answering milliseconds
  /// later, had nothing left to serve (4 seeders, 384 blocks: 256 came from one, and one delivered none).
  func inflightCap(for address: BlockAddress) -> Int {
    guard let p = pending[address] else { return config.maxInflightPerPeer }
    let holders = peers.values.reduce(0) { $0 + (isHolder($1, of: address, noTreeGuess: p.noTreeGuess) ? 1 : 0) }
    return inflightCap(for: address, holders: holders)
  }

  /// `inflightCap(for:)` when the number of holders is known.
  func inflightCap(for address: BlockAddress, holders: Int) -> Int {
    guard let p = pending[address] else { return config.maxInflightPerPeer }
    var candidates = holders
    let now = clock.now
    for (id, asked) in p.haveAskedAt where now < asked.advanced(by: config.presenceGrace) {
      guard let c = peers[id], !p.noTreeGuess.contains(id), !isHolder(c, of: address, noTreeGuess: p.noTreeGuess)
      else { continue }
      candidates += 1
    }
    guard candidates > 1 else { return config.maxInflightPerPeer }
    let run = max(1, config.maxBlocksPerMessage)
    let even = (pending.count + candidates - 1) / candidates
    return min(config.maxInflightPerPeer, max(run, (even + run - 1) / run * run))
  }

  /// Leaves are asked in runs of `maxBlocksPerMessage` consecutive indices (aligned to multiples of it) from one
  /// peer: the peer another leaf of `index`'s run was asked of, when it is among `candidates`. A run fills one
  /// delivery message, and its blocks usually lie back to back in the provider's pack (one disk read); picking each
  /// leaf's peer at random instead spread a chunk over every seeder in small messages of scattered blocks. Any
  /// member of the run counts, not only `index − 1`: the download loops of a run do not run in index order, and
  /// following only the previous leaf split runs into small messages when several peers hold the dataset.
  func runPeer(for address: BlockAddress, among candidates: [PeerID]) -> PeerID? {
    guard case .leaf(let tree, let index) = address, !candidates.isEmpty else { return nil }
    let run = max(1, config.maxBlocksPerMessage)
    let start = index - index % run
    for j in start..<(start + run) where j != index {
      if let peer = pending[.leaf(treeCid: tree, index: j)]?.requestedFrom, candidates.contains(peer) { return peer }
    }
    return nil
  }

  /// nim's `selectRandom`: weight `max(score) + 1 − score`, picked at random proportionally.
  func selectPeer(_ candidates: [PeerContext]) -> PeerID? {
    guard candidates.count > 1 else { return candidates.first?.id }
    let sorted = candidates.sorted { $0.id < $1.id }
    let scores = sorted.map(\.score)
    let top = scores.max()!
    let weights = scores.map { top + 1 - $0 }
    let total = weights.reduce(0, +)
    var r = Double.random(in: 0..<total, using: &rng)
    for (i, w) in weights.enumerated() {
      if r < w { return sorted[i].id }
      r -= w
    }
    return sorted.last!.id
  }

  /// Marks `address` requested from `peer` and sends it a want-block.
  func request(_ address: BlockAddress, from peer: PeerID) {
    guard peers[peer] != nil, pending[address] != nil else { return }
    peers[peer]!.requested.insert(address)
    pending[address]!.requestedFrom = peer
    pending[address]!.waitingForSlot = false  // its entries in slot queues are stale now
    pending[address]!.requestedAt = clock.now
    pending[address]!.askedPeers.insert(peer)
    // sendDontHave: a peer taken to hold the whole tree that lacks this leaf says so (a Swift provider answers it;
    // nim ignores the flag on want-blocks, and `requestTimeout` covers that).
    queueWant(WantListEntry(address: address, wantType: .wantBlock, sendDontHave: true), to: peer)
  }

  /// Sends want-haves for `address` to every peer not asked since its last refresh; refreshes stale peers.
  func refreshKnowledge(_ address: BlockAddress) {
    let now = clock.now
    // Mutated in place: a copy of the context would make `askedHave.insert` copy the whole set every time.
    for id in Array(peers.keys) {
      let stale = peers[id]!.lastRefresh.advanced(by: config.minRefreshInterval * peers[id]!.refreshBackoff)
      if now >= stale {
        peers[id]!.askedHave = []
        peers[id]!.lastRefresh = now
        peers[id]!.refreshBackoff = min(peers[id]!.refreshBackoff * 2, config.maxRefreshBackoff)
      }
      if !peers[id]!.askedHave.contains(address) && peers[id]!.askedHave.count < config.maxKnownPerPeer {
        peers[id]!.askedHave.insert(address)
        if pending[address]?.haveAskedAt[id] == nil { pending[address]?.haveAskedAt[id] = now }
        queueWant(WantListEntry(address: address, wantType: .wantHave), to: id)
      }
    }
  }

  /// Our current wants as want-haves, first batch `full = true` (on peer connect).
  func sendFullWantList(to peer: PeerID) {
    let addresses = Array(pending.keys)
    guard !addresses.isEmpty else { return }
    var first = true
    var i = 0
    while i < addresses.count {
      let chunk = addresses[i..<min(i + config.maxWantListBatch, addresses.count)]
      let entries = chunk.map { WantListEntry(address: $0, wantType: .wantHave) }
      enqueue(Message(wantList: WantList(entries: entries, full: first)), to: peer)
      peers[peer]?.askedHave.formUnion(chunk)
      let now = clock.now
      for address in chunk where pending[address]?.haveAskedAt[peer] == nil {
        pending[address]?.haveAskedAt[peer] = now
      }
      first = false
      i += config.maxWantListBatch
    }
  }

  /// Runs a rate-limited provider search for `cid` and connects to what it finds.
  func searchProviders(_ cid: Cid) {
    let now = clock.now
    if let last = lastDiscovery[cid], now < last.advanced(by: config.discoveryRateLimit) { return }
    lastDiscovery[cid] = now
    if lastDiscovery.count > 10_000 {
      lastDiscovery = lastDiscovery.filter { now < $0.value.advanced(by: .seconds(60)) }
    }
    let discovery = self.discovery
    let network = self.network
    let local = localPeer
    let known = Set(peers.keys)
    let logger = self.logger
    Task {
      do {
        let found = try await discovery.findProviders(for: cid)
        for p in found where p.peer != local && !known.contains(p.peer) {
          do {
            try await network.connect(p)
            await self.peerConnected(p.peer)
          } catch {
            logger.debug("cannot dial provider", metadata: ["remote": "\(p.peer)", "error": "\(error)"])
          }
        }
      } catch {
        logger.debug("provider search failed", metadata: ["cid": "\(cid)", "error": "\(error)"])
      }
    }
  }

  // MARK: outbox

  func queueWant(_ entry: WantListEntry, to peer: PeerID) {
    outbox[peer, default: []].append(entry)
    scheduleFlush()
  }

  func queuePresence(_ presence: BlockPresence, to peer: PeerID) {
    outboxPresences[peer, default: []].append(presence)
    scheduleFlush()
  }

  /// Flushes at a lower priority than the download loops, so the wants of the loops already queued on the actor
  /// (a refill starts dozens) go out together: runs reach a seeder in one want-list and come back as full delivery
  /// messages (4 seeders, 1 GiB: 1,120 → 1,035 messages per GiB, ~16 blocks each, seeder and leecher CPU -5%).
  private func scheduleFlush() {
    guard !flushScheduled else { return }
    flushScheduled = true
    Task(priority: .utility) { self.flush() }
  }

  /// Sends queued wants and presences, batched (≤ 1024 entries per message).
  func flush() {
    flushScheduled = false
    let wants = outbox
    let presences = outboxPresences
    outbox = [:]
    outboxPresences = [:]
    for (peer, entries) in wants {
      var i = 0
      while i < entries.count {
        let chunk = Array(entries[i..<min(i + config.maxWantListBatch, entries.count)])
        enqueue(Message(wantList: WantList(entries: chunk)), to: peer)
        i += config.maxWantListBatch
      }
    }
    for (peer, list) in presences {
      var i = 0
      while i < list.count {
        let chunk = Array(list[i..<min(i + config.maxPresencesPerMessage, list.count)])
        enqueue(Message(blockPresences: chunk), to: peer)
        i += config.maxPresencesPerMessage
      }
    }
  }

  // MARK: presences and deliveries

  func handlePresences(_ presences: [BlockPresence], from peer: PeerID) {
    for p in presences {
      guard peers[peer] != nil else { return }
      switch p.type {
      case .have:
        if peers[peer]!.haves.count < config.maxKnownPerPeer { peers[peer]!.haves.insert(p.address) }
        peers[peer]!.noteTreeHolder(p.address)
        guard let pend = pending[p.address], !pend.storing else { continue }
        if pend.requestedFrom == nil, peers[peer]!.failures < config.maxPeerFailures,
          peers[peer]!.requested.count < inflightCap(for: p.address)
        {
          request(p.address, from: peer)
        }
        wake(p.address)
      case .dontHave:
        peers[peer]!.haves.remove(p.address)
        pending[p.address]?.noTreeGuess.insert(peer)
        // A want-block it cannot serve: ask elsewhere (or learn who has it) instead of waiting for requestTimeout.
        if peers[peer]!.requested.remove(p.address) != nil {
          if pending[p.address]?.requestedFrom == peer { pending[p.address]!.requestedFrom = nil }
          wake(p.address)
          wakeSlotWaiters(at: peer)
        }
      }
    }
  }

  /// Checks each delivery on its own terms (address, proof against the tree), off the actor: pure CPU. The blocks'
  /// bytes were hashed against their CIDs when the message was decoded (`BlockDelivery(encoded:)`).
  /// Proofs of one tree share a `CodexProofVerifier`, so the inner nodes common to neighbouring leaves of a message
  /// are hashed once.
  nonisolated static func check(_ deliveries: [BlockDelivery]) -> [DeliveryCheck] {
    var verifiers: [Cid: CodexProofVerifier] = [:]
    return deliveries.map { check($0, verifiers: &verifiers) }
  }

  private nonisolated static func check(
    _ d: BlockDelivery, verifiers: inout [Cid: CodexProofVerifier]
  ) -> DeliveryCheck {
    let block = d.block
    guard block.cid.multihash.code == .sha2_256 else { return .bad("block CID \(block.cid) is not SHA-256") }
    switch d.address {
    case .cid(let cid):
      return cid == block.cid ? .ok : .bad("delivered \(block.cid) for \(cid)")
    case .leaf(let tree, let index):
      guard let proof = d.proof else { return .bad("leaf delivery without proof") }
      guard proof.index == index else { return .bad("proof for index \(proof.index), wanted \(index)") }
      let verified = verifiers[tree, default: CodexProofVerifier(root: tree.multihash)].verify(
        proof, leaf: block.cid.multihash)
      guard verified else {
        return .bad("proof does not verify against \(tree)")
      }
      return .ok
    }
  }

  /// Accepts the deliveries that were asked of `peer` and check out; returns them for the store writer (their
  /// waiters resume in `stored(_:error:)`). Rejected ones are dropped and penalised.
  func handleDeliveries(_ deliveries: [BlockDelivery], checks: [DeliveryCheck], from peer: PeerID) -> [BlockDelivery] {
    var accepted: [BlockDelivery] = []
    var freed = 0
    for (d, check) in zip(deliveries, checks) {
      let address = d.address
      let asked = peers[peer] != nil && pending[address]?.askedPeers.contains(peer) == true
      guard peers[peer]?.requested.contains(address) == true || asked, let pend = pending[address] else {
        if peers[peer]?.cancelled.remove(address) != nil {
          logger.debug("dropping block delivered after cancel", metadata: ["from": "\(peer)", "address": "\(address)"])
          continue
        }
        stats.rejectedDeliveries += 1
        logger.debug("dropping unrequested block", metadata: ["from": "\(peer)", "address": "\(address)"])
        penalise(peer, reason: "unrequested blocks")
        continue
      }
      if case .bad(let why) = check {
        stats.rejectedDeliveries += 1
        logger.info("rejecting bad block", metadata: ["from": "\(peer)", "address": "\(address)", "why": "\(why)"])
        if peers[peer]!.requested.remove(address) != nil { freed += 1 }
        peers[peer]!.haves.remove(address)
        pending[address]!.noTreeGuess.insert(peer)
        if pend.requestedFrom == peer { pending[address]!.requestedFrom = nil }
        wake(address)
        penalise(peer, reason: why)
        continue
      }
      if pend.storing { continue }
      if peers[peer]!.requested.remove(address) != nil { freed += 1 }
      peers[peer]!.exchanged += 1
      peers[peer]!.noteTreeHolder(address)
      pending[address]!.storing = true
      pending[address]!.deliverer = peer
      accepted.append(d)
    }
    if freed > 0 { wakeSlotWaiters(at: peer, count: freed) }
    return accepted
  }

  /// The store writer finished a batch: resume the waiters (or fail them), cancel the want at other peers, and
  /// tell peers waiting for these blocks. A batch refused for lack of room (quota, disk) still goes to its
  /// waiters, marked not stored: a stream can go on without keeping the blocks.
  func stored(_ batch: [BlockDelivery], error: (any Error)?) {
    var available: [BlockAddress] = []
    let noRoom = error.flatMap(Self.lackOfRoom)
    if let error {
      // One line for the first refused batch and then every 1024 blocks, not one per block.
      let before = stats.blocksNotStored
      if noRoom == nil || before == 0 || before / 1024 != (before + batch.count) / 1024 {
        logger.warning(
          noRoom == nil
            ? "cannot store fetched blocks" : "cannot store fetched blocks; handing them to their readers unstored",
          metadata: ["blocks": "\(batch.count)", "error": "\(error)", "unstoredSoFar": "\(before)"])
      }
    }
    for d in batch {
      let address = d.address
      guard let pend = pending[address] else { continue }
      if let error {
        guard let noRoom else {
          fail(address, ExchangeError.storeFailed(address, "\(error)"))
          continue
        }
        stats.blocksReceived += 1
        stats.blocksNotStored += 1
        finish(address, result: FetchedBlock(block: d.block, proof: d.proof, notStored: noRoom), except: pend.deliverer)
        continue
      }
      stats.blocksReceived += 1
      if let peer = pend.deliverer {
        if receivedBlocksByPeer[peer] == nil, receivedBlocksByPeer.count >= Self.maxReceivedByPeerRemembered {
          receivedBlocksByPeer = [:]
        }
        receivedBlocksByPeer[peer, default: 0] += 1
      }
      finish(address, result: FetchedBlock(block: d.block, proof: d.proof), except: pend.deliverer)
      available.append(address)
    }
    if !available.isEmpty { blocksAvailable(available) }
  }

  /// The store error's text when it means there is no room for the blocks (quota, full disk), else nil.
  static func lackOfRoom(_ error: any Error) -> String? {
    (error as? StoreError)?.isLackOfRoom == true ? "\(error)" : nil
  }
}
