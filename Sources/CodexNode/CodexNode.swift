import CodexFormats
import CodexStore
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
  let logger: Logger

  /// Opens (or creates) the data directory and the repo in it, recovering from any earlier crash.
  public init(config: NodeConfig, logger: Logger, clock: any CodexClock = SystemClock()) throws {
    try DataDirectory.prepare(config.dataDir)
    try DataDirectory.prepare(config.repoDir)
    self.config = config
    self.logger = logger
    self.repo = try RepoStore(
      config: RepoConfig(
        directory: config.repoDir, quotaMaxBytes: config.storageQuota, blockTTL: config.blockTTL,
        maintenanceInterval: config.blockMaintenanceInterval, maintenanceBatch: config.blockMaintenanceBatch),
      clock: clock, logger: logger)
    self.network = try NodeNetwork(config: config, logger: logger)
  }

  /// Starts the network side (listening for peers).
  public func start() async throws {
    try await network.start()
    logger.notice(
      "node started",
      metadata: [
        "peerId": "\(network.peerID)", "listen": "\(network.listenAddresses.map(\.description))",
        "dataDir": "\(config.dataDir)",
      ])
  }

  /// Parses CID text from a request.
  public static func parseCid(_ text: String) throws(NodeError) -> Cid {
    do { return try Cid(string: text) } catch { throw .invalidCid(text, error) }
  }

  /// Starts an upload; see `DatasetUpload`.
  public func startUpload(filename: String? = nil, mimetype: String? = nil) async throws -> DatasetUpload {
    DatasetUpload(session: try await repo.beginUpload(), filename: filename, mimetype: mimetype, logger: logger)
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

  /// Deletes a dataset (manifest CID) or a single unreferenced block. Deleting what is absent succeeds.
  public func delete(_ cid: Cid) async throws {
    do {
      if cid.codec == .codexManifest {
        try await repo.deleteDataset(manifestCid: cid)
      } else {
        try await repo.deleteBlock(cid)
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

  /// Streams bytes `range` of the dataset, block by block, to `sink`, reading one block ahead.
  /// - Throws: `NodeError.missingBlock` when a block is not stored; whatever `sink` throws.
  public func read(
    _ manifest: Manifest, range: Range<UInt64>, sink: (ArraySlice<UInt8>) async throws -> Void
  ) async throws {
    guard !range.isEmpty else { return }
    let bs = UInt64(manifest.blockSize)
    let first = Int(range.lowerBound / bs)
    let last = Int((range.upperBound - 1) / bs)
    let tree = manifest.treeCid
    let repo = self.repo
    func load(_ i: Int) async throws -> [UInt8] {
      guard let data = try await repo.blockData(tree: tree, index: i) else {
        throw NodeError.missingBlock(tree: tree, index: i)
      }
      return data
    }
    var next: Task<[UInt8], any Error>? = Task { try await load(first) }
    for i in first...last {
      let data = try await next!.value
      next = i < last ? Task { try await load(i + 1) } : nil
      let blockStart = UInt64(i) * bs
      let lo = Int(max(range.lowerBound, blockStart) - blockStart)
      let hi = Int(min(range.upperBound, blockStart + UInt64(data.count)) - blockStart)
      guard lo < hi else { continue }
      try await sink(data[lo..<hi])
    }
    Counter(label: "codex_downloads_total").increment()
  }

  /// Runs the block maintenance loop until the task is cancelled.
  public func runMaintenance() async {
    await repo.runMaintenance()
  }

  /// Stops the network and closes the repo.
  public func close() async {
    await network.stop()
    await repo.close()
  }
}
