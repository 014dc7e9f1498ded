import CodexFormats
import CodexStore
import Multiformats

/// A `BlockStore` that reads the local store and fetches what is missing through the block exchange
/// (nim-codex `NetworkStore`). Fetched blocks and their leaf proofs are written to the local store by the engine
/// before they are returned; when the store has no room for them (quota, disk) reads still return them, while
/// `fetchDataset` fails.
///
/// `hasBlock` answers for the local store only. Writes go to the local store and tell the engine, so peers waiting
/// for those blocks get served.
public final class NetworkStore: BlockStore {
  /// The local store.
  public let local: any BlockStore
  /// The engine that fetches missing blocks.
  public let engine: BlockExchangeEngine
  /// How long one block may take to arrive before reads fail with `ExchangeError.timeout` (nil: only the engine's
  /// retry budget bounds it).
  public let blockTimeout: Duration?

  /// Default prefetch window (blocks requested ahead of the reader): 256 × 64 KiB keeps 16 MiB in flight, enough
  /// to hide round trips and spread requests over several peers, while bounding memory.
  public static let defaultWindow = 256

  /// How many free window slots a reader waits for before requesting more blocks: refilling in chunks (not one
  /// block at a time) batches want-lists and lets a seeder answer with full messages of up to 20 blocks.
  public static func refillChunk(window: Int) -> Int { max(1, min(64, window / 4)) }

  public init(local: any BlockStore, engine: BlockExchangeEngine, blockTimeout: Duration? = .seconds(300)) {
    self.local = local
    self.engine = engine
    self.blockTimeout = blockTimeout
  }

  public func getBlock(_ cid: Cid) async throws -> Block? {
    if let b = try await local.getBlock(cid) { return b }
    return try await engine.requestBlock(.cid(cid), timeout: blockTimeout).block
  }

  public func getBlock(tree treeCid: Cid, index: Int) async throws -> (block: Block, proof: CodexProof)? {
    if let found = try await local.getBlock(tree: treeCid, index: index) { return found }
    let fetched = try await engine.requestBlock(.leaf(treeCid: treeCid, index: index), timeout: blockTimeout)
    guard let proof = fetched.proof else { return nil }
    return (fetched.block, proof)
  }

  /// Leaf `index` of `treeCid` from the network, without looking in the local store first: for callers that just
  /// did (a block stored in between is fetched again, which is harmless).
  public func fetchBlock(tree treeCid: Cid, index: Int) async throws -> (block: Block, proof: CodexProof)? {
    let fetched = try await engine.requestBlock(.leaf(treeCid: treeCid, index: index), timeout: blockTimeout)
    guard let proof = fetched.proof else { return nil }
    return (fetched.block, proof)
  }

  /// Fetches leaf `index` of `treeCid` into the local store.
  /// - Throws: `ExchangeError.storeFailed` when the block arrived but the store had no room for it.
  func fetchIntoStore(tree treeCid: Cid, index: Int) async throws {
    let address = BlockAddress.leaf(treeCid: treeCid, index: index)
    let fetched = try await engine.requestBlock(address, timeout: blockTimeout)
    if let why = fetched.notStored { throw ExchangeError.storeFailed(address, why) }
  }

  public func hasBlock(_ cid: Cid) async throws -> Bool { try await local.hasBlock(cid) }

  public func hasBlock(tree treeCid: Cid, index: Int) async throws -> Bool {
    try await local.hasBlock(tree: treeCid, index: index)
  }

  public func putBlock(_ block: Block, ttl: Duration?) async throws {
    try await local.putBlock(block, ttl: ttl)
    await engine.blocksStored([.cid(block.cid)])
  }

  public func putLeaf(tree treeCid: Cid, index: Int, blockCid: Cid, proof: CodexProof) async throws {
    try await local.putLeaf(tree: treeCid, index: index, blockCid: blockCid, proof: proof)
    await engine.blocksStored([.leaf(treeCid: treeCid, index: index)])
  }

  public func deleteBlock(_ cid: Cid) async throws { try await local.deleteBlock(cid) }

  // MARK: streaming

  /// The blocks `indices` of the tree `treeCid`, in order, fetched with up to `window` requests in flight
  /// (spread over every peer that has the dataset). Local blocks are read locally. Memory is bounded by `window`
  /// blocks; fetching stops when the sequence is dropped.
  public func blocks(tree treeCid: Cid, indices: Range<Int>, window: Int = defaultWindow) -> OrderedBlockSequence {
    OrderedBlockSequence(store: self, tree: treeCid, indices: indices, window: max(1, window))
  }

  /// The bytes of a dataset, block by block in order, the last block cut to `datasetSize` (plain manifests;
  /// for a protected manifest this yields the whole encoded dataset).
  public func bytes(of manifest: Manifest, window: Int = defaultWindow) -> AsyncThrowingStream<[UInt8], any Error> {
    let seq = blocks(tree: manifest.treeCid, indices: 0..<manifest.blocksCount, window: window)
    let total = manifest.datasetSize
    let blockSize = UInt64(manifest.blockSize)
    return AsyncThrowingStream { continuation in
      let task = Task {
        do {
          var offset: UInt64 = 0
          for try await block in seq {
            let remaining = total - offset
            var data = block.data
            if data.isEmpty { data = [UInt8](repeating: 0, count: Int(min(blockSize, remaining))) }
            if UInt64(data.count) > remaining { data = Array(data.prefix(Int(remaining))) }
            offset += UInt64(data.count)
            continuation.yield(data)
            if offset >= total { break }
          }
          continuation.finish()
        } catch {
          continuation.finish(throwing: error)
        }
      }
      continuation.onTermination = { _ in task.cancel() }
    }
  }

