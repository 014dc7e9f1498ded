import Synchronization

/// The upload batches (8 MiB each, see `DatasetUpload`) all uploads together may hold, so concurrent uploads
/// cannot take the node's memory with them.
///
/// One upload uses up to `DatasetUpload.maxBatches` (4) for throughput; without a node-wide limit 30 concurrent
/// uploads of 32 MiB held ~960 MiB (measured peak RSS 1.15 GB). An upload waits for its first batch, in arrival
/// order, while the budget is spent; one that has a batch only takes more when the budget has room and nobody waits
/// for a first one, and otherwise reuses its own (uploading more slowly, never stopping).
public final class UploadBatchBudget: Sendable {
  private struct State {
    var held = 0
    var waiting: [CheckedContinuation<Void, Never>] = []
  }

  private let state = Mutex(State())
  /// Batches all uploads may hold together.
  public let limit: Int

  public init(limit: Int) {
    self.limit = max(1, limit)
  }

  /// Batches held now.
  public var held: Int { state.withLock { $0.held } }

  /// Uploads waiting for a first batch now.
  public var waiting: Int { state.withLock { $0.waiting.count } }

  /// A first batch for an upload: returns at once while the budget has room, else when a batch is given back
  /// (first come, first served).
  func acquireFirst() async {
    await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
      let granted = state.withLock { s -> Bool in
        guard s.held < limit, s.waiting.isEmpty else {
          s.waiting.append(c)
          return false
        }
        s.held += 1
        return true
      }
      if granted { c.resume() }
    }
  }

  /// One more batch for an upload that has some, if the budget has room and no upload waits for a first one.
  func tryAcquire() -> Bool {
    state.withLock { s in
      guard s.held < limit, s.waiting.isEmpty else { return false }
      s.held += 1
      return true
    }
  }

  /// Gives `count` batches back, handing them to uploads waiting for a first one.
  func release(_ count: Int) {
    guard count > 0 else { return }
    let woken = state.withLock { s -> [CheckedContinuation<Void, Never>] in
      s.held -= count
      var out: [CheckedContinuation<Void, Never>] = []
      while s.held < limit, !s.waiting.isEmpty {
        s.held += 1
        out.append(s.waiting.removeFirst())
      }
      return out
    }
    for c in woken { c.resume() }
  }
}
