import CodexFormats
import CodexStore
import Foundation
import Logging
import Metrics
import Multiformats

/// One upload in progress: bytes in, a plain manifest CID out (`formats.md` §3 upload pipeline).
///
/// Received bytes are copied once, straight into a page-aligned batch of 128 blocks of 64 KiB (a `BlockBatch`;
/// the last block zero-padded). A full batch is handed to a task that hashes its blocks on every core and then,
/// in upload order, stores it with one `pwritev` (bypassing the page cache) and one transaction, while the next
/// batch is being received: the network read, SHA-256 and the disk overlap (and one batch's write with the next
/// one's, see `RepoStore.storeLeafBatch`). Up to `maxInflight` batches are in flight and the batches are reused
/// once the store released them, so memory stays at about `maxBatches` × 8 MiB whatever the size, and all uploads
/// together hold at most the node's `UploadBatchBudget` of them; an upload that finds it spent waits up to a second
/// for one and then fills two small batches of 1 MiB instead.
/// Leaf digests go to the session's temporary file; the tree and the proofs are computed from it at `finish()`.
/// Nothing becomes visible until `finish()` commits leaves and manifest in one transaction; `abort()` (or a
/// crash) leaves no trace.
///
/// Use from one task at a time.
public final class DatasetUpload {
  static let batchBlocks = 128
  /// Two batches in flight (hashing, waiting to be stored) keep the disk and both cores busy: three gave the same
  /// MB/s in alternated 1 GiB runs (median 862 vs 861) and 8 MiB more peak RSS.
  static let maxInflight = 2
  /// Batches an upload allocates at most: the in-flight ones, the one being filled, and one the store may still be
  /// writing after its task ended.
  static let maxBatches = maxInflight + 2
  /// Blocks of the small batches (1 MiB) an upload fills while the node's `UploadBatchBudget` is spent; it holds at
  /// most `maxSmallBatches` of them (one being filled, one being hashed and stored) and moves to a full batch as soon
  /// as the budget has one. When the budget's small limit is spent too, its small batches hold one block.
  static let smallBatchBlocks = 16
  static let maxSmallBatches = 2
  /// How long an upload that finds the budget spent waits for a full-size batch before it goes on with small ones.
  static let budgetWait: Duration = .seconds(1)

  private let session: UploadSession
  /// The node-wide batch budget this upload's `allocated` batches count against.
  private let budget: UploadBatchBudget
  private let logger: Logger
  private let filename: String?
  private let mimetype: String?
  /// Told when the upload starts and when it ends (`finish()` succeeded, `abort()`, or dropped unfinished).
  private let memory: MemoryReclaimer
  private var memoryReleased = false
  /// The quota this upload promised itself at the start (uploads of a declared size), ended with it.
  private let promise: UploadPromise?
  /// The batch being filled.
  private var current: BlockBatch?
  /// Batches to reuse, oldest first (the store may still hold the last ones: `BlockBatch.released()`).
  private var spare: [BlockBatch] = []
  /// Full-size batches allocated so far (each counts against `budget`).
  private var allocated = 0
  /// Small batches allocated so far (outside the full-size budget).
  private var smallAllocated = 0
  /// Of `smallAllocated`, those taken from the budget's small limit (the others hold one block).
  private var smallFromBudget = 0
  /// Counted in `budget.starved`: running on small batches.
  private var starved = false
  private var inflight: [(task: Task<Void, any Error>, batch: BlockBatch)] = []
  private var finished = false
  /// The number of bytes received so far.
  public private(set) var byteCount: UInt64 = 0
  /// The stored manifest, once `finish()` succeeded.
  public private(set) var manifest: Manifest?

  init(
    session: UploadSession, filename: String?, mimetype: String?, memory: MemoryReclaimer, budget: UploadBatchBudget,
    promise: UploadPromise? = nil, logger: Logger
  ) {
    self.session = session
    self.promise = promise
    let blockSize = UInt64(Codex.defaultBlockSize)
    promise?.track { [weak session] in UInt64(session?.leafCount ?? 0) * blockSize }
    self.budget = budget
    self.filename = filename
    self.mimetype = mimetype
    self.memory = memory
    self.logger = logger
    memory.begin()
  }

