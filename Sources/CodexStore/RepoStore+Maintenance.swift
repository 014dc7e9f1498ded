import Foundation
import GRDB
import Logging
import Multiformats

/// Expiry maintenance (`formats.md` §6.2 BlockMaintainer).
extension RepoStore {
  /// One expiry pass. First the datasets of up to `config.maintenanceBatch` expired manifests are deleted as
  /// `deleteDataset` does (their leaf rows and the blocks no other dataset uses, expired or not: an upload's
  /// manifest expires no later than its blocks, and `updateExpiry` extends a tree's manifests with its blocks).
  /// Then, oldest first, up to the rest of the batch of other blocks whose expiry is before now: as upstream does,
  /// these go even if datasets still reference them (`formats.md` §7 #7; their references are kept in
  /// `dangling_refs`). Blocks of an upload in progress are kept. Returns how many blocks were deleted.
  @discardableResult
  public func runMaintenanceCycle() async throws -> Int {
    let now = clock.now()
    let batch = max(1, config.maintenanceBatch)
    // Expired datasets first, whole: a dataset stops being listed when it expires, its blocks go with it (in steps,
    // `drainDeletions`), and no leaf rows are left behind naming blocks that are gone.
    let marked = try await withWriter("expiry maintenance") { db, state -> (manifests: Int, deleted: Int) in
      var n = 0
      let expiredManifests = try Data.fetchAll(
        db,
        sql: """
          SELECT cid FROM blocks WHERE codec = ? AND expiry < ?
          AND upload IS NULL AND NOT EXISTS (SELECT 1 FROM pending WHERE pending.cid = blocks.cid)
          ORDER BY expiry LIMIT ?
          """,
        arguments: [Int64(bitPattern: Multicodec.codexManifest.rawValue), now, batch])
      guard !expiredManifests.isEmpty else { return (0, 0) }
      try self.durableTransaction(db) {
        for manifest in expiredManifests { n += try self.markDatasetDeleted(db, manifest: manifest, now: now) }
      }
      return (expiredManifests.count, n)
    }
    var deleted = marked.deleted + (try await drainDeletions())
    if marked.manifests < batch {
      deleted += try await withWriter("expiry maintenance") { db, state -> Int in
        var n = 0
        try self.durableTransaction(db) {
          let expired = try Data.fetchAll(
            db,
            sql: """
              SELECT cid FROM blocks WHERE expiry < ?
              AND upload IS NULL AND NOT EXISTS (SELECT 1 FROM pending WHERE pending.cid = blocks.cid)
              ORDER BY expiry LIMIT ?
              """,
            arguments: [now, batch - marked.manifests])
          n = try self.deleteBlockRows(db, cids: expired)
        }
        return n
      }
    }
    try await releaseFreeRanges()
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

/// What one `RepoStore.scrub(after:limit:)` step found.
public struct ScrubStep: Sendable {
  /// A block whose bytes failed their checksum, with one leaf that uses it (if any) to fetch a good copy by.
  public struct Damaged: Sendable, Equatable {
    public let block: Cid
    public let tree: Cid?
    public let index: Int?
  }
  /// Blocks read and checked.
  public var checked = 0
  public var damaged: [Damaged] = []
  /// Where the next step starts; nil: the scrub went round the whole repo and starts again from the beginning.
  public var next: [UInt8]?
}

/// Integrity scrub: reading stored blocks back ahead of need, so damage is found (and healed from peers by the
/// node) before a reader needs the block.
extension RepoStore {
  /// Reads up to `limit` blocks that have a checksum, in CID order after `after` (nil: from the start), and checks
  /// them. Damaged ones are remembered (a later store of a good copy rewrites them, see `damagedBlocks`), logged,
  /// and returned with a leaf that uses them.
  public func scrub(after: [UInt8]?, limit: Int) async throws -> ScrubStep {
    try withReader("scrubbing the repo") { db in
      var step = ScrubStep()
      let rows = try Row.fetchAll(
        db,
        sql: """
          SELECT cid, size, pack, pos, data, crc FROM blocks WHERE cid > ? AND crc IS NOT NULL ORDER BY cid LIMIT ?
          """,
        arguments: [Data(after ?? []), max(1, limit)])
      for row in rows {
        let key: Data = row[0]
        step.checked += 1
        guard let cid = try? Cid(bytes: key) else { continue }
        do {
          let data = try self.blockBytes(row, from: 1, cid: cid)
          let crc = UInt32(truncatingIfNeeded: row[5] as Int64)
          guard self.damaged(data, crc: crc, key: Array(key), "block \(cid) (scrub)") else { continue }
        } catch let e as StoreError {
          if case .io = e { throw e }
          self.noteDamaged(Array(key))
          logger.error("repo: scrub found a block whose bytes are gone from its pack", metadata: ["block": "\(cid)"])
        }
        let leaf = try Row.fetchOne(db, sql: "SELECT tree, idx FROM leaves WHERE block = ? LIMIT 1", arguments: [key])
        let tree = leaf.flatMap { try? Cid(bytes: $0[0] as Data) }
        step.damaged.append(.init(block: cid, tree: tree, index: leaf.map { Int($0[1] as Int64) }))
      }
      step.next = rows.count < max(1, limit) ? nil : rows.last.map { [UInt8]($0[0] as Data) }
      return step
    }
  }
}
