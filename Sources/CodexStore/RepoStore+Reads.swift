import CodexFormats
import Foundation
import GRDB
import Multiformats

/// Reads: a pooled reader connection for the row, `pread` for pack bytes, both under the shared pack lock.
extension RepoStore {
  /// The block with this CID, or nil when it is not stored. The empty CID reads as a 0-byte block.
  /// - Throws: `StoreError.corrupt` when the block's bytes are missing from its pack, `.io` on I/O failures.
  public func getBlock(_ cid: Cid) async throws -> Block? {
    if Codex.isEmpty(cid) { return Block(unchecked: cid, data: []) }
    let bytes = try withReader("reading block \(cid)") { db -> [UInt8]? in
      let stmt = try db.cachedStatement(sql: "SELECT size, pack, pos, data FROM blocks WHERE cid = ?")
      guard let row = try Row.fetchOne(stmt, arguments: [Data(cid.bytes)]) else { return nil }
      return try blockBytes(row, cid: cid)
    }
    return bytes.map { Block(unchecked: cid, data: $0) }
  }

  /// The block at `index` of tree `treeCid` with its proof, or nil when the leaf or its block is not here.
  /// A leaf whose block is the empty CID returns a 0-byte block.
  /// - Throws: `StoreError.corrupt` for undecodable stored metadata, `.io` on I/O failures.
  public func getBlock(tree treeCid: Cid, index: Int) async throws -> (block: Block, proof: CodexProof)? {
    let found = try withReader("reading leaf \(index) of \(treeCid)") { db -> (Cid, [UInt8], Data)? in
      guard let row = try leafRow(db, tree: treeCid, index: index) else { return nil }
      let cid = try decodeCid(row[0] as Data, what: "block of leaf \(index) of tree \(treeCid)")
      if Codex.isEmpty(cid) { return (cid, [], row[1]) }
      guard row[2] as Int64? != nil else { return nil }
      return (cid, try blockBytes(row, from: 2, cid: cid), row[1])
    }
    guard let (cid, bytes, proofBytes) = found else { return nil }
    let proof: CodexProof
    do {
      proof = try CodexProof(encoded: proofBytes)
    } catch {
      throw StoreError.corrupt("stored proof of leaf \(index) of tree \(treeCid) is undecodable: \(error)")
    }
    return (Block(unchecked: cid, data: bytes), proof)
  }

  /// The bytes of leaf `index` of tree `tree`, or nil when the leaf or its block is not here: the download fast
  /// path (no proof decoding, no CID decoding beyond the empty check). A padding leaf (empty CID) reads as `[]`.
  public func blockData(tree: Cid, index: Int) async throws -> [UInt8]? {
    try withReader("reading leaf \(index) of \(tree)") { db -> [UInt8]? in
      guard let row = try leafRow(db, tree: tree, index: index) else { return nil }
      let key: Data = row[0]
      if key.elementsEqual(Codex.emptyBlockCid.bytes) { return [] }
      guard row[2] as Int64? != nil else { return nil }
      return try blockBytes(row, from: 2, cid: nil)
    }
  }

  /// True if the block is stored (always true for the empty CID).
  public func hasBlock(_ cid: Cid) async throws -> Bool {
    if Codex.isEmpty(cid) { return true }
    return try withReader("looking up \(cid)") { db in
      let stmt = try db.cachedStatement(sql: "SELECT 1 FROM blocks WHERE cid = ?")
      return try Row.fetchOne(stmt, arguments: [Data(cid.bytes)]) != nil
    }
  }

  /// True if leaf `index` of `treeCid` is recorded and its block is stored (or is the empty CID).
  public func hasBlock(tree treeCid: Cid, index: Int) async throws -> Bool {
    try withReader("looking up leaf \(index) of \(treeCid)") { db in
      let stmt = try db.cachedStatement(
        sql: """
          SELECT l.block, b.cid IS NOT NULL FROM leaves l LEFT JOIN blocks b ON b.cid = l.block
          WHERE l.tree = ? AND l.idx = ?
          """)
      guard let row = try Row.fetchOne(stmt, arguments: [Data(treeCid.bytes), Int64(index)]) else { return false }
      let present: Bool = row[1]
      return present || (row[0] as Data).elementsEqual(Codex.emptyBlockCid.bytes)
    }
  }

  /// The leaf's (block, proof, size, pack, pos, data) row, the block columns NULL when the block is absent.
  private func leafRow(_ db: Database, tree: Cid, index: Int) throws -> Row? {
    let stmt = try db.cachedStatement(
      sql: """
        SELECT l.block, l.proof, b.size, b.pack, b.pos, b.data FROM leaves l LEFT JOIN blocks b ON b.cid = l.block
        WHERE l.tree = ? AND l.idx = ?
        """)
    return try Row.fetchOne(stmt, arguments: [Data(tree.bytes), Int64(index)])
  }

  /// The bytes of a block row whose columns `size, pack, pos, data` start at `from`. Caller holds the read lock.
  func blockBytes(_ row: Row, from: Int = 0, cid: Cid?) throws -> [UInt8] {
    let size: Int64 = row[from]
    if let data = row[from + 3] as Data? {
      guard data.count == size else {
        throw StoreError.corrupt("block \(cid.map { "\($0)" } ?? "?") has \(data.count) inline bytes, expected \(size)")
      }
      return [UInt8](data)
    }
    guard let pack = row[from + 1] as Int64?, let pos = row[from + 2] as Int64?, pos >= 0, size >= 0 else {
      throw StoreError.corrupt("block \(cid.map { "\($0)" } ?? "?") has no bytes recorded")
    }
    return try packs.read(pack: pack, offset: UInt64(pos), count: Int(size))
  }

  func decodeCid(_ bytes: Data, what: String) throws -> Cid {
    do {
      return try Cid(bytes: bytes)
    } catch {
      throw StoreError.corrupt("stored CID of \(what) is undecodable: \(error)")
    }
  }
}
