import CodexFormats
import Foundation
import GRDB
import Multiformats

/// What `RepoStore.check(deep:progress:)` found.
public struct RepoReport: Sendable {
  /// A dataset whose manifest is stored but not all of whose blocks are: a download that did not finish (legal:
  /// reads fetch the rest from peers), or blocks lost.
  public struct IncompleteDataset: Sendable, Equatable {
    public let manifest: Cid
    public let localBlocks: Int
    public let totalBlocks: Int
  }
  /// Inconsistencies: the repo is damaged when this is not empty.
  public var problems: [String] = []
  public var incomplete: [IncompleteDataset] = []
  /// Stored blocks (manifests included) and their bytes.
  public var blocks = 0
  public var bytes: UInt64 = 0
  /// Stored manifests (datasets).
  public var manifests = 0
  /// Blocks whose bytes were read and hashed (`deep`).
  public var hashedBlocks = 0
}

extension RepoStore {
  /// A full consistency check, for tests, crash drills and an admin command; reads every row (and with `deep`,
  /// every byte). Run it on a quiet store: an upload in progress shows up as pending rows. Returns the problems
  /// found, empty when the repo is consistent (a stored manifest with missing leaves counts as one here; see
  /// `check(deep:progress:)` for the report that tells them apart).
  public func verify(deep: Bool = true) async throws -> [String] {
    let report = try await check(deep: deep)
    return report.problems
      + report.incomplete.map {
        "manifest \($0.manifest): \($0.totalBlocks - $0.localBlocks) of \($0.totalBlocks) leaves missing"
      }
  }

