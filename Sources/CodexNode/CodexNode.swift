import CodexErasure
import CodexExchange
import CodexFormats
import CodexStore
import Synchronization
import Foundation
import LibP2P
import Logging
import Metrics
import Multiformats

/// A Codex node on one machine: the repo and the operations the REST API and the CLI offer.
///
/// It owns its collaborators and shuts them down in `close()`. Safe to use from many tasks at once.
public final class CodexNode: Sendable {
  public let config: NodeConfig
  public let repo: RepoStore
  /// The libp2p identity and host.
  public let network: NodeNetwork
  /// Block exchange over the host; its `networkStore` reads locally and fetches what is missing.
  public let exchange: Exchange
  let logger: Logger
  /// Background dataset downloads (`POST /data/{cid}/network`), cancelled by `close()`.
  let downloads = Mutex<[Cid: Task<Void, Never>]>([:])
  /// How the background downloads go (`networkDownload(_:)`).
  let downloadStates = Mutex(NetworkDownloads())
  /// The background downloads to resume at the next start.
  let downloadJournal: DownloadJournal
  /// What `exportMetrics()` exported last.
  let metrics = NodeMetrics()
  /// The marketplace connection when the node runs with the `persistence` subcommand, else nil (`NodeMarketplace`).
  public let marketplace: NodeMarketplace?
  /// Tracks uploads, downloads and deletes, and gives the allocator's free memory back once they are over.
  public let memory: MemoryReclaimer
  /// Reads running with a network prefetch window (see `networkWindow(readers:)`).
  let networkReaders = Mutex(0)
  /// Upload batches all uploads together may hold: 12 × 8 MiB (three uploads at full speed, or twelve at one batch).
  public let uploadBudget = UploadBatchBudget(limit: 12)
  /// The quota running uploads of a declared size will still take.
  public let uploadPromises = UploadPromises()

  /// Opens (or creates) the data directory and the repo in it, recovering from any earlier crash.
  public init(
    config: NodeConfig, logger: Logger, clock: any CodexClock = SystemClock(), marketplace: NodeMarketplace? = nil
  ) throws {
    try DataDirectory.prepare(config.dataDir)
    try DataDirectory.prepare(config.repoDir)
    self.config = config
    self.marketplace = marketplace
    self.logger = logger
    self.memory = MemoryReclaimer(logger: logger)
    self.downloadJournal = DownloadJournal(path: config.dataDir + "/downloads.json", logger: logger)
    self.repo = try RepoStore(
      config: RepoConfig(
        directory: config.repoDir, quotaMaxBytes: config.storageQuota, blockTTL: config.blockTTL,
        maintenanceInterval: config.blockMaintenanceInterval, maintenanceBatch: config.blockMaintenanceBatch),
      clock: clock, logger: logger)
    self.network = try NodeNetwork(config: config, logger: logger)
    var exchangeConfig = ExchangeConfig()
    exchangeConfig.blockRetries = config.blockRetries
    if let passes = config.blockPassesPerPeer { exchangeConfig.maxPassesPerPeer = passes }
    self.exchange = Exchange(
      host: network.host, store: repo, discovery: StaticDiscovery(), config: exchangeConfig,
      blockTimeout: .seconds(60), logger: logger)
  }

  /// Starts the network side (listening for peers).
  public func start() async throws {
    // Mount block exchange before listening, so identify lists the protocol from the first connection.
    try await exchange.start()
    try await network.start()
    await connectBootstrapNodes()
    await resumeDownloads()
    await warnIfOverQuota()
    logger.notice(
      "node started",
      metadata: [
        "peerId": "\(network.peerID)", "listen": "\(network.listenAddresses.map(\.description))",
        "dataDir": "\(config.dataDir)",
      ])
  }

  /// Warns when the repo already holds more than the quota (started with a smaller `--storage-quota` than before):
  /// what it holds stays and is served, but nothing new is stored until data is deleted or the quota raised.
  func warnIfOverQuota() async {
    guard let space = try? await repo.space() else { return }
    let held = space.quotaUsedBytes + space.quotaReservedBytes
    guard held > space.quotaMaxBytes else { return }
    logger.warning(
      "the repo holds more than the storage quota: what it holds is kept and served, but uploads and downloads into it are refused until data is deleted or --storage-quota is raised",
      metadata: [
        "usedBytes": "\(space.quotaUsedBytes)", "reservedBytes": "\(space.quotaReservedBytes)",
        "quotaBytes": "\(space.quotaMaxBytes)",
      ])
  }

  /// Parses CID text from a request.
  public static func parseCid(_ text: String) throws(NodeError) -> Cid {
    do { return try Cid(string: text) } catch { throw .invalidCid(text, error) }
  }

