import CodexFormats
import CodexStore
import Multiformats

/// A store that can write many blocks and leaves with one sync and one transaction. `RepoStore` is one; the
/// engine falls back to one `putBlock`/`putLeaf` per block for other stores.
public protocol BatchBlockStore: BlockStore {
  /// Stores several blocks (same rules as `putBlock`, all or nothing, one durable write).
  func putBlocks(_ blocks: [Block], ttl: Duration?) async throws
  /// Stores the blocks of leaves and records the leaves (same rules as `putBlocks` then `putLeaves`, all or
  /// nothing, one durable write and one transaction).
  func putLeafBlocks(_ leaves: [(tree: Cid, index: Int, block: Block, proof: CodexProof)], ttl: Duration?) async throws
}

extension RepoStore: BatchBlockStore {}

/// Writes accepted deliveries to the store in batches (group commit): whatever arrived while the previous batch
/// was being written goes out in the next one, so one sync covers many blocks instead of one each.
///
/// Memory is bounded: `submit` returns once the deliveries are queued, but waits first while more than
/// `maxQueuedBytes` are queued (this back-pressures the stream the deliveries came on). Every submitted delivery
/// is reported to the engine's `stored(_:error:)` exactly once, with the error if its batch failed.
actor DeliveryWriter {
  let store: any BlockStore
  let maxQueuedBytes: Int
  let maxBatchBytes: Int
  private weak var engine: BlockExchangeEngine?
  private var queue: [BlockDelivery] = []
  private var queuedBytes = 0
  private var draining = false
  private var spaceWaiters: [CheckedContinuation<Void, Never>] = []

  init(store: any BlockStore, maxQueuedBytes: Int, maxBatchBytes: Int) {
    self.store = store
    self.maxQueuedBytes = max(1, maxQueuedBytes)
    self.maxBatchBytes = max(1, maxBatchBytes)
  }

  /// Queues `deliveries` for writing (`engine` hears when they are stored); waits while the queue is over its byte
  /// limit.
  func submit(_ deliveries: [BlockDelivery], for engine: BlockExchangeEngine) async {
    guard !deliveries.isEmpty else { return }
    self.engine = engine
    while queuedBytes >= maxQueuedBytes {
      await withCheckedContinuation { spaceWaiters.append($0) }
    }
    queue.append(contentsOf: deliveries)
    queuedBytes += deliveries.reduce(0) { $0 + $1.block.data.count }
    if !draining {
      draining = true
      Task { await self.drain() }
    }
  }

  private func drain() async {
    while !queue.isEmpty {
      var take = 0
      var bytes = 0
      while take < queue.count && (take == 0 || bytes + queue[take].block.data.count <= maxBatchBytes) {
        bytes += queue[take].block.data.count
        take += 1
      }
      let batch = Array(queue.prefix(take))
      queue.removeFirst(take)
      var failure: (any Error)? = nil
      do {
        try await Self.write(batch, to: store)
      } catch {
        failure = error
      }
      queuedBytes -= bytes
      let waiters = spaceWaiters
      spaceWaiters = []
      for w in waiters { w.resume() }
      await engine?.stored(batch, error: failure)
    }
    draining = false
  }

  /// Leaf deliveries with their blocks in one durable write and one transaction; plain blocks in another.
  static func write(_ batch: [BlockDelivery], to store: any BlockStore) async throws {
    if let batchStore = store as? any BatchBlockStore {
      var leaves: [(tree: Cid, index: Int, block: Block, proof: CodexProof)] = []
      var blocks: [Block] = []
      for d in batch {
        if case .leaf(let tree, let index) = d.address, let proof = d.proof {
          leaves.append((tree, index, d.block, proof))
        } else {
          blocks.append(d.block)
        }
      }
      if !blocks.isEmpty { try await batchStore.putBlocks(blocks, ttl: nil) }
      if !leaves.isEmpty { try await batchStore.putLeafBlocks(leaves, ttl: nil) }
    } else {
      for d in batch {
        try await store.putBlock(d.block, ttl: nil)
        if case .leaf(let tree, let index) = d.address, let proof = d.proof {
          try await store.putLeaf(tree: tree, index: index, blockCid: d.block.cid, proof: proof)
        }
      }
    }
  }
}
