import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// Gives the memory the allocator kept after big transfers back to the kernel once the node has been idle for a
/// moment, so a long-running node's resident size returns to its baseline instead of creeping up.
///
/// Why: glibc `malloc` keeps freed memory in its arenas (one per thread that allocated, up to 8 per core), and the
/// node tunes it to keep up to 32 MiB at each arena's top (`MallocTuning`, against page-fault storms during an
/// upload). Measured on a node that did 1 GiB and 2-4 GiB uploads and downloads one after another: the resident size
/// between transfers crept 44 → 116-122 MiB, and the next upload peaked at 148 MiB (155 MB, over the 150 MB budget).
/// `malloc_trim(0)` after the transfers brought 119 MiB back to 90 MiB.
///
/// Transfers (`during(_:)`, or `begin()`/`end()`) may overlap. `trim` runs once the last one ended and none began
/// for `idleDelay`, or, when the next transfer came sooner, as that transfer begins (so its peak starts from the
/// trimmed baseline: measured, a 4 GiB `codex upload` right after a 4 GiB delete peaked at 158 MiB without it).
/// It runs at most once per idle period: transfers that follow each other while another one runs, or that start
/// after a trim, do not pay for it. A trim with little to give back takes well under a millisecond; after a big one
/// the next transfer faults its pages in again (a few milliseconds per GiB transferred).
public final class MemoryReclaimer: Sendable {
  private struct State {
    var active = 0
    /// Bumped by every begin and by every end that left the node idle; a scheduled trim runs only if it is unchanged.
    var generation = 0
    var trims = 0
    /// A transfer ended since the last trim.
    var untrimmed = false
    /// When the last trim ran.
    var lastTrim: ContinuousClock.Instant?
  }

  private let state = Mutex(State())
  /// How long the node must stay idle before `trim` runs.
  public let idleDelay: Duration
  /// A transfer beginning trims only when no trim ran for this long: a trim with little to give back still costs
  /// ~0.1-0.2 ms, measured as +3-7% on back-to-back 1 KB upload and download requests when every one trimmed.
  public let minBeginTrimInterval: Duration
  private let trim: @Sendable () -> Void
  private let logger: Logger

  /// - Parameters:
  ///   - idleDelay: idle time after the last transfer before trimming.
  ///   - minBeginTrimInterval: a beginning transfer trims only if no trim ran for this long.
  ///   - trim: what gives memory back (default: `MemoryReclaimer.mallocTrim`); tests pass a counter.
  public init(
    idleDelay: Duration = .seconds(2), minBeginTrimInterval: Duration = .seconds(1), logger: Logger,
    trim: @escaping @Sendable () -> Void = MemoryReclaimer.mallocTrim
  ) {
    self.idleDelay = idleDelay
    self.minBeginTrimInterval = minBeginTrimInterval
    self.trim = trim
    self.logger = logger
  }

  /// The number of times `trim` ran.
  public var trimCount: Int { state.withLock { $0.trims } }

  /// Transfers running now.
  public var activeCount: Int { state.withLock { $0.active } }

  /// A transfer starts. Pair every call with one `end()`. When the node was idle, no trim ran since the last
  /// transfer ended and none for `minBeginTrimInterval`, trims first (on the caller's thread).
  public func begin() {
    let now = ContinuousClock.now
    let trimFirst = state.withLock { s -> Bool in
      let first =
        s.active == 0 && s.untrimmed && s.lastTrim.map { now - $0 >= minBeginTrimInterval } ?? true
      s.active += 1
      s.generation += 1
      if first {
        s.untrimmed = false
        s.trims += 1
        s.lastTrim = now
      }
      return first
    }
    if trimFirst { runTrim(reason: "a transfer begins") }
  }

  /// A transfer ended; when it was the last one, `trim` is scheduled for `idleDelay` from now.
  public func end() {
    let generation = state.withLock { s -> Int? in
      precondition(s.active > 0, "MemoryReclaimer.end() without begin()")
      s.active -= 1
      guard s.active == 0 else { return nil }
      s.generation += 1
      s.untrimmed = true
      return s.generation
    }
    guard let generation else { return }
    let delay = idleDelay
    Task.detached(priority: .background) { [self] in
      try? await Task.sleep(for: delay)
      let idle = state.withLock { s -> Bool in
        guard s.active == 0, s.generation == generation, s.untrimmed else { return false }
        s.untrimmed = false
        s.trims += 1
        s.lastTrim = ContinuousClock.now
        return true
      }
      if idle { runTrim(reason: "idle") }
    }
  }

  private func runTrim(reason: String) {
    // Reading the resident size costs two file reads: only when someone reads the debug line.
    guard logger.logLevel <= .debug else { return trim() }
    let before = Self.residentBytes()
    let start = ContinuousClock.now
    trim()
    let took = ContinuousClock.now - start
    logger.debug(
      "returned free memory to the system",
      metadata: [
        "reason": "\(reason)", "rssBefore": "\(before.map(String.init) ?? "?")",
        "rssAfter": "\(Self.residentBytes().map(String.init) ?? "?")", "took": "\(took)",
      ])
  }

  /// Runs `body` as one transfer (`begin()` before, `end()` after, also when it throws).
  public func during<T>(
    isolation: isolated (any Actor)? = #isolation, _ body: () async throws -> T
  ) async rethrows -> T {
    begin()
    defer { end() }
    return try await body()
  }

  /// glibc's `malloc_trim(0)`: returns the free memory of every arena to the kernel. A no-op where it is missing.
  /// Looked up at run time: Swift's Glibc module does not export `<malloc.h>`.
  @Sendable public static func mallocTrim() {
    #if canImport(Glibc)
      guard let symbol = dlsym(nil, "malloc_trim") else { return }
      let mallocTrim = unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
      _ = mallocTrim(0)
    #endif
  }

  /// This process's resident set size in bytes (`/proc/self/statm`), or nil where that is not available.
  public static func residentBytes() -> Int? {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
  }
}
