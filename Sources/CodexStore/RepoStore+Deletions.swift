import CodexFormats
import Foundation
import GRDB
import Multiformats

/// Dataset deletion in steps (`RepoSchema` v5, `deleting_trees`).
///
/// Deleting a dataset removes its manifest block and records its tree in `deleting_trees`, in one short durable
/// transaction: from then on the dataset is not listed and cannot be read through its manifest. The tree's leaf rows
/// (and the blocks only they used) then go in steps of `rowsPerStep` leaves, each step its own durable transaction
/// and writer turn, so uploads and fetches go on between the steps instead of waiting for the whole delete (one
/// transaction for a 4 GiB dataset held every other write for ~1.5 s on this machine kind, and a 100 GiB one would
/// have held them ~40 s and grown the WAL by the whole delete). Each step deletes exactly what the one-transaction
/// delete did for those leaves: a block whose last reference lies in a later step keeps a refcount above zero until
/// then. A crash between steps leaves the tree recorded; the next open finishes it before anything else runs. Leaf
/// rows inserted for a tree still being deleted (the same file uploaded or fetched again meanwhile) first finish
/// that deletion inside their own transaction, so the deletion never takes the new dataset's leaves.
extension RepoStore {
  /// Deletes the manifest block `key` and records its tree for `drainDeletions` (inside the caller's transaction),
  /// unless another stored manifest uses the same tree (then only this manifest block goes). An unreadable manifest
  /// loses only its own block. `now` is the time of the delete: the steps delete the blocks that had expired by then
  /// (`deleteLeaves`), as a delete in one transaction did, whenever they run (a step run later, or by the next
  /// open, must not take a block that expired since, which a listed dataset may still name until maintenance
  /// deletes that dataset). Returns how many blocks it deleted now (the manifest: 0 or 1).
  func markDatasetDeleted(_ db: Database, manifest key: Data, now: Int64) throws -> Int {
    guard
      let row = try Row.fetchOne(db, sql: "SELECT size, pack, pos, data FROM blocks WHERE cid = ?", arguments: [key])
    else { return 0 }
    var manifest: Manifest?
    do {
      manifest = try Manifest(encoded: try blockBytes(row, cid: try Cid(bytes: key)))
    } catch {
      logger.warning(
        "repo: manifest is unreadable; deleting only the manifest block",
        metadata: ["cid": "\((try? Cid(bytes: key)).map(\.string) ?? "?")", "why": "\(error)"])
    }
    if let manifest {
      let tree = Data(manifest.treeCid.bytes)
      let shared = try Bool.fetchOne(
        db, sql: "SELECT EXISTS(SELECT 1 FROM blocks WHERE tree = ? AND cid != ?)", arguments: [tree, key])
      if shared != true {
        // Already recorded (its manifest was stored again and deleted again before the first deletion ended, with
        // no leaf row inserted meanwhile): the deletion goes on from where it is.
        try db.execute(
          sql: """
            INSERT INTO deleting_trees (tree, next, at) VALUES (?, 0, ?)
            ON CONFLICT(tree) DO UPDATE SET at = MAX(at, excluded.at)
            """,
          arguments: [tree, now])
      }
    }
    return try deleteBlockRows(db, cids: [key])
  }

  /// Runs the recorded deletions to their end, one step per writer turn (other writes go on between them), and
  /// releases the freed space as it goes. Several callers may drain at once: each step takes whatever is left.
  /// Returns how many blocks the steps deleted.
  @discardableResult
  func drainDeletions() async throws -> Int {
    var deleted = 0
    while true {
      let step = try await withWriter("deleting dataset blocks") { db, _ -> (more: Bool, deleted: Int)? in
        var result: (Bool, Int)?
        try self.durableTransaction(db) { result = try self.deletionStep(db) }
        return result
      }
      guard let step else { break }
      deleted += step.deleted
      config.faultHook?("deletion-step")
      try await releaseFreeRanges()
      if !step.more { break }
    }
    return deleted
  }