  /// Starts an upload; see `DatasetUpload`. It leaves free the quota that running background downloads and sized
  /// uploads were promised (`NodeError.quotaPromised` when a batch would take it).
  ///
  /// `declaredSize` (the request's `Content-Length`, when it has one) is checked before any byte is read: an upload
  /// larger than the quota less what is reserved cannot succeed (`NodeError.quotaExceeded`); one that fits only in
  /// quota promised to others is refused (`.quotaPromised`). Otherwise it promises its own size until it ends, so
  /// uploads and downloads started after it leave room for it. The check does not count the quota already used:
  /// blocks already stored cost nothing, so uploading a stored file again succeeds on a full repo.
  /// - Throws: `NodeError.emptyUpload` for a declared size of 0, `.quotaExceeded`, `.quotaPromised`.
  public func startUpload(
    filename: String? = nil, mimetype: String? = nil, declaredSize: UInt64? = nil
  ) async throws -> DatasetUpload {
    var promise: UploadPromise?
    if let declaredSize {
      guard declaredSize > 0 else { throw NodeError.emptyUpload }
      let needed = DatasetUpload.quotaBytes(forSize: declaredSize)
      let space = try await repo.space()
      guard needed <= space.unreservedBytes else {
        throw NodeError.quotaExceeded(needed: needed, available: space.availableBytes)
      }
      // Under the downloads' lock, as a download's own admission: an upload and a download started at once each
      // see the other's promise.
      promise = try downloadStates.withLock { states throws(NodeError) -> UploadPromise in
        try uploadPromises.admit(needed, available: space.availableBytes, downloads: states.promisedBytes())
      }
    }
    let own = promise?.id
    let session: UploadSession
    do {
      session = try await repo.beginUpload(leaving: { [weak self] in
        self?.quotaPromised(excludingUpload: own) ?? QuotaHold(bytes: 0)
      })
    } catch {
      promise?.end()
      throw error
    }
    return DatasetUpload(
      session: session, filename: filename, mimetype: mimetype, memory: memory, budget: uploadBudget,
      promise: promise, logger: logger)
  }

  /// The quota running background downloads and sized uploads (other than upload promise `excludingUpload`) will
  /// still take (see `startNetworkDownload`, `startUpload`).
  public func quotaPromised(excludingUpload: Int? = nil) -> QuotaHold {
    QuotaHold(
      downloads: downloadStates.withLock { $0.promisedBytes() },
      uploads: uploadPromises.promised(excluding: excludingUpload))
  }

  /// The locally stored manifest with this CID.
  /// - Throws: `NodeError.notAManifest` for a non-manifest CID, `.notFound` when absent.
  public func manifest(_ cid: Cid) async throws -> Manifest {
    guard cid.codec == .codexManifest else { throw NodeError.notAManifest(cid) }
    guard let block = try await repo.getBlock(cid) else { throw NodeError.notFound(cid) }
    do { return try Manifest(block: block) } catch { throw NodeError.format(error) }
  }

  /// Every manifest stored here.
  public func manifests() async throws -> [(cid: Cid, manifest: Manifest)] {
    try await repo.manifests()
  }

  /// Deletes a dataset (manifest CID) or a single unreferenced block. Deleting what is absent succeeds. A
  /// background download of the dataset is stopped first (it ends `failed`), so none of its blocks stay behind.
  public func delete(_ cid: Cid) async throws {
    do {
      try await memory.during {
        if cid.codec == .codexManifest {
          if downloads.withLock({ $0[cid] != nil }), let manifest = try? await manifest(cid) {
            await stopDownload(cid, tree: manifest.treeCid, because: "cancelled: the dataset was deleted")
          }
          try await repo.deleteDataset(manifestCid: cid)
        } else {
          try await repo.deleteBlock(cid)
        }
      }
    } catch { throw NodeError.wrap(error) }
    logger.info("deleted", metadata: ["cid": "\(cid)"])
  }

  /// True if the block or manifest is stored here (the empty CID always is).
  public func exists(_ cid: Cid) async throws -> Bool {
    try await repo.hasBlock(cid)
  }

  /// Quota and block counts.
  public func space() async throws -> SpaceInfo { try await repo.space() }

  /// The dataset's real length: `originalDatasetSize` when protected, else `datasetSize`.
  public static func contentLength(of manifest: Manifest) -> UInt64 {
    manifest.erasure?.originalDatasetSize ?? manifest.datasetSize
  }