  /// The quota an upload of `size` bytes takes at most: its blocks (the last one zero-padded), the manifest aside.
  /// Saturates at `UInt64.max` (a `Content-Length` near 2^64 rounded up overflowed and stopped the node).
  public static func quotaBytes(forSize size: UInt64) -> UInt64 {
    let bs = UInt64(Codex.defaultBlockSize)
    let (blocks, rest) = size.quotientAndRemainder(dividingBy: bs)
    let whole = blocks * bs  // at most `size`
    guard rest != 0 else { return whole }
    let (padded, overflow) = whole.addingReportingOverflow(bs)
    return overflow ? .max : padded
  }

  deinit { releaseMemory() }

  /// Ends this upload's part in `memory` and its quota promise, and gives its batches back to the budget (once; also
  /// when it is dropped unfinished).
  private func releaseMemory() {
    promise?.end()
    budget.release(allocated)
    allocated = 0
    budget.releaseSmall(smallFromBudget)
    smallFromBudget = 0
    setStarved(false)
    guard !memoryReleased else { return }
    memoryReleased = true
    memory.end()
  }

  /// Adds bytes to the dataset. Contiguous collections (arrays, NIO buffer views) are copied straight into the
  /// batch buffer.
  /// - Throws: `NodeError.quotaExceeded` when the repo is full (call `abort()` then).
  public func write(_ bytes: some Collection<UInt8>) async throws {
    let total = bytes.count
    guard total > 0 else { return }
    var offset = 0
    while offset < total {
      let batch = try await fillingBatch()
      guard
        let taken = bytes.withContiguousStorageIfAvailable({ buffer in
          batch.append(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: buffer[offset...])))
        })
      else {
        try await write(Array(bytes.dropFirst(offset)))
        return
      }
      offset += taken
      byteCount += UInt64(taken)
      if batch.isFull { try await flush() }
    }
  }

  /// Stores the last block, the leaf metadata and the manifest; returns the manifest CID.
  /// - Throws: `NodeError.emptyUpload` for zero bytes; storage errors. Call `abort()` after a failure.
  public func finish() async throws -> Cid {
    guard byteCount > 0 else { throw NodeError.emptyUpload }
    let finishStart = ContinuousClock.now
    current?.padLastBlock()
    try await flush()
    try await drain()
    do { try await session.flush() } catch { throw NodeError.wrap(error) }
    let drained = ContinuousClock.now
    let session = self.session
    let size = byteCount
    let (filename, mimetype) = (self.filename, self.mimetype)
    let manifest: Manifest
    let blocks = session.leafCount
    do {
      // Building the tree hashes every node: CPU work, off the caller's task.
      let treeCid = try await Task.detached(priority: .userInitiated) { try session.buildTree() }.value
      manifest = Manifest(treeCid: treeCid, datasetSize: size, filename: filename, mimetype: mimetype)
      try await session.commit(manifest: manifest.block)
    } catch { throw NodeError.wrap(error) }
    finished = true
    self.manifest = manifest
    spare.removeAll()
    current = nil
    releaseMemory()
    let cid = manifest.cid
    Counter(label: "codex_uploads_total").increment()
    Counter(label: "codex_upload_bytes_total").increment(by: Int64(size))
    logger.info(
      "upload stored",
      metadata: [
        "cid": "\(cid)", "bytes": "\(size)", "blocks": "\(blocks)",
        "drainSeconds": "\(Self.seconds(drained - finishStart))",
        "commitSeconds": "\(Self.seconds(ContinuousClock.now - drained))",
      ])
    return cid
  }

  private static func seconds(_ d: Duration) -> String {
    String(format: "%.3f", Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18)
  }

  /// Abandons the upload and removes the blocks it added that nothing else uses.
  public func abort() async {
    guard !finished else { return }
    finished = true
    for (task, _) in inflight { _ = try? await task.value }
    inflight.removeAll()
    spare.removeAll()
    current = nil
    await session.abort()
    releaseMemory()
  }

  /// The batch to copy received bytes into: the current one, a free spare one (full-size first), a new one, or the
  /// oldest spare once the store released it.
  /// Full-size batches count against the node's `budget` and are only taken while it has room (more than one only
  /// while no upload is starved). Without one, the upload fills small batches of its own after `budgetWait`; it
  /// never waits longer for other uploads, however slowly they send.
  private func fillingBatch() async throws -> BlockBatch {
    if let current { return current }
    var batch: BlockBatch
    while true {
      if allocated == 0, acquireFirstBatch() {
        // Small spares the store is done with go; ones still being written are dropped when they come back.
        spare.removeAll { $0.capacity < Self.batchBlocks && !$0.isHeld }
        batch = BlockBatch(capacity: Self.batchBlocks)
        break
      }
      let free = spare.indices.filter { !spare[$0].isHeld }
      if let best = free.max(by: { spare[$0].capacity < spare[$1].capacity }) {
        batch = spare.remove(at: best)
        break
      }
      if allocated == 0 {
        if !starved {
          setStarved(true)
          // Batches come back as other uploads finish (a burst of uploads takes turns in well under a second), so
          // wait a little for one: an upload running on small batches reads its body as fast as one with a full
          // batch, with the connection's receive buffers full (up to ten socket reads, see the API's
          // `ReceiveBudget`), where a waiting one holds them nearly empty. Uploads that hold batches and stopped
          // sending only delay this one by `budgetWait`.
          if try await waitForFirstBatch() {
            batch = BlockBatch(capacity: Self.batchBlocks)
            break
          }
        }
        if smallAllocated < Self.maxSmallBatches {
          smallAllocated += 1
          // Small batches count against the node's small budget too; without room there, one block at a time, so
          // hundreds of uploads that stalled do not hold a MiB or two each.
          if budget.tryAcquireSmall() {
            smallFromBudget += 1
            batch = BlockBatch(capacity: Self.smallBatchBlocks)
          } else {
            batch = BlockBatch(capacity: 1)
          }
          break
        }
      } else if allocated < Self.maxBatches, budget.tryAcquire() {
        allocated += 1
        batch = BlockBatch(capacity: Self.batchBlocks)
        break
      }
      if !spare.isEmpty {
        batch = spare.removeFirst()
        // The store keeps an upload's last stored batch until its next writer turn (see `addLeaves`); with no other
        // batch to fill meanwhile (one full-size batch and no room in the budget), this upload must make that turn
        // itself, or it would wait for other uploads' writes, for ever if they stopped sending.
        if batch.isHeld {
          do { try await session.flush() } catch { throw NodeError.wrap(error) }
        }
        await batch.released()
        break
      }
      // Every batch of this upload is in flight: wait for the oldest to be stored.
      try await drainOne()
    }
    batch.reset()
    current = batch
    return batch
  }

  /// Polls the budget for a first full-size batch for up to `budgetWait`; true once one is taken.
  private func waitForFirstBatch() async throws -> Bool {
    let deadline = ContinuousClock.now.advanced(by: Self.budgetWait)
    while ContinuousClock.now < deadline {
      try await Task.sleep(for: .milliseconds(20))
      if acquireFirstBatch() { return true }
    }
    return false
  }

  /// Takes a first full-size batch from the budget if it has room (then the upload is no longer starved).
  private func acquireFirstBatch() -> Bool {
    guard budget.tryAcquireFirst() else { return false }
    allocated = 1
    setStarved(false)
    return true
  }

  /// Enters or leaves the starved state, keeping `budget.starved` in step.
  private func setStarved(_ value: Bool) {
    guard starved != value else { return }
    starved = value
    budget.setStarved(value)
  }

  /// Hands the current batch to a task that hashes it (on every core) and then stores it, in upload order, after
  /// the previous batch. At most `maxInflight` batches are in flight.
  private func flush() async throws {
    guard let batch = current, !batch.isEmpty else { return }
    current = nil
    let session = self.session
    let previous = inflight.last?.task
    let task = Task<Void, any Error>.detached {
      await batch.hashAll()
      if let previous { try await previous.value }
      do { try await session.addLeaves(batch) } catch { throw NodeError.wrap(error) }
    }
    inflight.append((task, batch))
    while inflight.count > Self.maxInflight { try await drainOne() }
  }

  private func drainOne() async throws {
    let (task, batch) = inflight.removeFirst()
    try await task.value
    // A small batch is not reused once the upload has a full-size one.
    if batch.capacity == Self.batchBlocks || allocated == 0 { spare.append(batch) }
  }

  private func drain() async throws {
    while !inflight.isEmpty { try await drainOne() }
  }
}