  /// One step of the first recorded deletion (inside the caller's transaction): up to `rowsPerStep` of its leaves,
  /// lowest indices first. Returns nil when nothing is recorded, else whether more steps remain (of this deletion
  /// or another) and how many blocks this one deleted.
  func deletionStep(_ db: Database) throws -> (more: Bool, deleted: Int)? {
    guard let row = try Row.fetchOne(db, sql: "SELECT tree, next, at FROM deleting_trees ORDER BY tree LIMIT 1")
    else { return nil }
    let tree: Data = row[0]
    let before = try quotaRow(db).blocks
    let end = try deleteLeafStep(db, tree: tree, from: row[1], at: row[2])
    let more = try end != nil || Bool.fetchOne(db, sql: "SELECT EXISTS(SELECT 1 FROM deleting_trees)") == true
    return (more, before - (try quotaRow(db).blocks))
  }

  /// Deletes up to `rowsPerStep` leaves of `tree` from index `next` on, lowest first (whatever the manifest claimed
  /// as its count: a tree's rows are all its leaves), and records where the deletion stands. Returns the index the
  /// next step starts at, nil when the tree has no leaves left (its record is removed then).
  private func deleteLeafStep(_ db: Database, tree: Data, from next: Int64, at now: Int64) throws -> Int64? {
    let end = try Int64.fetchOne(
      db, sql: "SELECT idx FROM leaves WHERE tree = ? AND idx >= ? ORDER BY idx LIMIT 1 OFFSET ?",
      arguments: [tree, next, config.rowsPerStep])
    try deleteLeaves(db, tree: tree, indices: Int(next)..<(end.map { Int($0) } ?? Int.max), now: now)
    if let end {
      try db.execute(sql: "UPDATE deleting_trees SET next = ? WHERE tree = ?", arguments: [end, tree])
    } else {
      try db.execute(sql: "DELETE FROM deleting_trees WHERE tree = ?", arguments: [tree])
    }
    return end
  }

  /// Before leaf rows of `tree` are inserted (inside the caller's transaction): if the tree is still being deleted,
  /// the deletion is finished first, so it cannot take the new rows. (A writer turn that stores blocks for the rows
  /// calls `finishDeletions(_:trees:)` before looking its blocks up; this catches a deletion recorded in between.)
  func finishDeletion(_ db: Database, tree: Data) throws {
    guard let row = try Row.fetchOne(db, sql: "SELECT next, at FROM deleting_trees WHERE tree = ?", arguments: [tree])
    else { return }
    let at: Int64 = row[1]
    var next: Int64? = row[0]
    while let from = next { next = try deleteLeafStep(db, tree: tree, from: from, at: at) }
    deletionFreedSpace.store(true, ordering: .releasing)
  }

  /// Run by `withWriter` after every writer turn: if the turn finished a deletion (`finishDeletion`), releases the
  /// space it freed (one atomic load otherwise). A failure is logged; the ranges stay recorded for the next release
  /// or open.
  func releaseFinishedDeletionSpace() async {
    guard deletionFreedSpace.load(ordering: .acquiring),
      deletionFreedSpace.exchange(false, ordering: .acquiringAndReleasing)
    else { return }
    do {
      try await releaseFreeRanges()
    } catch {
      logger.warning("repo: releasing the space of a finished deletion failed", metadata: ["why": "\(error)"])
    }
  }

  /// At the start of a writer turn that records leaves of `trees` (outside a transaction): finishes their
  /// deletions, if any, in a durable transaction of their own, before the turn looks up which of its blocks are
  /// stored. A block that only such a deletion's leaf rows still name would otherwise be found stored, then deleted
  /// by the deletion before the turn's new leaf row counts it.
  func finishDeletions(_ db: Database, trees: [Cid]) throws {
    let keys = trees.map { Data($0.bytes) }
    let recorded = try keys.filter {
      try Bool.fetchOne(db, sql: "SELECT EXISTS(SELECT 1 FROM deleting_trees WHERE tree = ?)", arguments: [$0]) == true
    }
    guard !recorded.isEmpty else { return }
    try durableTransaction(db) {
      for tree in recorded { try finishDeletion(db, tree: tree) }
    }
  }

  /// Recovery at open: finishes the deletions a crash interrupted, one durable transaction per step. Returns how
  /// many blocks they deleted.
  func finishDeletionsAtOpen(_ db: Database) throws -> Int {
    var deleted = 0
    while true {
      var step: (more: Bool, deleted: Int)?
      try db.inTransaction {
        step = try deletionStep(db)
        return .commit
      }
      guard let step else { break }
      deleted += step.deleted
      if !step.more { break }
    }
    return deleted
  }
}
