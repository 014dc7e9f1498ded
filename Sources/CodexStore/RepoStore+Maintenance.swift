import Foundation
import GRDB
import Logging

/// Expiry maintenance (`formats.md` §6.2 BlockMaintainer).
extension RepoStore {
  /// Deletes up to `config.maintenanceBatch` blocks whose expiry is before now, oldest first, using the expiry
  /// index. As upstream does, expired blocks go even if datasets still reference them (their leaf rows are left
  /// dangling, `formats.md` §7 #7); blocks of an upload in progress are kept. Returns how many were deleted.
  @discardableResult
  public func runMaintenanceCycle() async throws -> Int {
    let now = clock.now()
    let batch = max(1, config.maintenanceBatch)
    let deleted = try await withWriter("expiry maintenance") { db, state -> Int in
      var n = 0
      try self.durableTransaction(db) {
        let expired = try Data.fetchAll(
          db,
          sql: """
            SELECT cid FROM blocks WHERE expiry < ?
            AND upload IS NULL AND NOT EXISTS (SELECT 1 FROM pending WHERE pending.cid = blocks.cid)
            ORDER BY expiry LIMIT ?
            """,
          arguments: [now, batch])
        n = try self.deleteBlockRows(db, cids: expired)
      }
      try self.releaseFreeRanges(db, current: state.pack)
      return n
    }
    if deleted > 0 {
      logger.info("repo: deleted expired blocks", metadata: ["count": "\(deleted)"])
    }
    return deleted
  }

  /// Runs `runMaintenanceCycle` every `config.maintenanceInterval` until the calling task is cancelled or the
  /// store is closed. Failures are logged and retried at the next interval.
  public func runMaintenance() async {
    while !Task.isCancelled {
      do {
        try await Task.sleep(for: config.maintenanceInterval)
      } catch {
        return
      }
      if isClosed.load(ordering: .acquiring) { return }
      do {
        try await runMaintenanceCycle()
      } catch is CancellationError {
        return
      } catch {
        logger.error("repo: maintenance cycle failed", metadata: ["why": "\(error)"])
      }
    }
  }
}