  /// Streams bytes `range` of the dataset, block by block, to `sink`, reading ahead (a window of blocks when peers
  /// are connected, so missing blocks are fetched many at a time).
  /// - Throws: `NodeError.missingBlock` when a block is not stored; whatever `sink` throws.
  public func read(
    _ manifest: Manifest, range: Range<UInt64>, sink: (ArraySlice<UInt8>) async throws -> Void
  ) async throws {
    guard !range.isEmpty else { return }
    try await memory.during { try await readBlocks(manifest, range: range, sink: sink) }
  }

  private func readBlocks(
    _ manifest: Manifest, range: Range<UInt64>, sink: (ArraySlice<UInt8>) async throws -> Void
  ) async throws {
    if manifest.isProtected {
      // Original blocks first; missing ones are rebuilt from any K of their group (local or fetched).
      let reader = try ProtectedDatasetReader(manifest: manifest, store: exchange.networkStore, logger: logger)
      try await reader.read(range: range, sink: sink)
      Counter(label: "codex_downloads_total").increment()
      return
    }
    let bs = UInt64(manifest.blockSize)
    let first = Int(range.lowerBound / bs)
    let last = Int((range.upperBound - 1) / bs)
    let tree = manifest.treeCid
    let repo = self.repo
    let remote = exchange.networkStore
    let hasPeers = self.hasPeers
    @Sendable func load(_ i: Int) async throws -> [UInt8] {
      if let data = try await repo.blockData(tree: tree, index: i) { return data }
      // Not local: fetch it from peers (as nim-codex does for GET /data/{cid}).
      guard hasPeers else { throw NodeError.blocksUnreachable(tree: tree, missing: 1) }
      guard let (block, _) = try await remote.fetchBlock(tree: tree, index: i) else {
        throw NodeError.missingBlock(tree: tree, index: i)
      }
      return block.data.isEmpty ? [UInt8](repeating: 0, count: manifest.blockSize) : block.data
    }
    // Blocks that must come from peers are requested a window ahead (one block per round trip is hopeless). Local
    // blocks need no more than two in hand: a 256-block window over local blocks held 16 MiB per download for a
    // slow reader (30 slow downloads of local data on a node with one peer connected: 562 MB RSS, 165 MB without
    // the peer).
    var window = 2
    var fetching = false
    if hasPeers, try await repo.localLeafCount(tree: tree, indices: first...last) < last - first + 1 {
      fetching = true
      let readers = networkReaders.withLock { n -> Int in
        n += 1
        return n
      }
      window = Self.networkWindow(readers: readers)
    }
    defer { if fetching { networkReaders.withLock { $0 -= 1 } } }
    try await Self.readAhead(first...last, window: window, load: load) { i, data in
      let blockStart = UInt64(i) * bs
      let lo = Int(max(range.lowerBound, blockStart) - blockStart)
      let hi = Int(min(range.upperBound, blockStart + UInt64(data.count)) - blockStart)
      guard lo < hi else { return }
      try await sink(data[lo..<hi])
    }
    Counter(label: "codex_downloads_total").increment()
  }

  /// The prefetch window of a read that fetches from peers, when `readers` such reads run (this one included): the
  /// full window (256 blocks, 16 MiB, what one stream needs to keep the peers busy) for up to four, shrinking with
  /// more so that all of them together hold about 64 MiB, never below 32 blocks. A slow reader holds its whole
  /// window: 20 slow network streams held 20 × 16 MiB.
  static func networkWindow(readers: Int) -> Int {
    let shared = NetworkStore.defaultWindow / max(1, (readers + 3) / 4)
    return max(32, min(NetworkStore.defaultWindow, shared))
  }

  /// True while at least one peer is connected.
  public var hasPeers: Bool { !network.host.connections.isEmpty }

  /// Checks, before a response commits to a status, that `read(_:range:sink:)` of a plain dataset can start and
  /// will not break off for lack of a source: with no peer connected every block of `range` must be stored here;
  /// with peers, the first block must be here or delivered by one within the exchange's timeout (later ones are
  /// fetched as the read goes). Protected datasets are not checked (missing blocks are rebuilt from parity).
  /// - Throws: `NodeError.blocksUnreachable` (no peer, blocks missing), `.missingBlock` (the first block not found).
  public func checkReadable(_ manifest: Manifest, range: Range<UInt64>) async throws {
    guard !manifest.isProtected, !range.isEmpty else { return }
    let bs = UInt64(manifest.blockSize)
    let first = Int(range.lowerBound / bs)
    let last = Int((range.upperBound - 1) / bs)
    let tree = manifest.treeCid
    guard hasPeers else {
      let missing = last - first + 1 - (try await repo.localLeafCount(tree: tree, indices: first...last))
      if missing > 0 { throw NodeError.blocksUnreachable(tree: tree, missing: missing) }
      return
    }
    if (try? await repo.hasBlock(tree: tree, index: first)) == true { return }
    guard (try? await exchange.networkStore.getBlock(tree: tree, index: first)) != nil else {
      throw NodeError.missingBlock(tree: tree, index: first)
    }
  }

