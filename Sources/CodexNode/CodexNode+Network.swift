import Foundation
import CodexErasure
import CodexExchange
import CodexFormats
import CodexStore
import LibP2P
import Logging
import Multiformats

extension CodexNode {
  /// Dials a peer and remembers it as a provider for block exchange.
  public func connect(peer: PeerID, addresses: [Multiaddr]) async throws {
    try await exchange.connect(peer: peer, addresses: addresses)
  }

  /// How long a manifest request waits for a first peer when none is connected.
  static let noPeerGrace: Duration = .seconds(3)

  /// The manifest with this CID, from the repo or fetched from peers (and then stored locally). With no peer
  /// connected (after a short grace), fails at once instead of after the block timeout.
  /// - Throws: `NodeError.notAManifest`, or `.notFound` when no peer delivers it in time.
  public func networkManifest(_ cid: Cid) async throws -> Manifest {
    guard cid.codec == .codexManifest else { throw NodeError.notAManifest(cid) }
    // With no peer at all, waiting out the block timeout (a minute) helps nobody: a peer that is being dialled
    // (bootstrap at start-up, a `/connect` in flight) gets `noPeerGrace` to come up.
    if !hasPeers, try await !repo.hasBlock(cid) {
      let deadline = ContinuousClock.now.advanced(by: Self.noPeerGrace)
      while !hasPeers, ContinuousClock.now < deadline {
        try await Task.sleep(for: .milliseconds(100))
      }
      if !hasPeers {
        logger.info("manifest not fetched: no peer connected", metadata: ["cid": "\(cid)"])
        throw NodeError.notOnNetwork(cid, why: "no peer is connected to this node")
      }
    }
    do {
      return try await exchange.networkStore.manifest(cid)
    } catch let e as FormatError {
      throw NodeError.format(e)
    } catch let e as ExchangeError {
      logger.info("manifest not found on the network", metadata: ["cid": "\(cid)", "error": "\(e)"])
      switch e {
      case .timeout(_, let waited, let peers):
        throw NodeError.notOnNetwork(cid, why: "no peer delivered it within \(waited) (\(peers) peer(s) connected)")
      case .retriesExhausted(_, let retries):
        throw NodeError.notOnNetwork(cid, why: "no connected peer had it after \(retries) retries")
      default:
        throw NodeError.notFound(cid)
      }
    } catch {
      logger.info("manifest not found on the network", metadata: ["cid": "\(cid)", "error": "\(error)"])
      throw NodeError.notFound(cid)
    }
  }

  /// Starts downloading every block of a dataset into the repo in the background; returns its manifest at once.
  /// A second call for a dataset already downloading does not start another. `networkDownload(_:)` tells how it
  /// goes.
  /// - Throws: `NodeError.quotaExceeded`, before anything is fetched, when the blocks not yet stored here do not fit
  ///   in the free quota (a download that would fill the repo and then fail half-way helps nobody), and
  ///   `.quotaPromised` when they fit only in quota the running downloads and sized uploads will still take.
  public func startNetworkDownload(_ cid: Cid) async throws -> Manifest {
    let manifest = try await networkManifest(cid)
    var needed: UInt64 = 0
    var available = UInt64.max
    if networkDownload(cid)?.state != .running {
      let missing = manifest.blocksCount - (try await repo.localLeafCount(tree: manifest.treeCid))
      needed = UInt64(max(0, missing)) * UInt64(manifest.blockSize)
      available = try await repo.space().availableBytes
      guard needed <= available else { throw NodeError.quotaExceeded(needed: needed, available: available) }
    }
    let store = exchange.networkStore
    let logger = self.logger
    let memory = self.memory
    let journal = downloadJournal
    try downloads.withLock { d in
      guard d[cid] == nil else { return }
      // Checked and recorded under the lock: of two downloads started at once, the second sees the first's promise.
      try downloadStates.withLock { states in
        let hold = QuotaHold(downloads: states.promisedBytes(excluding: cid), uploads: uploadPromises.promised())
        guard hold.leavesRoom(for: needed, in: available) else {
          throw NodeError.quotaPromised(needed: needed, available: available, hold: hold)
        }
        states.start(
          cid, totalBlocks: manifest.blocksCount, promisedBytes: needed, blockSize: manifest.blockSize, at: Date())
      }
      journal.add(cid)
      d[cid] = Task { [weak self, repo] in
        do {
          let fetched = try await memory.during {
            // A protected dataset tolerates blocks no peer has: they are rebuilt from their groups afterwards.
            var unavailable: [Int] = []
            let fetched = try await store.fetchDataset(
              manifest,
              progress: { fetched in self?.downloadStates.withLock { $0.advance(cid, fetched: fetched) } },
              unavailable: manifest.isProtected
                ? { index, _ in
                  unavailable.append(index)
                  self?.downloadStates.withLock { $0.unavailable(cid, count: 1) }
                } : nil)
            if !unavailable.isEmpty {
              logger.info(
                "rebuilding the blocks of a protected dataset no peer delivered",
                metadata: ["cid": "\(cid)", "blocks": "\(unavailable.count)"])
              // From what is local now: a missing block is known missing at once, so parity is used without
              // waiting for the network again.
              let decoder = ErasureDecoder(store: repo, logger: logger, concurrency: CodexNode.erasureConcurrency)
              try await decoder.repair(manifest)
              self?.downloadStates.withLock { $0.recovered(cid, count: unavailable.count) }
            }
            return fetched
          }
          self?.downloadStates.withLock { $0.finish(cid, .completed, at: Date()) }
          journal.remove(cid)
          logger.info("dataset downloaded", metadata: ["cid": "\(cid)", "fetchedBlocks": "\(fetched)"])
        } catch {
          // Cut short by the node stopping: it resumes at the next start (a delete forgets it itself).
          if !Task.isCancelled { journal.remove(cid) }
          let why = Task.isCancelled ? "cancelled (the node is stopping)" : "\(error)"
          self?.downloadStates.withLock { $0.finish(cid, .failed(why), at: Date()) }
          logger.warning("dataset download failed", metadata: ["cid": "\(cid)", "error": "\(error)"])
        }
        _ = self?.downloads.withLock { $0.removeValue(forKey: cid) }
      }
    }
    return manifest
  }

