import CodexFormats
import CodexStore
import Logging
import Multiformats

/// Decodes and repairs protected datasets through any block store (`erasure.md` §2.4, §2.5): per EC group it reads
/// the data blocks, and when some are missing, parity blocks in arrival order until `K` blocks are at hand, then
/// recovers the missing data blocks with Leopard and stores them.
///
/// Every block read is checked against the protected tree with its proof; recovered blocks are checked by
/// rebuilding the original tree and comparing its root with `originalTreeCid` (and, in `repair`, by re-encoding
/// and comparing the protected root). Works one group at a time.
public struct ErasureDecoder: Sendable {
  public let store: any BlockStore
  let logger: Logger
  /// Threads the codec may use per group.
  public let concurrency: Int
  /// TTL of recovered blocks (nil: the store's default).
  public let blockTTL: Duration?

  public init(store: any BlockStore, logger: Logger, concurrency: Int = 1, blockTTL: Duration? = nil) {
    self.store = store
    self.logger = logger
    self.concurrency = max(1, concurrency)
    self.blockTTL = blockTTL
  }

  /// The data of one EC group after recovery.
  public struct Group: Sendable {
    /// The group.
    public let step: Int
    /// Leaf indices of the `K` data positions (padding included).
    public let indices: [Int]
    /// The blocks at those positions; nil for padding (all-zero data, empty CID).
    public let blocks: [Block?]
    /// Positions whose blocks were recovered (not read).
    public let recovered: [Int]
  }

  /// Reads, and where needed recovers, the data blocks of group `step` of the protected dataset `manifest`.
  /// Recovered blocks are returned, not stored.
  /// - Throws: `ErasureCodingError.unrecoverable` when fewer than `K` blocks of the group are available,
  ///   `.notProtected`/`.invalidManifest` for unusable manifests, `.codec`.
  public func recoverGroup(_ manifest: Manifest, step: Int) async throws -> Group {
    let (layout, _) = try ErasureStoreAccess.layout(of: manifest)
    return try await recoverGroup(tree: manifest.treeCid, blockSize: manifest.blockSize, layout: layout, step: step)
  }

  func recoverGroup(tree: Cid, blockSize: Int, layout: SteppedLayout, step: Int) async throws -> Group {
    let k = layout.dataShards
    let m = layout.parityShards
    let indices = try layout.dataIndices(step: step)
    let store = self.store
    let logger = self.logger
    // 1. The data positions (padding is known to be zero and never read).
    var blocks = [Block?](repeating: nil, count: k)
    var missing: [Int] = []
    try await withThrowingTaskGroup(of: (Int, Block?).self) { group in
      for (pos, idx) in indices.enumerated() where idx < layout.originalBlocks {
        group.addTask { (pos, await Self.tryFetch(tree, idx, blockSize, store, logger)) }
      }
      for try await (pos, block) in group {
        if let block { blocks[pos] = block } else { missing.append(pos) }
      }
    }
    if missing.isEmpty { return Group(step: step, indices: indices, blocks: blocks, recovered: []) }
    // 2. Parity, taking the first ones that arrive until K blocks are at hand.
    var parity = [[UInt8]?](repeating: nil, count: m)
    var got = 0
    try await withThrowingTaskGroup(of: (Int, Block?).self) { group in
      for j in 0..<m {
        let idx = try layout.parityIndex(step: step, parity: j)
        group.addTask { (j, await Self.tryFetch(tree, idx, blockSize, store, logger)) }
      }
      for try await (j, block) in group {
        guard let block else { continue }
        parity[j] = block.data
        got += 1
        if got == missing.count {
          group.cancelAll()
          break
        }
      }
    }
    guard got >= missing.count else {
      throw ErasureCodingError.unrecoverable(step: step, available: k - missing.count + got, required: k)
    }
    // 3. Leopard decode of the missing data positions, and their CIDs, off the caller's task.
    let zero = ErasureStoreAccess.zeros(blockSize)
    let data: [[UInt8]?] = (0..<k).map { pos in
      indices[pos] >= layout.originalBlocks ? zero : blocks[pos]?.data
    }
    let codec: LeopardCodec
    do {
      codec = try LeopardCodec(dataShards: k, parityShards: m)
    } catch { throw ErasureCodingError.codec(error) }
    let concurrency = self.concurrency
    let wanted = missing
    let recovered = try await Task.detached(priority: .userInitiated) { () throws(ErasureError) -> [Block] in
      let all = try codec.decode(data: data, parity: parity, concurrency: concurrency)
      return wanted.map { Block(data: all[$0]) }
    }.value
    for (pos, block) in zip(missing, recovered) { blocks[pos] = block }
    logger.debug(
      "erasure: recovered blocks", metadata: ["step": "\(step)", "indices": "\(missing.map { indices[$0] })"])
    return Group(step: step, indices: indices, blocks: blocks, recovered: missing.sorted())
  }

