import CodexFormats
import CodexStore
import Logging
import Multiformats

/// Streams the original bytes of a protected dataset (`erasure.md` §2.6): leaves `0 ..< originalBlocksCount` of
/// the protected tree, truncated to `originalDatasetSize`.
///
/// A block that is absent, unusable or not there within `firstTryTimeout` is not waited for any longer: its EC
/// group is recovered at once from whichever `K` of the group's `K + M` blocks arrive first (`ErasureDecoder`),
/// without asking again for leaves already found missing in this read. The group is decoded once; its other
/// recovered blocks are served from that result when the read gets to them. Recovered blocks are stored (when the
/// quota or the disk has no room, they are streamed without being stored), and each one whose proof can be
/// assembled from the proofs seen in this read (`ProofBook`) is checked against the protected tree and, if stored,
/// recorded as its leaf with that proof; a recovered block whose assembled proof does not verify fails the read
/// with `ErasureCodingError.verificationFailed`.
///
/// A read of the whole dataset also checks every block it sent against `originalTreeCid` at the end and throws
/// `ErasureCodingError.verificationFailed` when they do not match (the HTTP layer then aborts the response).
public struct ProtectedDatasetReader: Sendable {
  public let manifest: Manifest
  let decoder: ErasureDecoder
  let layout: SteppedLayout
  let info: Manifest.ErasureInfo
  /// How long the read waits for one block before recovering its group instead (nil: as long as the store takes).
  public let firstTryTimeout: Duration?
  /// How many blocks past the one being sent are asked for at the same time.
  public let readAhead: Int

  /// - Parameters:
  ///   - firstTryTimeout: how long to wait for a block before decoding its group (the block is still one of the
  ///     group's candidates, asked for last).
  ///   - readAhead: blocks asked for ahead of the one being sent.
  ///   - hedgeDelay, maxParallelFetches: see `ErasureDecoder`.
  /// - Throws: `ErasureCodingError.notProtected` / `.invalidManifest` for manifests it cannot read.
  public init(
    manifest: Manifest, store: any BlockStore, logger: Logger, concurrency: Int = 1,
    firstTryTimeout: Duration? = .seconds(5), readAhead: Int = 8, hedgeDelay: Duration = .seconds(2),
    maxParallelFetches: Int = 16
  ) throws(ErasureCodingError) {
    (layout, info) = try ErasureStoreAccess.layout(of: manifest)
    self.manifest = manifest
    self.firstTryTimeout = firstTryTimeout
    self.readAhead = max(0, readAhead)
    self.decoder = ErasureDecoder(
      store: store, logger: logger, concurrency: concurrency, hedgeDelay: hedgeDelay,
      maxParallelFetches: maxParallelFetches)
  }

  /// The number of bytes the reader yields for the whole dataset: `originalDatasetSize`.
  public var contentLength: UInt64 { info.originalDatasetSize }

  /// The outcome of a first try at one block.
  enum FirstTry: Sendable {
    case block(Block, CodexProof)
    /// Absent or unusable.
    case missing
    /// Not there within `firstTryTimeout`.
    case slow
  }

  /// Per-read state.
  struct ReadState {
    /// Leaves found absent or unusable.
    var missing: Set<Int> = []
    /// Leaves that did not arrive within the first-try deadline.
    var slow: Set<Int> = []
    /// Blocks recovered ahead of the read position (at most a group's worth).
    var ahead: [Int: Block] = [:]
    /// Recovered blocks whose proof could not be assembled yet: index → CID, and whether the block is stored (its
    /// leaf is then recorded once the proof checks out).
    var unproven: [Int: (cid: Cid, stored: Bool)] = [:]
    /// Set once the store had no room for recovered blocks (logged once): the read goes on without keeping them.
    var storeFull = false
    var book: ProofBook
  }

