import CodexFormats
import CodexStore
import Logging
import Multiformats

/// Builds verifiable manifests from protected datasets held in a `BlockStore` (nim-codex `Poseidon2Builder` with
/// the store): reads every block of the protected tree, hashes it into its block digest on a `ComputePool`
/// (several blocks at once, across cores), builds the slot trees (Linear strategy, zero-block padding to a power
/// of two), the verify tree, stores slot-tree leaf metadata and the verifiable manifest block.
///
/// All hashing runs on `pool`, never on the caller's executor, so REST handlers and block exchange stay responsive.
public struct VerifiableBuilder: Sendable {
  /// Where the protected dataset is read from and the leaf metadata and manifest are written to.
  public let store: any BlockStore
  /// Where block digests are computed.
  public let pool: ComputePool
  public let logger: Logger
  /// Blocks read and hashed at the same time (bounds memory to `window × blockSize`).
  public let window: Int
  /// TTL of the stored manifest block (nil: the store's default).
  public let blockTTL: Duration?

  public init(
    store: any BlockStore, pool: ComputePool, logger: Logger, window: Int? = nil, blockTTL: Duration? = nil
  ) {
    self.store = store
    self.pool = pool
    self.logger = logger
    self.window = max(1, window ?? pool.threads * 4)
    self.blockTTL = blockTTL
  }

  /// The slot layout of a protected manifest (its own `cellSize` when already verifiable, else 2048).
  /// - Throws: `VerifiableError.notProtected`, `.invalidManifest` (fails `Manifest.verify()`, or the dataset size
  ///   is not whole blocks), `.invalidLayout`.
  public static func layout(of manifest: Manifest) throws(VerifiableError) -> SlotLayout {
    guard let erasure = manifest.erasure else { throw .notProtected }
    do { try manifest.verify() } catch { throw .invalidManifest(error.description) }
    guard erasure.ecM > 0 else { throw .invalidManifest("ecM must be positive, got \(erasure.ecM)") }
    guard manifest.blockSize > 0, manifest.datasetSize % UInt64(manifest.blockSize) == 0 else {
      throw .invalidManifest(
        "protected dataset size \(manifest.datasetSize) is not a whole number of \(manifest.blockSize)-byte blocks")
    }
    let cellSize = erasure.verification?.cellSize ?? BlockDigest.defaultCellSize
    do {
      return try SlotLayout(
        blocksCount: manifest.blocksCount, numSlots: erasure.ecK + erasure.ecM, blockSize: manifest.blockSize,
        cellSize: cellSize)
    } catch { throw .invalidLayout(error) }
  }

  /// The verifiable manifest of `manifest` (a protected manifest): also stores the slot-tree leaf metadata and
  /// the manifest block. For an already verifiable manifest the slots are rebuilt and must give its verify root;
  /// the same manifest is returned.
  /// - Throws: `VerifiableError` (see `layout(of:)`, `.missingBlock`, `.invalidBlock`, `.verifyRootMismatch`);
  ///   store errors unchanged.
  public func build(_ manifest: Manifest) async throws -> Manifest {
    let layout = try Self.layout(of: manifest)
    let clock = ContinuousClock()
    let start = clock.now
    logger.info(
      "slots: building verifiable manifest",
      metadata: [
        "tree": "\(manifest.treeCid)", "slots": "\(layout.numSlots)", "blocksPerSlot": "\(layout.numSlotBlocks)",
        "padBlocks": "\(layout.numPadSlotBlocks)", "threads": "\(pool.threads)",
      ])
    let trees = try await slotTrees(manifest, layout: layout)
    let slotRoots = trees.map(\.root)
    let verifyRoot = try await pool.run { () throws(MerkleError) in
      try SlotBuilder.verifyTree(slotRoots: slotRoots).root
    }
    let verifyCid = SlotCids.verifyRootCid(verifyRoot)
    if let existing = manifest.erasure?.verification {
      guard existing.verifyRoot == verifyCid else {
        throw VerifiableError.verifyRootMismatch(expected: existing.verifyRoot, actual: verifyCid)
      }
      try await storeLeafMetadata(trees)
      return manifest
    }
    try await storeLeafMetadata(trees)
    var verifiable = manifest
    verifiable.erasure?.verification = Manifest.VerificationInfo(
      verifyRoot: verifyCid, slotRoots: slotRoots.map(SlotCids.slotRootCid), cellSize: layout.cellSize,
      strategy: .linear)
    try await store.putBlock(verifiable.block, ttl: blockTTL)
    // The dataset's blocks live at least as long as the new manifest.
    if let expiring = store as? any ExpiringBlocks {
      try await expiring.extendExpiry(tree: manifest.treeCid, count: manifest.blocksCount, ttl: blockTTL)
    }
    let elapsed = clock.now - start
    logger.info(
      "slots: verifiable manifest stored",
      metadata: [
        "manifest": "\(verifiable.cid)", "verifyRoot": "\(verifyCid)",
        "elapsed": "\(elapsed)",
      ])
    return verifiable
  }

  /// The slot trees of every slot, in slot order.
  public func slotTrees(_ manifest: Manifest) async throws -> [Poseidon2Tree] {
    try await slotTrees(manifest, layout: Self.layout(of: manifest))
  }

  /// Rebuilds slot `slot` from the store (the host's check): the root of its slot tree.
  /// - Throws: `VerifiableError` as for `build`, `.invalidLayout(.slotOutOfRange)`.
  public func rebuildSlotRoot(_ manifest: Manifest, slot: Int) async throws -> Fr {
    let layout = try Self.layout(of: manifest)
    let indices: Range<Int>
    do { indices = try layout.blockIndices(slot: slot) } catch { throw VerifiableError.invalidLayout(error) }
    let digests = try await blockDigests(tree: manifest.treeCid, indices: indices, layout: layout)
    return try await pool.run { () throws -> Fr in try SlotBuilder.slotTree(blockDigests: digests, layout: layout).root
    }
  }

