import CodexFormats
import CodexStore
import LibP2P
import Logging
import Multiformats
import NIOCore

/// A block fetched from the network: the block and, for leaf addresses, its verified inclusion proof.
public struct FetchedBlock: Sendable, Hashable {
  public var block: Block
  public var proof: CodexProof?
  /// Why the (verified) block could not be kept in the local store: the quota or the disk is full. nil when it
  /// was stored. A reader can still use the bytes; a download into the repo cannot.
  public var notStored: String?
  public init(block: Block, proof: CodexProof?, notStored: String? = nil) {
    self.block = block
    self.proof = proof
    self.notStored = notStored
  }
}

/// The block-exchange engine (`blockexc.md` §4): answers peers' want-lists from the local store and fetches the
/// blocks this node wants from peers.
///
/// Contract:
/// * `start()` once, `stop()` once; `requestBlock` after `stop()` throws `ExchangeError.stopped`.
/// * Only blocks asked of a peer (want-block) are accepted from it; leaf deliveries must carry a proof that
///   verifies against the tree CID; accepted blocks (and leaf proofs) are stored in `store` before waiters resume.
///   When the store refuses them for lack of room (quota or disk full) the waiters still get them, marked
///   `FetchedBlock.notStored`; other store failures fail the waiters.
/// * Peers that send bad or unrequested blocks or undecodable messages are penalised and, after
///   `maxPeerFailures`, evicted. Peers that stay silent for `peerActivityTimeout` while we wait on them are evicted.
/// * A want-have that cannot be answered is remembered (bounded) and answered with Have once the block is stored
///   here (fetched, or written through `NetworkStore`/`blocksStored`), so downloaders can serve each other.
/// * Memory per peer is bounded (`maxWantsPerPeer`, `maxKnownPerPeer`); serving is round-robin across peers.
public actor BlockExchangeEngine: ExchangeNetworkHandler {
  public let network: any ExchangeNetwork
  public let store: any BlockStore
  public let discovery: any Discovery
  public let config: ExchangeConfig
  let logger: Logger
  let clock = ContinuousClock()
  var rng: SplitMix64

  var peers: [PeerID: PeerContext] = [:]
  var pending: [BlockAddress: PendingBlock] = [:]
  var lastDiscovery: [Cid: ContinuousClock.Instant] = [:]
  var outbox: [PeerID: [WantListEntry]] = [:]
  var outboxPresences: [PeerID: [BlockPresence]] = [:]
  var flushScheduled = false
  /// Per-peer ordered outgoing queue: control messages (bytes 0) and delivery messages (their block bytes).
  var senders: [PeerID: AsyncStream<(OutgoingMessage, bytes: Int)>.Continuation] = [:]
  /// Delivery bytes queued to each peer and not yet written (bounded by `maxQueuedDeliveryBytes`).
  var deliveryBytesQueued: [PeerID: Int] = [:]
  /// Serving passes waiting for room in a peer's delivery queue.
  var deliveryWaiters: [PeerID: [CheckedContinuation<Void, Never>]] = [:]
  var nextToken = 0
  /// The one timer for waiters' timeouts (`requestBlock(_:timeout:)`), the deadline it is armed for, and its
  /// generation (a fired timer that was replaced meanwhile does nothing).
  var waiterTimer: Task<Void, Never>?
  var waiterTimerDeadline: ContinuousClock.Instant?
  var waiterTimerGeneration = 0
  var running = false
  var stopped = false

  // serving
  var scheduled: [PeerID] = []
  var scheduledSet: Set<PeerID> = []
  /// Serving passes running per peer (at most `maxPassesPerPeer`).
  var serving: [PeerID: Int] = [:]
  var rescheduleAfterServing: Set<PeerID> = []
  var runnerWaiters: [CheckedContinuation<PeerID?, Never>] = []
  var tasks: [Task<Void, Never>] = []
  /// Download loops waiting for a free in-flight slot, queued at each holder they could ask: a slot that comes
  /// free at a peer goes to the oldest loop waiting there (`wakeSlotWaiters(at:count:)`), instead of every waiting
  /// loop being woken (with more wants than slots, that on every delivery made four concurrent streams from one
  /// seeder cost the leecher ~1.9× the CPU per GiB of one stream).
  var slotQueues: [PeerID: SlotQueue] = [:]
  /// Writes accepted deliveries to `store` in batches.
  let writer: DeliveryWriter

  /// Counters for tests and metrics.
  public struct Stats: Sendable, Equatable {
    public var messagesReceived = 0
    public var blocksReceived = 0
    /// Received blocks handed to their readers without being stored, for lack of quota or disk space.
    public var blocksNotStored = 0
    public var blocksSent = 0
    /// Messages that carried blocks (`blocksSent / deliveryMessagesSent` is their average fill).
    public var deliveryMessagesSent = 0
    public var rejectedDeliveries = 0
    public var malformedMessages = 0
    public var peersEvicted = 0

    public init() {}
  }
  public internal(set) var stats = Stats()

  /// - Parameters:
  ///   - network: the transport (libp2p or in-memory).
  ///   - store: the local store blocks are served from and fetched blocks are written to.
  ///   - discovery: where to look for providers when no connected peer has a block.
  ///   - logger: the library never creates its own.
  public init(
    network: any ExchangeNetwork, store: any BlockStore, discovery: any Discovery,
    config: ExchangeConfig = ExchangeConfig(),
    logger: Logger
  ) {
    self.network = network
    self.store = store
    self.discovery = discovery
    self.config = config
    var logger = logger
    logger[metadataKey: "peer"] = "\(network.localPeer)"
    self.logger = logger
    rng = SplitMix64(seed: config.seed ?? UInt64.random(in: 1...UInt64.max))
    writer = DeliveryWriter(
      store: store, maxQueuedBytes: config.maxStoreQueueBytes, maxBatchBytes: config.maxStoreBatchBytes)
  }

  /// This node's peer id.
  public nonisolated var localPeer: PeerID { network.localPeer }

  /// Starts the provider task runners and the network.
  public func start() async throws {
    guard !running, !stopped else { return }
    running = true
    for _ in 0..<max(1, config.concurrentTasks) {
      tasks.append(Task { [weak self] in await self?.runnerLoop() })
    }
    tasks.append(Task { [weak self] in await self?.requestWatchdog() })
    try await network.start(handler: self)
  }

  /// Stops everything: pending requests fail with `ExchangeError.stopped`.
  public func stop() async {
    guard !stopped else { return }
    stopped = true
    running = false
    for t in tasks { t.cancel() }
    tasks = []
    waiterTimer?.cancel()
    waiterTimer = nil
    for w in runnerWaiters { w.resume(returning: nil) }
    runnerWaiters = []
    for (address, _) in pending { fail(address, ExchangeError.stopped) }
    for s in senders.values { s.finish() }
    senders = [:]
    for w in deliveryWaiters.values.joined() { w.resume() }
    deliveryWaiters = [:]
    await network.stop()
  }

  /// Peers currently known to the engine.
  public var connectedPeers: [PeerID] { Array(peers.keys) }

  /// How many blocks each peer delivered to us (accepted).
  public var exchangedByPeer: [PeerID: Int] { peers.mapValues(\.exchanged) }

  /// Blocks accepted from each peer since start, kept after the peer disconnects (at most
  /// `maxReceivedByPeerRemembered` peers; the counts are cleared when a new peer would go past it).
  public internal(set) var receivedBlocksByPeer: [PeerID: Int] = [:]
  static let maxReceivedByPeerRemembered = 10_000

  // MARK: ExchangeNetworkHandler

  public func peerConnected(_ peer: PeerID) async {
    guard !stopped, peer != localPeer else { return }
    _ = context(for: peer)
  }

  public func peerDisconnected(_ peer: PeerID) async {
    removePeer(peer)
  }

  /// Handles one message. `message` must come from `Message(encoded:)`, which already checked that every delivered
  /// block hashes to its CID; leaf proofs are checked here, before the actor is entered. Accepted deliveries are
  /// queued for the store writer; this waits while its queue is full (back-pressure on the sending peer).
  public nonisolated func received(_ message: Message, from peer: PeerID) async {
    let checks = Self.check(message.payload)
    let accepted = await process(message, checks: checks, from: peer)
    await writer.submit(accepted, for: self)
  }

  private func process(_ message: Message, checks: [DeliveryCheck], from peer: PeerID) async -> [BlockDelivery] {
    guard !stopped, peer != localPeer else { return [] }
    _ = context(for: peer)
    peers[peer]?.lastActivity = clock.now
    stats.messagesReceived += 1
    if !message.blockPresences.isEmpty { handlePresences(message.blockPresences, from: peer) }
    var accepted: [BlockDelivery] = []
    if !message.payload.isEmpty { accepted = handleDeliveries(message.payload, checks: checks, from: peer) }
    if !message.wantList.entries.isEmpty { await handleWants(message.wantList, from: peer) }
    return accepted
  }

  public func receivedMalformed(from peer: PeerID, error: MessageError) async {
    stats.malformedMessages += 1
    logger.debug("undecodable block-exchange message", metadata: ["from": "\(peer)", "error": "\(error)"])
    penalise(peer, reason: "undecodable message")
  }

  // MARK: peers

  /// The context of `peer`, created (and sent our want-list) on first sight.
  func context(for peer: PeerID) -> PeerContext {
    if let c = peers[peer] { return c }
    let c = PeerContext(id: peer, now: clock.now)
    peers[peer] = c
    logger.debug("block-exchange peer added", metadata: ["remote": "\(peer)"])
    startSender(for: peer)
    sendFullWantList(to: peer)
    return c
  }

  private func startSender(for peer: PeerID) {
    let (stream, continuation) = AsyncStream<(OutgoingMessage, bytes: Int)>.makeStream()
    senders[peer] = continuation
    let network = self.network
    let logger = self.logger
    tasks.append(
      Task {
        for await (m, bytes) in stream {
          do {
            switch m {
            case .message(let message): try await network.send(message, to: peer)
            case .framed(let frame): try await network.send(framed: frame, to: peer)
            }
          } catch {
            logger.debug("block-exchange send failed", metadata: ["to": "\(peer)", "error": "\(error)"])
            self.sendFailed(to: peer)
          }
          if bytes > 0 { self.deliveriesWritten(bytes, to: peer) }
        }
      })
  }

  /// A send to `peer` failed: the link is gone, so drop the peer at once (its want-blocks go to others).
  /// A later message or connection from the peer adds it again.
  private func sendFailed(to peer: PeerID) {
    guard peers[peer] != nil else { return }
    removePeer(peer)
  }

  /// Queues a control message (wants, cancels, presences) to `peer`; per-peer order is kept.
  func enqueue(_ message: Message, to peer: PeerID) {
    senders[peer]?.yield((.message(message), 0))
  }

  /// Forgets `peer`: its outstanding requests go back to the download loops.
  func removePeer(_ peer: PeerID) {
    guard let ctx = peers.removeValue(forKey: peer) else { return }
    // Loops waiting for a slot there choose again (another holder, or a provider search).
    wakeAllSlotWaiters(at: peer)
    senders.removeValue(forKey: peer)?.finish()
    deliveryBytesQueued.removeValue(forKey: peer)
    for w in deliveryWaiters.removeValue(forKey: peer) ?? [] { w.resume() }
    outbox.removeValue(forKey: peer)
    outboxPresences.removeValue(forKey: peer)
    scheduledSet.remove(peer)
    scheduled.removeAll { $0 == peer }
    for address in ctx.requested {
      if pending[address]?.requestedFrom == peer {
        pending[address]?.requestedFrom = nil
      }
      wake(address)
    }
    logger.debug("block-exchange peer removed", metadata: ["remote": "\(peer)"])
  }

  /// Drops and disconnects `peer`.
  func evict(_ peer: PeerID, reason: String) {
    guard peers[peer] != nil else { return }
    stats.peersEvicted += 1
    logger.info("evicting block-exchange peer", metadata: ["remote": "\(peer)", "reason": "\(reason)"])
    removePeer(peer)
    let network = self.network
    Task { await network.disconnect(peer) }
  }

  /// Counts a failure against `peer`; evicts it after `maxPeerFailures`.
  func penalise(_ peer: PeerID, reason: String) {
    guard peers[peer] != nil else { return }
    peers[peer]!.failures += 1
    if peers[peer]!.failures >= config.maxPeerFailures { evict(peer, reason: reason) }
  }
}