  /// Stops the background download of `cid` if one runs (it ends `failed` with `why`) and waits until the blocks
  /// of `tree` it had in flight are stored or dropped, so that a delete after it leaves none of them behind.
  func stopDownload(_ cid: Cid, tree: Cid, because why: String) async {
    guard let task = downloads.withLock({ $0[cid] }) else { return }
    downloadStates.withLock { $0.finish(cid, .failed(why), at: Date()) }
    downloadJournal.remove(cid)
    task.cancel()
    await task.value
    await exchange.engine.settle(tree: tree)
  }

  /// Starts again the background downloads the node was running when it last stopped (or crashed). One whose
  /// manifest is gone, or that cannot start (e.g. no longer fits the quota), is logged and forgotten.
  func resumeDownloads() async {
    let unfinished = downloadJournal.unfinished
    guard !unfinished.isEmpty else { return }
    logger.notice(
      "resuming the downloads that were running when the node stopped", metadata: ["count": "\(unfinished.count)"])
    for cid in unfinished {
      do {
        guard try await repo.hasBlock(cid) else { throw NodeError.notFound(cid) }
        _ = try await startNetworkDownload(cid)
      } catch {
        logger.warning("cannot resume a download", metadata: ["cid": "\(cid)", "error": "\(error)"])
        downloadJournal.remove(cid)
      }
    }
  }

  /// The background download of `cid` (running, or among the last finished ones since the node started), or nil.
  public func networkDownload(_ cid: Cid) -> NetworkDownload? {
    downloadStates.withLock { $0.byCid[cid] }
  }

  /// Loads blocks `indices` with `load`, up to `window` loads running ahead of the consumer, and hands them to
  /// `body` in index order. Memory is bounded by `window` blocks; the loads still running are cancelled when `body`
  /// or a load throws.
  static func readAhead(
    _ indices: ClosedRange<Int>, window: Int, load: @escaping @Sendable (Int) async throws -> [UInt8],
    body: (Int, [UInt8]) async throws -> Void
  ) async throws {
    var tasks: [Int: Task<[UInt8], any Error>] = [:]
    defer { for t in tasks.values { t.cancel() } }
    var launched = indices.lowerBound
    let window = max(1, window)
    let chunk = NetworkStore.refillChunk(window: window)
    for i in indices {
      // Refill in chunks (batched want-lists, full delivery messages), never past the window.
      let refill = launched - i <= window - chunk
      while refill && launched <= indices.upperBound && launched < i + window {
        let j = launched
        tasks[j] = Task { try await load(j) }
        launched += 1
      }
      let task = tasks.removeValue(forKey: i)!
      let data = try await withTaskCancellationHandler {
        try await task.value
      } onCancel: {
        task.cancel()
      }
      try await body(i, data)
    }
  }

  /// Announces a stored dataset to the discovery layer.
  public func announce(_ cid: Cid, _ manifest: Manifest) async {
    await exchange.announce(manifestCid: cid, manifest: manifest)
  }

  /// Dials the peers of the `--bootstrap-node` records (best effort; failures are logged).
  func connectBootstrapNodes() async {
    for text in config.bootstrapNodes {
      do {
        let node = try BootstrapNode(text: text)
        try await exchange.connect(peer: node.peerID, addresses: node.addresses)
      } catch {
        logger.warning("bootstrap node unreachable", metadata: ["record": "\(text.prefix(24))…", "error": "\(error)"])
      }
    }
  }
}