  /// Checks that slot `slot` rebuilt from the store has the verifiable manifest's slot root, and that the slot
  /// root is leaf `slot` of its verify tree.
  /// - Throws: `VerifiableError.slotRootMismatch`, `.invalidRoot`, `.notProtected` / `.invalidManifest` when the
  ///   manifest is not verifiable, and the errors of `rebuildSlotRoot`.
  public func verifySlot(_ manifest: Manifest, slot: Int) async throws {
    guard let verification = manifest.erasure?.verification else {
      throw VerifiableError.invalidManifest("the manifest is not verifiable")
    }
    let layout = try Self.layout(of: manifest)
    guard slot >= 0, slot < verification.slotRoots.count else {
      throw VerifiableError.invalidLayout(.slotOutOfRange(slot: slot, slots: layout.numSlots))
    }
    let roots: [Fr]
    do {
      roots = try verification.slotRoots.map { cid throws(SlotCidError) in try SlotCids.slotRoot(of: cid) }
      let verifyRoot = try SlotCids.verifyRoot(of: verification.verifyRoot)
      guard try SlotBuilder.verifyTree(slotRoots: roots).root == verifyRoot else {
        throw VerifiableError.invalidRoot("the slot roots do not hash to the verify root")
      }
    } catch let error as SlotCidError {
      throw VerifiableError.invalidRoot(error.description)
    }
    let rebuilt = try await rebuildSlotRoot(manifest, slot: slot)
    guard rebuilt == roots[slot] else {
      throw VerifiableError.slotRootMismatch(
        slot: slot, expected: verification.slotRoots[slot], actual: SlotCids.slotRootCid(rebuilt))
    }
  }

  // MARK: internals

  func slotTrees(_ manifest: Manifest, layout: SlotLayout) async throws -> [Poseidon2Tree] {
    let digests = try await blockDigests(tree: manifest.treeCid, indices: 0..<layout.blocksCount, layout: layout)
    var trees: [Poseidon2Tree] = []
    trees.reserveCapacity(layout.numSlots)
    for slot in 0..<layout.numSlots {
      let range = try layout.blockIndices(slot: slot)
      let slice = Array(digests[range])
      trees.append(
        try await pool.run { () throws -> Poseidon2Tree in try SlotBuilder.slotTree(blockDigests: slice, layout: layout)
        })
    }
    return trees
  }

  /// Block digests of the protected-tree leaves `indices` (in order), at most `window` blocks in flight.
  func blockDigests(tree: Cid, indices: Range<Int>, layout: SlotLayout) async throws -> [Fr] {
    let blockSize = layout.blockSize
    let cellSize = layout.cellSize
    let zero = try await pool.run { () throws(MerkleError) in
      try SlotBuilder.zeroBlockDigest(blockSize: blockSize, cellSize: cellSize)
    }
    let store = self.store
    let pool = self.pool
    var out = [Fr](repeating: .zero, count: indices.count)
    try await withThrowingTaskGroup(of: (Int, Fr).self) { group in
      var next = indices.lowerBound
      func submit() {
        let index = next
        next += 1
        group.addTask {
          guard let bytes = try await Self.blockBytes(tree: tree, index: index, store: store) else {
            throw VerifiableError.missingBlock(tree: tree, index: index)
          }
          if bytes.isEmpty { return (index, zero) }
          guard bytes.count == blockSize else {
            throw VerifiableError.invalidBlock(tree: tree, index: index, size: bytes.count, expected: blockSize)
          }
          let digest = try await pool.run { () throws(MerkleError) in
            try BlockDigest.digest(block: bytes, cellSize: cellSize)
          }
          return (index, digest)
        }
      }
      while next < indices.upperBound && next - indices.lowerBound < window { submit() }
      while let (index, digest) = try await group.next() {
        out[index - indices.lowerBound] = digest
        if next < indices.upperBound { submit() }
      }
    }
    return out
  }

  /// The bytes of leaf `index`; `[]` for an empty-CID (padding) leaf, nil when absent.
  static func blockBytes(tree: Cid, index: Int, store: any BlockStore) async throws -> [UInt8]? {
    if let repo = store as? RepoStore { return try await repo.blockData(tree: tree, index: index) }
    guard let (block, _) = try await store.getBlock(tree: tree, index: index) else { return nil }
    return Codex.isEmpty(block.cid) ? [] : block.data
  }

  /// Stores `(slotRootCid, i) → (cellCid(leaf_i), proof_i)` for every leaf of every slot tree.
  func storeLeafMetadata(_ trees: [Poseidon2Tree]) async throws {
    for tree in trees {
      let rootCid = SlotCids.slotRootCid(tree.root)
      let leaves = try await pool.run { () throws(MerkleError) -> [(index: Int, blockCid: Cid, proof: CodexProof)] in
        var out: [(index: Int, blockCid: Cid, proof: CodexProof)] = []
        out.reserveCapacity(tree.leafCount)
        for i in 0..<tree.leafCount {
          out.append((i, SlotCids.cellCid(tree.leaves[i]), try tree.proof(index: i).codexProof))
        }
        return out
      }
      if let repo = store as? RepoStore {
        try await repo.putLeaves(tree: rootCid, leaves: leaves)
      } else {
        for leaf in leaves {
          try await store.putLeaf(tree: rootCid, index: leaf.index, blockCid: leaf.blockCid, proof: leaf.proof)
        }
      }
    }
  }
}
