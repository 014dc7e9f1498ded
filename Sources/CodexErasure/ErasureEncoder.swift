import CodexFormats
import CodexStore
import Logging
import Multiformats

/// Protects a plain dataset stored in a block store (`erasure.md` §2.3): the stepped layout, Leopard parity per EC
/// group, a new tree over the coded layout with leaf metadata for every leaf, and the protected manifest.
///
/// Works one EC group at a time (reading the next group while the current one is encoded), so memory stays at
/// about two groups of `K + M` blocks plus a 4 MiB parity write batch, whatever the dataset size. Parity and hashing run on detached tasks, off the
/// caller's task.
public struct ErasureEncoder: Sendable {
  /// Parity bytes collected before one (durable) batch write.
  static let writeBatchBytes = 4 << 20
  public let store: any BlockStore
  let logger: Logger
  /// Threads the codec may use per group (1 = the codec runs single-threaded on a detached task).
  public let concurrency: Int
  /// TTL of stored parity and manifest blocks (nil: the store's default).
  public let blockTTL: Duration?

  public init(store: any BlockStore, logger: Logger, concurrency: Int = 1, blockTTL: Duration? = nil) {
    self.store = store
    self.logger = logger
    self.concurrency = max(1, concurrency)
    self.blockTTL = blockTTL
  }

  /// Erasure-codes the plain dataset `manifest` with `parameters`, stores parity blocks, leaf metadata of the
  /// protected tree (for all leaves, data blocks then count one more reference) and the protected manifest block,
  /// and returns the protected manifest (`treeCid` over the coded layout, `datasetSize = blockSize × total`,
  /// `originalTreeCid`/`originalDatasetSize` from `manifest`, filename and mimetype kept).
  /// - Throws: `ErasureCodingError.alreadyProtected`, `.datasetTooSmall` (fewer than `K` blocks),
  ///   `.missingBlock` when a block of the plain dataset is not in the store, `.invalidBlock`, `.codec`; store
  ///   errors (e.g. `StoreError.quotaExceeded`) unchanged. On failure the parity blocks stored so far are removed
  ///   again (those that nothing references).
  public func encode(_ manifest: Manifest, parameters: ErasureParameters) async throws -> Manifest {
    guard !manifest.isProtected else { throw ErasureCodingError.alreadyProtected }
    let k = parameters.dataShards
    let m = parameters.parityShards
    let blocks = manifest.blocksCount
    guard blocks >= k else {
      throw ErasureCodingError.datasetTooSmall(
        blocks: blocks, minimumBytes: SteppedLayout.minimumDatasetSize(dataShards: k, blockSize: manifest.blockSize))
    }
    let layout: SteppedLayout
    do {
      layout = try SteppedLayout(originalBlocks: blocks, dataShards: k, parityShards: m)
    } catch { throw ErasureCodingError.invalidParameters(error.description) }
    logger.info(
      "erasure: protecting dataset",
      metadata: [
        "tree": "\(manifest.treeCid)", "blocks": "\(blocks)", "K": "\(k)", "M": "\(m)", "steps": "\(layout.steps)",
      ])
    let leaves = try await encodeLayout(
      originalTree: manifest.treeCid, blockSize: manifest.blockSize, layout: layout)
    let tree = try await ErasureStoreAccess.tree(of: leaves)
    let treeCid = tree.rootCid
    try await ErasureStoreAccess.putLeaves(
      tree: treeCid, codexTree: tree, cids: leaves, indices: 0..<layout.total, in: store)
    let protected = Manifest(
      treeCid: treeCid, datasetSize: UInt64(manifest.blockSize) * UInt64(layout.total),
      blockSize: manifest.blockSize, codec: manifest.codec, hcodec: manifest.hcodec, version: manifest.version,
      filename: manifest.filename, mimetype: manifest.mimetype,
      erasure: Manifest.ErasureInfo(
        ecK: k, ecM: m, originalTreeCid: manifest.treeCid, originalDatasetSize: manifest.datasetSize,
        strategy: .stepped))
    try await store.putBlock(protected.block, ttl: blockTTL)
    // The original blocks may be much older than the manifest: they now live at least as long as it.
    if let expiring = store as? any ExpiringBlocks {
      try await expiring.extendExpiry(tree: treeCid, count: layout.total, ttl: blockTTL)
    }
    logger.info(
      "erasure: dataset protected", metadata: ["manifest": "\(protected.cid)", "tree": "\(treeCid)"])
    return protected
  }

