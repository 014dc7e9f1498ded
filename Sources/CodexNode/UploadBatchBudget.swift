import Synchronization

/// The full-size upload batches (8 MiB each, see `DatasetUpload`) all uploads together may hold, so concurrent
/// uploads cannot take the node's memory with them.
///
/// One upload uses up to `DatasetUpload.maxBatches` (4) for throughput; without a node-wide limit 30 concurrent
/// uploads of 32 MiB held ~960 MiB (measured peak RSS 1.15 GB). An upload takes a first batch while the budget has
/// room; more only when it also has room and no upload is `starved` (running on small batches because the budget
/// was spent when it asked). Nothing waits long for the budget: an upload that finds it spent polls it for up to
/// `DatasetUpload.budgetWait` (1 s; in a burst of uploads batches come back that fast) and then goes on with small
/// batches of its own (`DatasetUpload.smallBatchBlocks`), so uploads that hold batches and send slowly, or stop
/// sending without closing, cannot stall the node's other uploads.
///
/// The small batches (1 MiB) count against a second limit, `smallLimit`: past it an upload fills batches of one
/// block (64 KiB) instead, so the batches of hundreds of uploads that sent a little and stalled hold 64 KiB each
/// rather than 1 or 2 MiB (200 such uploads: node peak RSS 226 MB, 359 MB before).
public final class UploadBatchBudget: Sendable {
  private struct State {
    var held = 0
    var starved = 0
    var smallHeld = 0
  }

  private let state = Mutex(State())
  /// Batches all uploads may hold together.
  public let limit: Int
  /// Small batches all uploads may hold together.
  public let smallLimit: Int

  public init(limit: Int, smallLimit: Int = 32) {
    self.limit = max(1, limit)
    self.smallLimit = max(0, smallLimit)
  }

  /// Small batches held now.
  public var smallHeld: Int { state.withLock { $0.smallHeld } }

  /// A small batch, if the small budget has room.
  func tryAcquireSmall() -> Bool {
    state.withLock { s in
      guard s.smallHeld < smallLimit else { return false }
      s.smallHeld += 1
      return true
    }
  }

  /// Gives `count` small batches back.
  func releaseSmall(_ count: Int) {
    guard count > 0 else { return }
    state.withLock { $0.smallHeld -= count }
  }

  /// Batches held now.
  public var held: Int { state.withLock { $0.held } }

  /// Uploads running on small batches now, for want of a first batch from the budget.
  public var starved: Int { state.withLock { $0.starved } }

  /// A first batch for an upload that holds none, if the budget has room.
  func tryAcquireFirst() -> Bool {
    state.withLock { s in
      guard s.held < limit else { return false }
      s.held += 1
      return true
    }
  }

  /// One more batch for an upload that has some, if the budget has room and no upload is starved.
  func tryAcquire() -> Bool {
    state.withLock { s in
      guard s.held < limit, s.starved == 0 else { return false }
      s.held += 1
      return true
    }
  }

  /// Gives `count` batches back.
  func release(_ count: Int) {
    guard count > 0 else { return }
    state.withLock { $0.held -= count }
  }

  /// An upload starts (`true`) or stops (`false`) running on small batches.
  func setStarved(_ starved: Bool) {
    state.withLock { $0.starved += starved ? 1 : -1 }
  }
}