  /// Downloads every block of `manifest`'s tree into the local store (`POST /data/{cid}/network`), with up to
  /// `window` blocks checked or fetched at a time (the local check and the fetches overlap). `progress` is called
  /// (on the calling task) each time one more block is local, with whether it had to be fetched.
  ///
  /// Without `unavailable`, the first block no peer delivers (`ExchangeError.timeout` / `.retriesExhausted`) ends
  /// the download with that error. With it, such blocks are reported to it (on the calling task) and the download
  /// goes on with the others: for a protected dataset, whose lost blocks can be rebuilt afterwards.
  /// - Returns: the number of blocks that were not local before and were fetched.
  @discardableResult
  public func fetchDataset(
    _ manifest: Manifest, window: Int = defaultWindow, progress: (_ fetched: Bool) -> Void = { _ in },
    unavailable: ((_ index: Int, _ error: ExchangeError) -> Void)? = nil
  ) async throws -> Int {
    enum Outcome: Sendable {
      case local
      case fetched
      case unavailable(Int, ExchangeError)
    }
    let tree = manifest.treeCid
    let n = manifest.blocksCount
    let local = self.local
    let tolerant = unavailable != nil
    return try await withThrowingTaskGroup(of: Outcome.self) { group in
      var fetched = 0
      var next = 0
      var running = 0
      let window = max(1, window)
      let chunk = Self.refillChunk(window: window)
      while next < n || running > 0 {
        // Refill in chunks (batched want-lists, full delivery messages), never past the window.
        if running <= window - chunk {
          while next < n && running < window {
            let i = next
            group.addTask {
              if try await local.hasBlock(tree: tree, index: i) { return .local }
              do {
                try await self.fetchIntoStore(tree: tree, index: i)
              } catch let e as ExchangeError where tolerant {
                switch e {
                case .timeout, .retriesExhausted: return .unavailable(i, e)
                default: throw e
                }
              }
              return .fetched
            }
            next += 1
            running += 1
          }
        }
        switch try await group.next()! {
        case .local: progress(false)
        case .fetched:
          fetched += 1
          progress(true)
        case .unavailable(let i, let e): unavailable?(i, e)
        }
        running -= 1
      }
      return fetched
    }
  }

  /// Fetches and decodes a manifest by its CID (local first).
  /// - Throws: `FormatError` when the block is not a manifest, `ExchangeError` when it cannot be fetched.
  public func manifest(_ cid: Cid) async throws -> Manifest {
    guard let block = try await getBlock(cid) else { throw ExchangeError.timeout(.cid(cid), .zero, connectedPeers: 0) }
    return try Manifest(block: block)
  }
}

/// Blocks of a tree in index order with a bounded prefetch window; see `NetworkStore.blocks(tree:indices:window:)`.
public struct OrderedBlockSequence: AsyncSequence, Sendable {
  public typealias Element = Block
  let store: NetworkStore
  let tree: Cid
  let indices: Range<Int>
  let window: Int

  public func makeAsyncIterator() -> Iterator {
    Iterator(fetcher: Fetcher(store: store, tree: tree, indices: indices, window: window))
  }

  public struct Iterator: AsyncIteratorProtocol {
    let fetcher: Fetcher
    public mutating func next() async throws -> Block? { try await fetcher.next() }
  }

  /// Owns the in-flight fetch tasks; cancels them when the iterator goes away.
  final class Fetcher: @unchecked Sendable {
    let store: NetworkStore
    let tree: Cid
    let indices: Range<Int>
    let window: Int
    var cursor: Int
    var launched: Int
    var tasks: [Int: Task<Block, any Error>] = [:]

    init(store: NetworkStore, tree: Cid, indices: Range<Int>, window: Int) {
      self.store = store
      self.tree = tree
      self.indices = indices
      self.window = window
      cursor = indices.lowerBound
      launched = indices.lowerBound
    }

    deinit { for t in tasks.values { t.cancel() } }

    func next() async throws -> Block? {
      guard cursor < indices.upperBound else { return nil }
      let refill = launched - cursor <= window - NetworkStore.refillChunk(window: window)
      while refill && launched < indices.upperBound && launched < cursor + window {
        let i = launched
        let store = self.store
        let tree = self.tree
        tasks[i] = Task {
          guard let found = try await store.getBlock(tree: tree, index: i) else {
            throw ExchangeError.retriesExhausted(.leaf(treeCid: tree, index: i), 0)
          }
          return found.block
        }
        launched += 1
      }
      let task = tasks.removeValue(forKey: cursor)!
      do {
        let block = try await withTaskCancellationHandler {
          try await task.value
        } onCancel: {
          task.cancel()
        }
        cursor += 1
        return block
      } catch {
        for t in tasks.values { t.cancel() }
        tasks = [:]
        cursor = indices.upperBound
        throw error
      }
    }
  }
}
