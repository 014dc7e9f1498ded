import Foundation
import GRDB
import Multiformats

/// Hooks for the package's tests (internal; reached with `@testable import`).
extension RepoStore {
  /// Runs one SQL statement on the writer connection; `blobs` are bound as BLOB arguments in order.
  func testingExecute(_ sql: String, blobs: [[UInt8]] = []) async throws {
    try await pool.write { db in
      try db.execute(sql: sql, arguments: StatementArguments(blobs.map { Data($0) }))
    }
  }

  /// Runs a query returning one integer.
  func testingInt(_ sql: String) async throws -> Int {
    try await pool.read { db in try Int.fetchOne(db, sql: sql) ?? 0 }
  }

  /// Runs a query returning one integer on the writer connection (for its per-connection settings).
  func testingWriterInt(_ sql: String) async throws -> Int {
    try await withWriter("test query") { db, _ in try Int.fetchOne(db, sql: sql) ?? 0 }
  }

  /// Runs the v4 migration's reference recount (`RepoSchema.recountReferences`); returns how many counts were wrong.
  func testingRecountReferences() async throws -> Int {
    try await withWriter("test recount") { db, _ -> Int in
      var changed = 0
      try db.inTransaction {
        changed = try RepoSchema.recountReferences(db)
        return .commit
      }
      return changed
    }
  }

  /// Records the deletion of dataset `manifest` as `deleteDataset` does first, without running its steps.
  func testingMarkDeleted(_ manifest: Cid) async throws {
    try await withWriter("test mark") { db, _ in
      try self.durableTransaction(db) {
        _ = try self.markDatasetDeleted(db, manifest: Data(manifest.bytes), now: self.clock.now())
      }
    }
  }

  /// Runs one step of the recorded deletions; false when none is recorded.
  func testingDeletionStep() async throws -> Bool {
    try await withWriter("test deletion step") { db, _ -> Bool in
      var ran = false
      try self.durableTransaction(db) { ran = try self.deletionStep(db) != nil }
      return ran
    }
  }
}
