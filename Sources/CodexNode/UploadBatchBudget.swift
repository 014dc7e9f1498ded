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
public final class UploadBatchBudget: Sendable {
  private struct State {
    var held = 0
    var starved = 0
  }

  private let state = Mutex(State())
  /// Batches all uploads may hold together.
  public let limit: Int

  public init(limit: Int) {
    self.limit = max(1, limit)
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