  /// Checks the repo: quota counters equal the stored blocks; no pack holds bytes beyond its committed length and
  /// every block lies inside it; no pending rows or unreleased free ranges; every block's `refcount` (and
  /// `dangling_refs`) equals the number of leaf rows naming it; every stored manifest decodes (and
  /// which datasets lack blocks); with `deep`, every block's bytes hash to its CID (`progress` hears the bytes of
  /// each block read). Holds the writer throughout: run it on a quiet store.
  public func check(deep: Bool = true, progress: (@Sendable (Int) -> Void)? = nil) async throws -> RepoReport {
    try await withWriter("checking the repo") { db, _ -> RepoReport in
      var report = RepoReport()
      var problems: [String] = []
      let q = try self.quotaRow(db)
      let sums = try Row.fetchOne(db, sql: "SELECT COALESCE(SUM(size), 0), COUNT(*) FROM blocks")!
      let sumSize: Int64 = sums[0]
      let count: Int64 = sums[1]
      if UInt64(sumSize) != q.used { problems.append("quota used \(q.used) != sum of block sizes \(sumSize)") }
      if Int(count) != q.blocks { problems.append("quota block count \(q.blocks) != \(count) block rows") }
      report.blocks = Int(count)
      report.bytes = UInt64(max(0, sumSize))
      if q.used + q.reserved > self.config.quotaMaxBytes {
        problems.append("used \(q.used) + reserved \(q.reserved) is over the quota \(self.config.quotaMaxBytes)")
      }
      var committed: [Int64: UInt64] = [:]
      for row in try Row.fetchAll(db, sql: "SELECT id, committed_length FROM packs") {
        let id: Int64 = row[0]
        let length = UInt64(row[1] as Int64)
        committed[id] = length
        if self.packs.descriptor(id) == nil { problems.append("pack \(id) is not open"); continue }
        let size = try self.packs.size(pack: id)
        if size != length { problems.append("pack \(id) is \(size) bytes, committed length \(length)") }
      }
      let outside =
        try Int.fetchOne(
          db,
          sql: """
            SELECT COUNT(*) FROM blocks b LEFT JOIN packs p ON p.id = b.pack
            WHERE b.pack IS NOT NULL AND (p.id IS NULL OR b.pos + b.size > p.committed_length OR b.pos % 4096 != 0)
            """) ?? 0
      if outside > 0 { problems.append("\(outside) blocks lie outside the committed part of their pack") }
      let noBytes =
        try Int.fetchOne(
          db, sql: "SELECT COUNT(*) FROM blocks WHERE pack IS NULL AND (data IS NULL OR length(data) != size)") ?? 0
      if noBytes > 0 { problems.append("\(noBytes) blocks have no bytes") }
      let pending = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM pending") ?? 0
      if pending > 0 { problems.append("\(pending) pending rows") }
      let batches = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM upload_batches") ?? 0
      if batches > 0 { problems.append("\(batches) upload batch rows") }
      let held = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM blocks WHERE upload IS NOT NULL") ?? 0
      if held > 0 { problems.append("\(held) blocks held by an upload") }
      let deleting = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM deleting_trees") ?? 0
      if deleting > 0 { problems.append("\(deleting) dataset deletions not finished") }
      let free = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM free_ranges") ?? 0
      if free > 0 { problems.append("\(free) free ranges not released") }
      let refs = try RepoSchema.referenceMismatches(db)
      if refs.blocks > 0 {
        problems.append("\(refs.blocks) blocks count other references than the leaf rows naming them")
      }
      if refs.dangling > 0 {
        problems.append(
          "\(refs.dangling) deleted blocks count other dangling references than the leaf rows naming them")
      }
      // Manifests and their leaves.
      let manifests = try Row.fetchAll(
        db, sql: "SELECT cid, size, pack, pos, data FROM blocks WHERE codec = ?",
        arguments: [Int64(bitPattern: Multicodec.codexManifest.rawValue)])
      for row in manifests {
        let cidText = (try? Cid(bytes: row[0] as Data)).map { "\($0)" } ?? "?"
        guard let m = try? Manifest(encoded: try self.blockBytes(row, from: 1, cid: nil)) else {
          problems.append("manifest \(cidText) does not decode")
          continue
        }
        let missing =
          try Int.fetchOne(
            db,
            sql: """
              SELECT ? - COUNT(*) FROM leaves l LEFT JOIN blocks b ON b.cid = l.block
              WHERE l.tree = ? AND l.idx >= 0 AND l.idx < ? AND (b.cid IS NOT NULL OR l.block = ?)
              """,
            arguments: [m.blocksCount, Data(m.treeCid.bytes), m.blocksCount, Data(Codex.emptyBlockCid.bytes)]) ?? 0
        report.manifests += 1
        if missing != 0, let cid = try? Cid(bytes: row[0] as Data) {
          report.incomplete.append(
            .init(manifest: cid, localBlocks: m.blocksCount - missing, totalBlocks: m.blocksCount))
        }
      }
      if deep {
        let cursor = try Row.fetchCursor(db, sql: "SELECT cid, size, pack, pos, data FROM blocks")
        while let row = try cursor.next() {
          let key: Data = row[0]
          guard let cid = try? Cid(bytes: key) else {
            problems.append("undecodable CID \(key.map { String($0, radix: 16) }.joined())")
            continue
          }
          do {
            let data = try self.blockBytes(row, from: 1, cid: cid)
            report.hashedBlocks += 1
            progress?(data.count)
            _ = try Block(cid: cid, data: data)
          } catch {
            problems.append("block \(cid): \(error)\(try self.datasetsNote(db, block: key))")
            self.noteDamaged(Array(key))
          }
        }
      }
      report.problems = problems
      return report
    }
  }

  /// For a damaged block: which stored datasets use it and how to get a good copy back, or "" when none does.
  private func datasetsNote(_ db: Database, block key: Data) throws -> String {
    let manifests = try Data.fetchAll(
      db,
      sql: """
        SELECT DISTINCT m.cid FROM leaves l JOIN blocks m ON m.tree = l.tree
        WHERE l.block = ? ORDER BY m.cid LIMIT 10
        """,
      arguments: [key]
    ).compactMap { try? Cid(bytes: $0) }
    guard !manifests.isEmpty else { return "" }
    return
      "; it is part of dataset(s) \(manifests.map(\.string).joined(separator: ", ")): reading them on the running"
      + " node while it is connected to a peer that has them fetches a good copy, and so does uploading the file again"
  }
}