  /// Computes and stores the parity of every group of `layout` over the dataset tree `originalTree`; returns the
  /// `total` leaf CIDs of the protected tree (original, empty CID for padding, parity). Stores no leaf metadata.
  /// On failure the parity blocks it stored are deleted again where nothing references them.
  func encodeLayout(originalTree: Cid, blockSize: Int, layout: SteppedLayout) async throws -> [Cid] {
    let codec: LeopardCodec
    do {
      codec = try LeopardCodec(dataShards: layout.dataShards, parityShards: layout.parityShards)
    } catch { throw ErasureCodingError.codec(error) }
    guard blockSize > 0, blockSize % 64 == 0 else { throw ErasureCodingError.codec(.invalidShardSize(blockSize)) }
    var leaves = [Cid](repeating: Codex.emptyBlockCid, count: layout.total)
    var stored: [Cid] = []
    var unwritten: [Block] = []
    let store = self.store
    let concurrency = self.concurrency
    var next: Task<[Block?], any Error>? = Task {
      try await Self.readGroup(step: 0, tree: originalTree, blockSize: blockSize, layout: layout, store: store)
    }
    do {
      for step in 0..<layout.steps {
        let group = try await next!.value
        next =
          step + 1 < layout.steps
          ? Task {
            try await Self.readGroup(
              step: step + 1, tree: originalTree, blockSize: blockSize, layout: layout, store: store)
          } : nil
        let data = try layout.dataIndices(step: step)
        for (pos, idx) in data.enumerated() where idx < layout.originalBlocks { leaves[idx] = group[pos]!.cid }
        let zero = ErasureStoreAccess.zeros(blockSize)
        let shards = group.map { $0.map(\.data) ?? zero }
        let parity = try await Task.detached(priority: .userInitiated) { () throws(ErasureError) -> [Block] in
          try codec.encode(shards, concurrency: concurrency).map { Block(data: $0) }
        }.value
        for (j, block) in parity.enumerated() {
          leaves[try layout.parityIndex(step: step, parity: j)] = block.cid
        }
        // Parity is written in batches: one durable write per ~4 MiB instead of one per group.
        unwritten += parity
        if unwritten.count * blockSize >= Self.writeBatchBytes {
          stored += unwritten.map(\.cid)
          try await ErasureStoreAccess.putBlocks(unwritten, in: store, ttl: blockTTL)
          unwritten.removeAll(keepingCapacity: true)
        }
      }
      stored += unwritten.map(\.cid)
      try await ErasureStoreAccess.putBlocks(unwritten, in: store, ttl: blockTTL)
    } catch {
      next?.cancel()
      for cid in Set(stored) { try? await store.deleteBlock(cid) }
      if let e = error as? ErasureError { throw ErasureCodingError.codec(e) }
      throw error
    }
    return leaves
  }

  /// The `K` data blocks of group `step` in position order, read concurrently; nil for padding positions.
  static func readGroup(
    step: Int, tree: Cid, blockSize: Int, layout: SteppedLayout, store: any BlockStore
  ) async throws -> [Block?] {
    let indices = try layout.dataIndices(step: step)
    return try await withThrowingTaskGroup(of: (Int, Block).self) { group in
      for (pos, idx) in indices.enumerated() where idx < layout.originalBlocks {
        group.addTask {
          guard
            let block = try await ErasureStoreAccess.fetch(tree: tree, index: idx, blockSize: blockSize, from: store)
          else { throw ErasureCodingError.missingBlock(tree: tree, index: idx) }
          return (pos, block)
        }
      }
      var out = [Block?](repeating: nil, count: indices.count)
      for try await (pos, block) in group { out[pos] = block }
      return out
    }
  }
}
