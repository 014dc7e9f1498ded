/// A FIFO mutual-exclusion lock for async code (actor methods are reentrant across `await`, this is not).
public actor AsyncLock {
  private var held = false
  private var waiters: [CheckedContinuation<Void, Never>] = []

  public init() {}

  public func acquire() async {
    if !held {
      held = true
      return
    }
    await withCheckedContinuation { waiters.append($0) }
  }

  public func release() {
    if waiters.isEmpty { held = false } else { waiters.removeFirst().resume() }
  }

  /// Runs `body` while holding the lock.
  public func withLock<T: Sendable, E: Error>(_ body: @Sendable () async throws(E) -> T) async throws(E) -> T {
    await acquire()
    defer { release() }
    return try await body()
  }
}