  /// Threads the erasure codec uses for the node's own encodes and rebuilds: the cores, at most 4.
  public static let erasureConcurrency = min(4, max(1, ProcessInfo.processInfo.activeProcessorCount))

  /// Runs the block maintenance loops until the task is cancelled: expiry, the integrity scrub (`runScrub`) and
  /// the disk-space watch (`watchDiskSpace`).
  public func runMaintenance() async {
    await withTaskGroup(of: Void.self) { group in
      group.addTask { await self.repo.runMaintenance() }
      group.addTask { await self.runScrub() }
      group.addTask { await self.watchDiskSpace() }
    }
  }

  /// At start and then every `--block-mi`: compares the quota still to fill with the free space of the file system
  /// holding the repo, and warns (once, until it fits again) when the disk cannot hold it. Uploads and downloads
  /// would otherwise fail with "disk full" while `/space` still shows room, and a host would offer marketplace
  /// storage it cannot keep. Exports `codex_repo_disk_available_bytes`.
  func watchDiskSpace() async {
    var short = false
    while !Task.isCancelled {
      if let available = DiskSpace.available(atPath: config.repoDir), let space = try? await repo.space() {
        Gauge(label: "codex_repo_disk_available_bytes").record(Double(available))
        if let missing = DiskSpace.shortfall(space, diskAvailable: available) {
          if !short {
            logger.warning(
              """
              the storage quota is larger than the free disk space: uploads and downloads will fail with 'disk full' \
              before the quota is used up; lower --storage-quota or free disk space
              """,
              metadata: [
                "quotaLeftBytes": "\(missing + available)",
                "diskAvailableBytes": "\(available)", "shortBytes": "\(missing)", "repo": "\(config.repoDir)",
              ])
          }
          short = true
        } else {
          if short { logger.notice("the disk has room for the whole storage quota again") }
          short = false
        }
      }
      do { try await Task.sleep(for: config.blockMaintenanceInterval) } catch { return }
    }
  }

  /// Every `--block-mi`, reads `--block-mn` stored blocks back (going round the whole repo) and checks them against
  /// their checksums; a damaged block that belongs to a dataset is fetched again from connected peers, which
  /// rewrites it (see `RepoStore.damagedBlocks`). Damage is so found and healed before a reader needs the block.
  func runScrub() async {
    var cursor: [UInt8]? = nil
    while !Task.isCancelled {
      do { try await Task.sleep(for: config.blockMaintenanceInterval) } catch { return }
      do {
        let step = try await repo.scrub(after: cursor, limit: config.blockMaintenanceBatch)
        cursor = step.next
        Counter(label: "codex_repo_scrub_blocks_checked").increment(by: Int64(step.checked))
        guard !step.damaged.isEmpty else { continue }
        Counter(label: "codex_repo_damaged_blocks_found").increment(by: Int64(step.damaged.count))
        var healed = 0
        if hasPeers {
          for d in step.damaged {
            guard let tree = d.tree, let index = d.index else { continue }
            if (try? await exchange.networkStore.fetchBlock(tree: tree, index: index)) != nil { healed += 1 }
          }
        }
        Counter(label: "codex_repo_damaged_blocks_healed").increment(by: Int64(healed))
        logger.warning(
          "scrub: damaged blocks found; fetched good copies of those a connected peer had",
          metadata: ["damaged": "\(step.damaged.count)", "healed": "\(healed)"])
      } catch is CancellationError {
        return
      } catch {
        logger.error("scrub failed", metadata: ["why": "\(error)"])
      }
    }
  }

  /// Brings the block-exchange metrics (blocks sent and received, messages, rejected deliveries, evicted and
  /// connected peers, running background downloads) and the promised quota up to date; call it before each
  /// metrics scrape.
  public func exportMetrics() async {
    let engine = exchange.engine
    let stats = await engine.stats
    let peers = await engine.connectedPeers.count
    let running = downloads.withLock { $0.count }
    metrics.export(stats, connectedPeers: peers, runningDownloads: running, promised: quotaPromised())
  }

  /// Stops background downloads, block exchange and the network, then closes the repo.
  public func close() async {
    let tasks = downloads.withLock { d in
      let all = Array(d.values)
      d.removeAll()
      return all
    }
    for t in tasks { t.cancel() }
    for t in tasks { await t.value }
    await exchange.stop()
    await network.stop()
    await repo.close()
  }
}
