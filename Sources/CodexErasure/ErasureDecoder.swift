import CodexFormats
import CodexStore
import Logging
import Multiformats

/// Decodes and repairs protected datasets through any block store (`erasure.md` §2.4, §2.5): per EC group it asks
/// for the group's blocks concurrently (data positions first, parity when a data block is missing or when no block
/// arrived within `hedgeDelay`, at most `maxParallelFetches` at once), stops as soon as any `K` of the group's
/// `K + M` blocks are at hand (cancelling the other requests), recovers the missing data blocks with Leopard and
/// stores them.
///
/// Every block read is checked against the protected tree with its proof; recovered blocks are checked by
/// rebuilding the original tree and comparing its root with `originalTreeCid` (and, in `repair`, by re-encoding
/// and comparing the protected root). `ProtectedDatasetReader` also checks each recovered block against the
/// protected tree. Works one group at a time.
public struct ErasureDecoder: Sendable {
  public let store: any BlockStore
  let logger: Logger
  /// Threads the codec may use per group.
  public let concurrency: Int
  /// TTL of recovered blocks (nil: the store's default).
  public let blockTTL: Duration?
  /// How long a group's first requests may go without any block arriving before further blocks (parity) are asked
  /// for too.
  public let hedgeDelay: Duration
  /// The most block requests of one group in flight at once.
  public let maxParallelFetches: Int

  public init(
    store: any BlockStore, logger: Logger, concurrency: Int = 1, blockTTL: Duration? = nil,
    hedgeDelay: Duration = .seconds(2), maxParallelFetches: Int = 16
  ) {
    self.store = store
    self.logger = logger
    self.concurrency = max(1, concurrency)
    self.blockTTL = blockTTL
    self.hedgeDelay = hedgeDelay
    self.maxParallelFetches = max(1, maxParallelFetches)
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
    /// Blocks read from the store in this recovery with their checked proofs (data and parity).
    let fetched: [(index: Int, block: Block, proof: CodexProof)]
    /// Leaves asked for that were absent or unusable.
    let failed: Set<Int>
  }

  /// Reads, and where needed recovers, the data blocks of group `step` of the protected dataset `manifest`.
  /// Recovered blocks are returned, not stored.
  /// - Throws: `ErasureCodingError.unrecoverable` when fewer than `K` blocks of the group are available,
  ///   `.notProtected`/`.invalidManifest` for unusable manifests, `.codec`.
  public func recoverGroup(_ manifest: Manifest, step: Int) async throws -> Group {
    let (layout, _) = try ErasureStoreAccess.layout(of: manifest)
    return try await recoverGroup(tree: manifest.treeCid, blockSize: manifest.blockSize, layout: layout, step: step)
  }

  /// What one request of the group race gave.
  private enum Arrival: Sendable {
    case block(index: Int, block: Block, proof: CodexProof)
    case failed(index: Int)
    case hedge
  }

