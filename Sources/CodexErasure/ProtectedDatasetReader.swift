import CodexFormats
import CodexStore
import Logging
import Multiformats

/// Streams the original bytes of a protected dataset (`erasure.md` §2.6): leaves `0 ..< originalBlocksCount` of
/// the protected tree, truncated to `originalDatasetSize`. A block that is not available is recovered on the way
/// from its EC group (and stored, with the group's other recovered blocks, so later reads find them).
///
/// A read of the whole dataset also checks every block it sent against `originalTreeCid` at the end and throws
/// `ErasureCodingError.verificationFailed` when they do not match (the HTTP layer then aborts the response).
public struct ProtectedDatasetReader: Sendable {
  public let manifest: Manifest
  let decoder: ErasureDecoder
  let layout: SteppedLayout
  let info: Manifest.ErasureInfo

  /// - Throws: `ErasureCodingError.notProtected` / `.invalidManifest` for manifests it cannot read.
  public init(manifest: Manifest, store: any BlockStore, logger: Logger, concurrency: Int = 1)
    throws(ErasureCodingError)
  {
    (layout, info) = try ErasureStoreAccess.layout(of: manifest)
    self.manifest = manifest
    self.decoder = ErasureDecoder(store: store, logger: logger, concurrency: concurrency)
  }

  /// The number of bytes the reader yields for the whole dataset: `originalDatasetSize`.
  public var contentLength: UInt64 { info.originalDatasetSize }

  /// Sends bytes `range` (within `0 ..< originalDatasetSize`) of the original dataset to `sink`, block by block,
  /// reading one block ahead.
  /// - Throws: `ErasureCodingError.unrecoverable` when a missing block cannot be recovered, `.invalidManifest`
  ///   for a range outside the dataset, `.verificationFailed` (whole-dataset reads only); whatever `sink` throws.
  public func read(range: Range<UInt64>, sink: (ArraySlice<UInt8>) async throws -> Void) async throws {
    guard !range.isEmpty else { return }
    guard range.upperBound <= info.originalDatasetSize else {
      throw ErasureCodingError.invalidManifest(
        "range \(range) is outside the dataset of \(info.originalDatasetSize) bytes")
    }
    let bs = UInt64(manifest.blockSize)
    let first = Int(range.lowerBound / bs)
    let last = min(Int((range.upperBound - 1) / bs), layout.originalBlocks - 1)
    let whole = range.lowerBound == 0 && range.upperBound == info.originalDatasetSize
    var cids: [Cid] = []
    if whole { cids.reserveCapacity(layout.originalBlocks) }
    // Blocks recovered ahead of the read position: index → CID (the bytes are in the store).
    var recoveredAhead: [Int: Cid] = [:]
    let store = decoder.store
    let tree = manifest.treeCid
    let blockSize = manifest.blockSize
    func load(_ i: Int) async -> Block? {
      try? await ErasureStoreAccess.fetch(tree: tree, index: i, blockSize: blockSize, from: store)
    }
    var next: Task<Block?, Never>? = Task { await load(first) }
    for i in first...last {
      var block = await next!.value
      next = i < last ? Task { await load(i + 1) } : nil
      if block == nil, let cid = recoveredAhead.removeValue(forKey: i) {
        block = try await store.getBlock(cid)
      }
      if block == nil { block = try await recover(index: i, upTo: last, ahead: &recoveredAhead) }
      guard let block else { throw ErasureCodingError.missingBlock(tree: tree, index: i) }
      if whole { cids.append(block.cid) }
      let blockStart = UInt64(i) * bs
      let lo = Int(max(range.lowerBound, blockStart) - blockStart)
      let hi = Int(min(range.upperBound, blockStart + UInt64(block.data.count)) - blockStart)
      if lo < hi { try await sink(block.data[lo..<hi]) }
    }
    if whole {
      let root = try await ErasureStoreAccess.tree(of: cids).rootCid
      guard root == info.originalTreeCid else {
        throw ErasureCodingError.verificationFailed(
          "original tree root is \(root), manifest says \(info.originalTreeCid)")
      }
    }
  }

  /// Recovers the group of leaf `index`, stores its recovered blocks and returns the block at `index`; the other
  /// recovered blocks between `index` and `last` are remembered in `ahead`.
  private func recover(index: Int, upTo last: Int, ahead: inout [Int: Cid]) async throws -> Block? {
    let (step, _) = try layout.locate(index)
    let group = try await decoder.recoverGroup(
      tree: manifest.treeCid, blockSize: manifest.blockSize, layout: layout, step: step)
    let fresh = group.recovered.map { group.blocks[$0]! }
    try await ErasureStoreAccess.putBlocks(fresh, in: decoder.store, ttl: decoder.blockTTL)
    var found: Block?
    for (pos, idx) in group.indices.enumerated() {
      guard let block = group.blocks[pos] else { continue }
      if idx == index {
        found = block
      } else if idx > index, idx <= last, group.recovered.contains(pos) {
        ahead[idx] = block.cid
      }
    }
    return found
  }
}
