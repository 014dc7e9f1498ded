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

/// A batch store that can overlap one batch's disk write with the previous batch's rows (`RepoStore`): the engine
/// then keeps the disk busy while a download is bound by it.
public protocol PipelinedLeafStore: BatchBlockStore {
  /// Starts storing leaves (as `putLeafBlocks`); the ticket ends when their rows are committed or failed.
  func startLeafBlocks(_ leaves: [(tree: Cid, index: Int, block: Block, proof: CodexProof)], ttl: Duration?)
    async throws -> StoreTicket
  /// Completes the write started last, if it is still running.
  func settleLeafBlocks() async
}

extension RepoStore: BatchBlockStore, PipelinedLeafStore {}

/// Writes accepted deliveries to the store in batches (group commit): whatever arrived while the previous batch
/// was being written goes out in the next one, so one sync covers many blocks instead of one each. With a
/// `PipelinedLeafStore`, a batch of leaves is reported stored when its rows are committed, which the next batch's
/// start does while that batch's bytes go to the disk.
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

  typealias Leaf = (tree: Cid, index: Int, block: Block, proof: CodexProof)

  /// A batch whose rows are still being stored (`PipelinedLeafStore`).
  private struct InFlight {
    let batch: [BlockDelivery]
    let bytes: Int
    let ticket: StoreTicket
  }

  private func drain() async {
    // With a pipelined store, batch N+1's bytes are written while batch N's rows are inserted: batch N is reported
    // once batch N+1 started (or, when nothing else is queued, once it is settled).
    var inFlight: InFlight?
    while !queue.isEmpty {
      var take = 0
      var bytes = 0
      while take < queue.count && (take == 0 || bytes + queue[take].block.data.count <= maxBatchBytes) {
        bytes += queue[take].block.data.count
        take += 1
      }
      let batch = Array(queue.prefix(take))
      queue.removeFirst(take)
      if let pipelined = store as? any PipelinedLeafStore, let leaves = Self.leavesOnly(batch) {
        do {
          let ticket = try await pipelined.startLeafBlocks(leaves, ttl: nil)
          if let previous = inFlight { await finish(previous) }
          inFlight = InFlight(batch: batch, bytes: bytes, ticket: ticket)
        } catch {
          // Refused before writing; the write before it was completed in the same turn.
          if let previous = inFlight { await finish(previous) }
          inFlight = nil
          await report(batch, bytes: bytes, error: error)
        }
        if queue.isEmpty, let last = inFlight {
          await pipelined.settleLeafBlocks()
          await finish(last)
          inFlight = nil
        }
        continue
      }
      if let previous = inFlight {
        await (store as? any PipelinedLeafStore)?.settleLeafBlocks()
        await finish(previous)
        inFlight = nil
      }
      var failure: (any Error)? = nil
      do {
        try await Self.write(batch, to: store)
      } catch {
        failure = error
      }
      await report(batch, bytes: bytes, error: failure)
    }
    draining = false
  }

  /// Waits for a pipelined batch's rows and reports it.
  private func finish(_ f: InFlight) async {
    var failure: (any Error)? = nil
    do { try await f.ticket.wait() } catch { failure = error }
    await report(f.batch, bytes: f.bytes, error: failure)
  }

  /// Frees a written batch's place in the queue and tells the engine.
  private func report(_ batch: [BlockDelivery], bytes: Int, error: (any Error)?) async {
    queuedBytes -= bytes
    let waiters = spaceWaiters
    spaceWaiters = []
    for w in waiters { w.resume() }
    await engine?.stored(batch, error: error)
  }

  /// The batch as leaves with their proofs, or nil when it holds a plain-CID delivery.
  private static func leavesOnly(_ batch: [BlockDelivery]) -> [Leaf]? {
    var leaves: [Leaf] = []
    leaves.reserveCapacity(batch.count)
    for d in batch {
      guard case .leaf(let tree, let index) = d.address, let proof = d.proof else { return nil }
      leaves.append((tree, index, d.block, proof))
    }
    return leaves
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