  /// Recovers group `step`.
  /// - Parameters:
  ///   - have: leaves already at hand (index → block), not asked for again.
  ///   - missing: leaves known to be unavailable in this read, never asked for.
  ///   - slow: leaves that did not arrive in time before; asked for only after every other leaf of the group.
  func recoverGroup(
    tree: Cid, blockSize: Int, layout: SteppedLayout, step: Int, have: [Int: Block] = [:],
    missing: Set<Int> = [], slow: Set<Int> = []
  ) async throws -> Group {
    let k = layout.dataShards
    let m = layout.parityShards
    let indices = try layout.dataIndices(step: step)
    let parityIndices = try (0..<m).map { j throws(LayoutError) in try layout.parityIndex(step: step, parity: j) }
    let store = self.store
    let logger = self.logger
    // Blocks at hand: padding (known zero, never read) and `have`.
    var data = [Block?](repeating: nil, count: k)
    var parity = [[UInt8]?](repeating: nil, count: m)
    var inHand = 0
    var candidates: [Int] = []
    var late: [Int] = []
    for (pos, idx) in indices.enumerated() {
      if idx >= layout.originalBlocks {
        inHand += 1
      } else if let b = have[idx] {
        data[pos] = b
        inHand += 1
      } else if !missing.contains(idx) {
        if slow.contains(idx) { late.append(idx) } else { candidates.append(idx) }
      }
    }
    for idx in parityIndices where !missing.contains(idx) {
      if let b = have[idx] {
        parity[parityIndices.firstIndex(of: idx)!] = b.data
        inHand += 1
      } else if slow.contains(idx) {
        late.append(idx)
      } else {
        candidates.append(idx)
      }
    }
    candidates += late
    let dataPos = Dictionary(uniqueKeysWithValues: indices.enumerated().map { ($0.element, $0.offset) })
    let parityPos = Dictionary(uniqueKeysWithValues: parityIndices.enumerated().map { ($0.element, $0.offset) })
    var fetched: [(index: Int, block: Block, proof: CodexProof)] = []
    var failed: Set<Int> = []
    var reachable = inHand
    let allData = { data.enumerated().allSatisfy { $0.element != nil || indices[$0.offset] >= layout.originalBlocks } }
    // The race: data positions first, more (parity) on failures and after `hedgeDelay` of silence; stop at K.
    if inHand < k && !allData() {
      let hedgeDelay = self.hedgeDelay
      let limit = maxParallelFetches
      await withTaskGroup(of: Arrival.self) { group in
        var next = 0
        var inFlight = 0
        var done = false
        func launch(_ count: Int) {
          var n = count
          while !done, n > 0, next < candidates.count, inFlight < limit {
            let idx = candidates[next]
            next += 1
            inFlight += 1
            n -= 1
            group.addTask {
              if let (block, proof) = await Self.tryFetch(tree, idx, blockSize, store, logger) {
                return .block(index: idx, block: block, proof: proof)
              }
              return .failed(index: idx)
            }
          }
        }
        // Ask for as many as are needed, and at least every missing data position (parity is only worth asking
        // for when data is missing).
        let dataWanted = candidates.prefix { dataPos[$0] != nil }.count
        launch(max(k - inHand, dataWanted))
        group.addTask {
          try? await Task.sleep(for: hedgeDelay)
          return .hedge
        }
        // Stops the race once K are at hand, or once K can no longer be reached (`reachable` then says how many
        // blocks could have been had at most).
        func finished() -> Bool {
          let possible = inHand + inFlight + (candidates.count - next)
          if inHand >= k || allData() || possible < k || inFlight == 0 {
            reachable = possible
            return true
          }
          return false
        }
        if finished() {
          done = true
          group.cancelAll()
        }
        while let arrival = await group.next() {
          if done { continue }  // cancelled requests draining
          switch arrival {
          case .hedge:
            launch(limit)
          case .failed(let idx):
            inFlight -= 1
            failed.insert(idx)
            launch(1)
          case .block(let idx, let block, let proof):
            inFlight -= 1
            fetched.append((idx, block, proof))
            if let pos = dataPos[idx] {
              data[pos] = block
            } else if let j = parityPos[idx] {
              parity[j] = block.data
            }
            inHand += 1
          }
          if finished() {
            done = true
            group.cancelAll()
          }
        }
      }
      try Task.checkCancellation()
    }
    if allData() {
      return Group(step: step, indices: indices, blocks: data, recovered: [], fetched: fetched, failed: failed)
    }
    guard inHand >= k else {
      throw ErasureCodingError.unrecoverable(step: step, available: max(inHand, reachable), required: k)
    }
    // Leopard decode of the missing data positions, and their CIDs, off the caller's task.
    let zero = ErasureStoreAccess.zeros(blockSize)
    let shards: [[UInt8]?] = (0..<k).map { pos in
      indices[pos] >= layout.originalBlocks ? zero : data[pos]?.data
    }
    let wanted = (0..<k).filter { indices[$0] < layout.originalBlocks && data[$0] == nil }
    // Leopard wants exactly the parity it needs or more; unneeded parity is harmless.
    let codec: LeopardCodec
    do {
      codec = try LeopardCodec(dataShards: k, parityShards: m)
    } catch { throw ErasureCodingError.codec(error) }
    let concurrency = self.concurrency
    let recovered = try await Task.detached(priority: .userInitiated) { () throws(ErasureError) -> [Block] in
      let all = try codec.decode(data: shards, parity: parity, concurrency: concurrency)
      return wanted.map { Block(data: all[$0]) }
    }.value
    for (pos, block) in zip(wanted, recovered) { data[pos] = block }
    logger.debug(
      "erasure: recovered blocks", metadata: ["step": "\(step)", "indices": "\(wanted.map { indices[$0] })"])
    return Group(step: step, indices: indices, blocks: data, recovered: wanted, fetched: fetched, failed: failed)
  }

  /// Reads a checked block with its proof, or nil when it is absent or unusable (logged).
  static func tryFetch(_ tree: Cid, _ index: Int, _ blockSize: Int, _ store: any BlockStore, _ logger: Logger) async
    -> (Block, CodexProof)?
  {
    do {
      return try await ErasureStoreAccess.fetchWithProof(tree: tree, index: index, blockSize: blockSize, from: store)
    } catch {
      if !(error is CancellationError) && !Task.isCancelled {
        logger.warning(
          "erasure: block unusable", metadata: ["tree": "\(tree)", "index": "\(index)", "why": "\(error)"])
      }
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