  /// Reads a checked block, or nil when it is absent or unusable (logged).
  static func tryFetch(_ tree: Cid, _ index: Int, _ blockSize: Int, _ store: any BlockStore, _ logger: Logger) async
    -> Block?
  {
    do {
      return try await ErasureStoreAccess.fetch(tree: tree, index: index, blockSize: blockSize, from: store)
    } catch {
      logger.warning("erasure: block unusable", metadata: ["tree": "\(tree)", "index": "\(index)", "why": "\(error)"])
      return nil
    }
  }

  /// Recovers every missing original block of the protected dataset `manifest`, stores the recovered blocks,
  /// checks the original tree root, stores leaf metadata (proofs against the original tree) for the recovered
  /// indices and returns the plain manifest (`treeCid = originalTreeCid`, `datasetSize = originalDatasetSize`).
  /// - Throws: `ErasureCodingError.notProtected`, `.invalidManifest`, `.unrecoverable` (more than `M` blocks
  ///   of a group lost), `.verificationFailed` (the recovered blocks do not give `originalTreeCid`; they are
  ///   deleted again), `.codec`; store errors unchanged.
  @discardableResult
  public func decode(_ manifest: Manifest) async throws -> Manifest {
    let (original, _) = try await decodeOriginal(manifest, storeAllLeaves: false)
    return original
  }

  /// Decodes (as `decode`), records leaf metadata for all original indices, re-encodes with the same `K`, `M`
  /// and strategy (restoring lost parity blocks) and requires the re-encoded tree to equal the manifest's
  /// `treeCid`; then records leaf metadata for every leaf of the protected tree that lacks it.
  /// - Throws: as `decode`, and `ErasureCodingError.repairMismatch` when the re-encoded tree differs.
  public func repair(_ manifest: Manifest) async throws {
    let (original, layout) = try await decodeOriginal(manifest, storeAllLeaves: true)
    let encoder = ErasureEncoder(store: store, logger: logger, concurrency: concurrency, blockTTL: blockTTL)
    let leaves = try await encoder.encodeLayout(
      originalTree: original.treeCid, blockSize: manifest.blockSize, layout: layout)
    let tree = try await ErasureStoreAccess.tree(of: leaves)
    guard tree.rootCid == manifest.treeCid else {
      throw ErasureCodingError.repairMismatch(expected: manifest.treeCid, got: tree.rootCid)
    }
    try await ErasureStoreAccess.putLeaves(
      tree: manifest.treeCid, codexTree: tree, cids: leaves, indices: 0..<layout.total, in: store)
    logger.info("erasure: dataset repaired", metadata: ["tree": "\(manifest.treeCid)"])
  }

  private func decodeOriginal(_ manifest: Manifest, storeAllLeaves: Bool) async throws -> (Manifest, SteppedLayout) {
    let (layout, info) = try ErasureStoreAccess.layout(of: manifest)
    var cids = [Cid](repeating: Codex.emptyBlockCid, count: layout.originalBlocks)
    var recoveredIndices: [Int] = []
    var stored: [Cid] = []
    do {
      for step in 0..<layout.steps {
        let group = try await recoverGroup(
          tree: manifest.treeCid, blockSize: manifest.blockSize, layout: layout, step: step)
        for (pos, idx) in group.indices.enumerated() where idx < layout.originalBlocks {
          cids[idx] = group.blocks[pos]!.cid
        }
        let fresh = group.recovered.map { group.blocks[$0]! }
        try await ErasureStoreAccess.putBlocks(fresh, in: store, ttl: blockTTL)
        stored += fresh.map(\.cid)
        recoveredIndices += group.recovered.map { group.indices[$0] }
      }
      let tree = try await ErasureStoreAccess.tree(of: cids)
      guard tree.rootCid == info.originalTreeCid else {
        throw ErasureCodingError.verificationFailed(
          "original tree root is \(tree.rootCid), manifest says \(info.originalTreeCid)")
      }
      try await ErasureStoreAccess.putLeaves(
        tree: info.originalTreeCid, codexTree: tree, cids: cids,
        indices: storeAllLeaves ? Array(0..<layout.originalBlocks) : recoveredIndices.sorted(), in: store)
    } catch {
      for cid in Set(stored) { try? await store.deleteBlock(cid) }
      throw error
    }
    if !recoveredIndices.isEmpty {
      logger.info(
        "erasure: recovered lost blocks",
        metadata: ["tree": "\(manifest.treeCid)", "count": "\(recoveredIndices.count)"])
    }
    let plain = Manifest(
      treeCid: info.originalTreeCid, datasetSize: info.originalDatasetSize, blockSize: manifest.blockSize,
      codec: manifest.codec, hcodec: manifest.hcodec, version: manifest.version, filename: manifest.filename,
      mimetype: manifest.mimetype)
    return (plain, layout)
  }
}