  /// Sends bytes `range` (within `0 ..< originalDatasetSize`) of the original dataset to `sink`, block by block,
  /// reading `readAhead` blocks ahead.
  /// - Throws: `ErasureCodingError.unrecoverable` when a missing block cannot be recovered, `.invalidManifest`
  ///   for a range outside the dataset, `.verificationFailed`; whatever `sink` throws.
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
    var state = ReadState(book: ProofBook(tree: manifest.treeCid, leafCount: layout.total))
    let store = decoder.store
    let tree = manifest.treeCid
    let blockSize = manifest.blockSize
    let timeout = firstTryTimeout
    let logger = decoder.logger
    func load(_ i: Int) -> Task<FirstTry, Never> {
      Task { await Self.firstTry(tree: tree, index: i, blockSize: blockSize, store: store, timeout: timeout, logger) }
    }
    // First tries of the blocks `i ... i + readAhead` run concurrently, so that neither a healthy read waits a
    // round trip per block nor a run of missing blocks costs one first-try deadline each.
    var window: [Int: Task<FirstTry, Never>] = [:]
    defer { for task in window.values { task.cancel() } }
    var launched = first
    for i in first...last {
      while launched <= min(last, i + readAhead) {
        if state.ahead[launched] == nil { window[launched] = load(launched) }
        launched += 1
      }
      var block: Block?
      let current = window.removeValue(forKey: i)
      if let recovered = state.ahead.removeValue(forKey: i) {
        current?.cancel()
        block = recovered
      }
      var outcome = FirstTry.missing
      if block == nil, let current { outcome = await current.value }
      switch outcome {
      case .block(let b, let proof) where block == nil:
        block = b
        state.book.add(leaf: b.cid.multihash.digest, proof: proof)
        if !state.unproven.isEmpty { try await proveRecovered(&state) }
      case .slow where block == nil: state.slow.insert(i)
      case .missing where block == nil: state.missing.insert(i)
      default: break
      }
      if block == nil {
        block = try await recover(index: i, upTo: last, state: &state)
        // Blocks the decode just produced need no first try.
        for j in window.keys where state.ahead[j] != nil { window.removeValue(forKey: j)?.cancel() }
      }
      guard let block else { throw ErasureCodingError.missingBlock(tree: tree, index: i) }
      if whole { cids.append(block.cid) }
      let blockStart = UInt64(i) * bs
      let lo = Int(max(range.lowerBound, blockStart) - blockStart)
      let hi = Int(min(range.upperBound, blockStart + UInt64(block.data.count)) - blockStart)
      if lo < hi { try await sink(block.data[lo..<hi]) }
    }
    if !state.unproven.isEmpty {
      logger.debug(
        "erasure: recovered blocks not yet provable against the protected tree",
        metadata: ["tree": "\(tree)", "indices": "\(state.unproven.keys.sorted())"])
    }
    if whole {
      let root = try await ErasureStoreAccess.tree(of: cids).rootCid
      guard root == info.originalTreeCid else {
        throw ErasureCodingError.verificationFailed(
          "original tree root is \(root), manifest says \(info.originalTreeCid)")
      }
    }
  }

  /// One block within `timeout`, with its checked proof.
  static func firstTry(
    tree: Cid, index: Int, blockSize: Int, store: any BlockStore, timeout: Duration?, _ logger: Logger
  ) async -> FirstTry {
    guard let timeout else {
      if let (b, p) = await ErasureDecoder.tryFetch(tree, index, blockSize, store, logger) { return .block(b, p) }
      return .missing
    }
    return await withTaskGroup(of: FirstTry?.self) { group in
      group.addTask {
        if let (b, p) = await ErasureDecoder.tryFetch(tree, index, blockSize, store, logger) { return .block(b, p) }
        return Task.isCancelled ? nil : .missing
      }
      group.addTask {
        do {
          try await Task.sleep(for: timeout)
          return .slow
        } catch { return nil }
      }
      var result = FirstTry.slow
      while let r = await group.next() {
        guard let r else { continue }
        result = r
        break
      }
      group.cancelAll()
      return result
    }
  }

  /// Recovers the group of leaf `index` (every block of it found missing or slow in this read is not waited for
  /// again), stores its recovered blocks (with proofs when they can be checked against the protected tree) and
  /// returns the block at `index`; the group's other recovered blocks between `index` and `last` are remembered in
  /// `state.ahead`.
  private func recover(index: Int, upTo last: Int, state: inout ReadState) async throws -> Block? {
    let (step, _) = try layout.locate(index)
    let group = try await decoder.recoverGroup(
      tree: manifest.treeCid, blockSize: manifest.blockSize, layout: layout, step: step, missing: state.missing,
      slow: state.slow)
    state.missing.formUnion(group.failed)
    for f in group.fetched { state.book.add(leaf: f.block.cid.multihash.digest, proof: f.proof) }
    let fresh = group.recovered.map { group.blocks[$0]! }
    var stored = !state.storeFull
    if stored {
      do {
        try await ErasureStoreAccess.putBlocks(fresh, in: decoder.store, ttl: decoder.blockTTL)
      } catch let e as StoreError where e.isLackOfRoom {
        // The quota or the disk is full: the reader still gets the rebuilt blocks, the repo does not keep them.
        decoder.logger.warning(
          "erasure: no room to keep rebuilt blocks; streaming them without storing", metadata: ["error": "\(e)"])
        state.storeFull = true
        stored = false
      }
    }
    for pos in group.recovered {
      state.unproven[group.indices[pos]] = (group.blocks[pos]!.cid, stored)
    }
    try await proveRecovered(&state)
    var found: Block?
    for (pos, idx) in group.indices.enumerated() {
      guard let block = group.blocks[pos] else { continue }
      if idx == index {
        found = block
      } else if idx > index, idx <= last, group.recovered.contains(pos) {
        state.ahead[idx] = block
      }
    }
    return found
  }

  /// Records, as leaves of the protected tree, the recovered blocks whose proofs can now be assembled.
  /// - Throws: `ErasureCodingError.verificationFailed` when an assembled proof does not verify.
  private func proveRecovered(_ state: inout ReadState) async throws {
    var progress = true
    while progress && !state.unproven.isEmpty {
      progress = false
      for (idx, entry) in state.unproven.sorted(by: { $0.key < $1.key }) {
        var extra = state.unproven.mapValues(\.cid.multihash.digest)
        extra[idx] = nil
        let (cid, stored) = entry
        let digest = cid.multihash.digest
        switch state.book.proof(for: idx, leaf: digest, extra: extra) {
        case nil: continue
        case .failure:
          throw ErasureCodingError.verificationFailed(
            "recovered block \(idx) does not match the protected tree \(manifest.treeCid)")
        case .success(let proof):
          if stored { try await decoder.store.putLeaf(tree: manifest.treeCid, index: idx, blockCid: cid, proof: proof) }
          state.book.add(leaf: digest, proof: proof)
          state.unproven[idx] = nil
          progress = true
        }
      }
    }
  }
}
