import CodexFormats
import Foundation
import GRDB
import Multiformats

extension RepoStore {
  /// A full consistency check, for tests, crash drills and an admin command; reads every row (and with `deep`,
  /// every byte). Run it on a quiet store: an upload in progress shows up as pending rows. Returns the problems
  /// found, empty when the repo is consistent:
  /// quota counters equal the stored blocks; no pack holds bytes beyond its committed length and every block lies
  /// inside it; no pending rows or unreleased free ranges; every stored manifest's leaves are present; and with
  /// `deep`, every block's bytes hash to its CID.
  public func verify(deep: Bool = true) async throws -> [String] {
    try await withWriter("verifying the repo") { db, _ -> [String] in
      var problems: [String] = []
      let q = try self.quotaRow(db)
      let sums = try Row.fetchOne(db, sql: "SELECT COALESCE(SUM(size), 0), COUNT(*) FROM blocks")!
      let sumSize: Int64 = sums[0]
      let count: Int64 = sums[1]
      if UInt64(sumSize) != q.used { problems.append("quota used \(q.used) != sum of block sizes \(sumSize)") }
      if Int(count) != q.blocks { problems.append("quota block count \(q.blocks) != \(count) block rows") }
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
      let free = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM free_ranges") ?? 0
      if free > 0 { problems.append("\(free) free ranges not released") }
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
        if missing != 0 { problems.append("manifest \(cidText): \(missing) of \(m.blocksCount) leaves missing") }
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
            _ = try Block(cid: cid, data: try self.blockBytes(row, from: 1, cid: cid))
          } catch {
            problems.append("block \(cid): \(error)")
          }
        }
      }
      return problems
    }
  }
}
