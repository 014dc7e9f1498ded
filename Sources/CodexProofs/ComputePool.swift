import CProofsKernels
import Foundation

/// A fixed set of worker threads for CPU-heavy hashing (slot building, sampling), kept apart from Swift's
/// cooperative pool and the NIO event loops so that REST handlers and block exchange never wait behind a hash job.
///
/// Workers run at a lowered OS priority (nice `niceness`), so when all cores are busy the scheduler prefers I/O
/// threads; when the machine is otherwise idle the workers still use every core. Jobs are plain synchronous
/// closures; `run(_:)` is the async wrapper. Call `shutdown()` when done (pending jobs still run first).
public final class ComputePool: @unchecked Sendable {
  // All mutable state is guarded by `condition`.
  private let condition = NSCondition()
  private var jobs: [@Sendable () -> Void] = []
  private var head = 0
  private var stopping = false
  private var running = 0

  /// Number of worker threads.
  public let threads: Int

  /// Starts `threads` workers (at least 1; default: one per active core) at nice level `niceness`.
  public init(threads: Int = ProcessInfo.processInfo.activeProcessorCount, niceness: Int32 = 10) {
    self.threads = max(1, threads)
    condition.lock()
    running = self.threads
    condition.unlock()
    for i in 0..<self.threads {
      let thread = Thread { [self] in
        _ = codex_proofs_lower_thread_priority(niceness)
        self.workLoop()
      }
      thread.name = "codex-compute-\(i)"
      thread.stackSize = 1 << 20
      thread.start()
    }
  }

  /// Runs `body` on a worker and returns its result. Cancellation of the caller does not interrupt a started job.
  public func run<T: Sendable, E: Error>(_ body: @escaping @Sendable () throws(E) -> T) async throws(E) -> T {
    let result: Result<T, E> = await withCheckedContinuation { continuation in
      enqueue {
        do throws(E) { continuation.resume(returning: .success(try body())) } catch {
          continuation.resume(returning: .failure(error))
        }
      }
    }
    return try result.get()
  }

  /// Stops the workers once the queued jobs are done; waits for them to exit.
  public func shutdown() async {
    beginShutdown()
    while runningWorkers() > 0 { try? await Task.sleep(for: .milliseconds(2)) }
  }

  private func beginShutdown() {
    condition.lock()
    stopping = true
    condition.broadcast()
    condition.unlock()
  }

  private func runningWorkers() -> Int {
    condition.lock()
    defer { condition.unlock() }
    return running
  }

  private func enqueue(_ job: @escaping @Sendable () -> Void) {
    condition.lock()
    if stopping {
      condition.unlock()
      // After shutdown, jobs run on a detached task so callers are never left waiting.
      Task.detached { job() }
      return
    }
    jobs.append(job)
    condition.signal()
    condition.unlock()
  }

  private func workLoop() {
    while true {
      condition.lock()
      while head == jobs.count && !stopping { condition.wait() }
      if head == jobs.count {
        running -= 1
        condition.unlock()
        return
      }
      let job = jobs[head]
      head += 1
      if head > 1024 && head * 2 > jobs.count {
        jobs.removeFirst(head)
        head = 0
      }
      condition.unlock()
      job()
    }
  }
}
