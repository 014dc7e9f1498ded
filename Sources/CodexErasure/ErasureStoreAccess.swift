import CodexFormats
import CodexStore
import Multiformats

/// A block store that can record many leaves of one tree in one call (the repo does it in one transaction).
/// Stores without it get one `putLeaf` per leaf.
public protocol BatchLeafStore: BlockStore {
  /// Records several leaves of one tree, with `putLeaf`'s rules for each.
  func putLeaves(tree treeCid: Cid, leaves: [(index: Int, blockCid: Cid, proof: CodexProof)]) async throws
  /// Stores several blocks, with `putBlock`'s rules for each.
  func putBlocks(_ blocks: [Block], ttl: Duration?) async throws
}

extension RepoStore: BatchLeafStore {}

/// Block-store access shared by the encoder, decoder and reader.
enum ErasureStoreAccess {
  /// Leaves written per call.
  static let leafBatch = 4096

  /// Stores `blocks` (one call when the store batches).
  static func putBlocks(_ blocks: [Block], in store: any BlockStore, ttl: Duration?) async throws {
    guard !blocks.isEmpty else { return }
    if let batch = store as? any BatchLeafStore {
      try await batch.putBlocks(blocks, ttl: ttl)
    } else {
      for block in blocks { try await store.putBlock(block, ttl: ttl) }
    }
  }

  /// Records leaves `indices` of `tree` (whose leaf CIDs are `cids`, indexed by leaf) with proofs from `codexTree`,
  /// in batches.
  static func putLeaves(
    tree: Cid, codexTree: CodexTree, cids: [Cid], indices: some Sequence<Int>, in store: any BlockStore
  ) async throws {
    var batch: [(index: Int, blockCid: Cid, proof: CodexProof)] = []
    batch.reserveCapacity(leafBatch)
    func flush() async throws {
      guard !batch.isEmpty else { return }
      if let batched = store as? any BatchLeafStore {
        try await batched.putLeaves(tree: tree, leaves: batch)
      } else {
        for leaf in batch {
          try await store.putLeaf(tree: tree, index: leaf.index, blockCid: leaf.blockCid, proof: leaf.proof)
        }
      }
      batch.removeAll(keepingCapacity: true)
    }
    for i in indices {
      batch.append((i, cids[i], try codexTree.proof(for: i)))
      if batch.count == leafBatch { try await flush() }
    }
    try await flush()
  }

  /// Builds the SHA-256 tree over the digests of `cids` off the caller's task.
  static func tree(of cids: [Cid]) async throws -> CodexTree {
    try await Task.detached(priority: .userInitiated) { () throws(FormatError) -> CodexTree in
      var flat: [UInt8] = []
      flat.reserveCapacity(cids.count * 32)
      for cid in cids { flat += cid.multihash.digest }
      return try CodexTree(flatLeaves: flat)
    }.value
  }

  /// Reads leaf `index` of `tree` and checks it: the proof must place the block's CID at `index` under `tree`'s
  /// root, and the bytes must be one block (`blockSize`) or the empty block (returned as zeros).
  /// - Returns: nil when the store does not have it.
  static func fetch(tree: Cid, index: Int, blockSize: Int, from store: any BlockStore) async throws -> Block? {
    try await fetchWithProof(tree: tree, index: index, blockSize: blockSize, from: store)?.0
  }

  /// `fetch`, also returning the checked proof.
  static func fetchWithProof(tree: Cid, index: Int, blockSize: Int, from store: any BlockStore) async throws -> (
    Block, CodexProof
  )? {
    guard let (block, proof) = try await store.getBlock(tree: tree, index: index) else { return nil }
    guard proof.index == index, proof.verify(leaf: block.cid.multihash, root: tree.multihash) else {
      throw ErasureCodingError.invalidBlock(tree: tree, index: index, reason: "its proof does not verify")
    }
    if Codex.isEmpty(block.cid) { return (Block(unchecked: block.cid, data: zeros(blockSize)), proof) }
    guard block.data.count == blockSize else {
      throw ErasureCodingError.invalidBlock(
        tree: tree, index: index, reason: "it has \(block.data.count) bytes, expected \(blockSize)")
    }
    return (block, proof)
  }

  /// An all-zero block of `count` bytes.
  static func zeros(_ count: Int) -> [UInt8] { [UInt8](repeating: 0, count: count) }

  /// Checks a protected manifest and returns its layout and parameters.
  static func layout(of manifest: Manifest) throws(ErasureCodingError) -> (SteppedLayout, Manifest.ErasureInfo) {
    guard let info = manifest.erasure else { throw .notProtected }
    guard info.strategy == .stepped else { throw .invalidManifest("only the stepped strategy is supported") }
    guard manifest.blockSize > 0, manifest.blockSize % 64 == 0 else {
      throw .invalidManifest("block size \(manifest.blockSize) is not a positive multiple of 64")
    }
    let layout: SteppedLayout
    do {
      layout = try SteppedLayout(
        originalBlocks: manifest.originalBlocksCount, dataShards: info.ecK, parityShards: info.ecM)
    } catch { throw .invalidManifest(error.description) }
    guard layout.total == manifest.blocksCount else {
      throw .invalidManifest("\(manifest.blocksCount) blocks, but the layout needs \(layout.total)")
    }
    return (layout, info)
  }
}
