#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A writer-preferring reader/writer lock (pthread). Many readers hold it at once; a writer waits for them to
/// leave and, while waiting, keeps new readers out so a steady stream of downloads cannot starve it.
final class ReadWriteLock: @unchecked Sendable {
  private let lock: UnsafeMutablePointer<pthread_rwlock_t>

  init() {
    lock = .allocate(capacity: 1)
    var attr = pthread_rwlockattr_t()
    pthread_rwlockattr_init(&attr)
    #if canImport(Glibc)
      pthread_rwlockattr_setkind_np(&attr, Int32(PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP))
    #endif
    let rc = pthread_rwlock_init(lock, &attr)
    precondition(rc == 0, "pthread_rwlock_init failed: \(rc)")
    pthread_rwlockattr_destroy(&attr)
  }

  deinit {
    pthread_rwlock_destroy(lock)
    lock.deallocate()
  }

  /// Runs `body` holding the lock shared. Do not suspend or take the write lock inside.
  func withReadLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
    pthread_rwlock_rdlock(lock)
    defer { pthread_rwlock_unlock(lock) }
    return try body()
  }

  /// Runs `body` holding the lock exclusively.
  func withWriteLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
    pthread_rwlock_wrlock(lock)
    defer { pthread_rwlock_unlock(lock) }
    return try body()
  }
}
