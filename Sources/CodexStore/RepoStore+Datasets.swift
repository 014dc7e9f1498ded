import CodexFormats
import Foundation
import GRDB
import Multiformats

/// Block and leaf writes, deletes, datasets and quota.
extension RepoStore {
  /// Stores a block (`formats.md` §6.2 putBlock). The empty CID is skipped. An already stored CID must have the
  /// same size; its expiry becomes `max(old, now + ttl)` and lost bytes are restored. `ttl` nil means
  /// `config.blockTTL`. Durable (bytes synced) before it returns.
  /// - Throws: `StoreError.quotaExceeded` (nothing written), `.sizeMismatch`, `.io`.
  public func putBlock(_ block: Block, ttl: Duration?) async throws {
    try await storeBlocks([block], ttl: ttl, session: nil)
  }

  /// Stores several blocks with one sync and one transaction (same rules as `putBlock`, all or nothing).
  public func putBlocks(_ blocks: [Block], ttl: Duration? = nil) async throws {
    try await storeBlocks(blocks, ttl: ttl, session: nil)
  }

  /// Records leaf `index` of `treeCid` (`formats.md` §6.2 putCidAndProof): created only if absent; a new entry
  /// whose block CID has codec `codex-block` adds one reference to that block. An existing entry is unchanged.
  /// - Throws: `StoreError.notFound` when a `codex-block` CID (other than the empty one) is not stored; nothing
  ///   is recorded then.
  public func putLeaf(tree treeCid: Cid, index: Int, blockCid: Cid, proof: CodexProof) async throws {
    try await putLeaves(tree: treeCid, leaves: [(index, blockCid, proof)])
  }

  /// Records several leaves of one tree in one transaction (same rules as `putLeaf`, all or nothing).
  public func putLeaves(tree treeCid: Cid, leaves: [(index: Int, blockCid: Cid, proof: CodexProof)]) async throws {
    guard !leaves.isEmpty else { return }
    for leaf in leaves where leaf.index < 0 {
      throw StoreError.invalidArgument("leaf index \(leaf.index) of \(treeCid) is negative")
    }
    try await withWriter("recording leaves of \(treeCid)") { db, state in
      try self.finishDeletions(db, trees: [treeCid])
      try self.syncDirty(&state)  // a new reference must not point at bytes a power loss could drop
      try db.inTransaction {
        try self.insertLeaves(db, tree: treeCid, leaves)
        return .commit
      }
    }
  }

  /// Stores the blocks of fetched leaves and records the leaves, with one durable write and one transaction: the
  /// same rules as `putBlocks` followed by `putLeaves` for each tree, all or nothing. Leaves of several trees may be
  /// mixed; each tree's leaves are recorded in the order given.
  /// - Throws: `StoreError.quotaExceeded` (nothing written), `.invalidArgument` for a negative index, `.sizeMismatch`,
  ///   `.io`.
  public func putLeafBlocks(
    _ leaves: [(tree: Cid, index: Int, block: Block, proof: CodexProof)], ttl: Duration? = nil
  ) async throws {
    guard !leaves.isEmpty else { return }
    let rows = try LeafRows(leaves)
    let blocks = leaves.map(\.block).filter { !Codex.isEmpty($0.cid) }
    let expiry = expiry(ttl: ttl)
    try await withWriter("storing \(leaves.count) leaves") { db, state in
      try self.finishDeletions(db, trees: rows.order)
      try self.write(db, blocks, state: &state, expiry: expiry, session: nil) { db in try rows.insert(db, self) }
    }
  }

  /// Inserts leaf rows that are absent and counts their references (inside the caller's transaction).
  func insertLeaves(_ db: Database, tree: Cid, _ leaves: [(index: Int, blockCid: Cid, proof: CodexProof)]) throws {
    // Raw statements: GRDB's per-execution bookkeeping cost more than SQLite's insert on the block-exchange path.
    let insert = try RawStatement(
      db, "INSERT INTO leaves (tree, idx, block, proof) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING")
    let ref = try RawStatement(db, "UPDATE blocks SET refcount = refcount + 1 WHERE cid = ?1")
    try finishDeletion(db, tree: Data(tree.bytes))
    insert.bind(1, copying: tree.bytes)
    for leaf in leaves {
      let key = leaf.blockCid.bytes
      insert.bind(2, Int64(leaf.index))
      insert.bind(3, copying: key)
      insert.bind(4, copying: leaf.proof.encoded)
      guard try insert.run() == 1, leaf.blockCid.codec == .codexBlock, !Codex.isEmpty(leaf.blockCid) else { continue }
      ref.bind(1, copying: key)
      if try ref.run() == 0 {
        throw StoreError.notFound("block \(leaf.blockCid) of leaf \(leaf.index) of tree \(tree) is not stored")
      }
    }
  }

  /// Deletes a block (`formats.md` §6.2 delBlock(cid)) if no dataset references it or it has expired. Deleting
  /// an absent block or the empty CID succeeds. Its disk space is released before this returns.
  /// - Throws: `StoreError.blockInUse` when it is referenced and not expired, or belongs to an upload in progress.
  public func deleteBlock(_ cid: Cid) async throws {
    if Codex.isEmpty(cid) { return }
    let now = clock.now()
    try await withWriter("deleting \(cid)") { db, state in
      try self.durableTransaction(db) {
        let key = Data(cid.bytes)
        guard
          let row = try Row.fetchOne(
            db, sql: "SELECT refcount, expiry, upload FROM blocks WHERE cid = ?", arguments: [key])
        else { return }
        let refcount: Int64 = row[0]
        let expiry: Int64 = row[1]
        let upload: Int64? = row[2]
        let pending = try Bool.fetchOne(db, sql: "SELECT EXISTS(SELECT 1 FROM pending WHERE cid = ?)", arguments: [key])
        if pending == true || upload != nil || (refcount > 0 && expiry >= now) { throw StoreError.blockInUse(cid) }
        try self.deleteBlockRows(db, cids: [key])
      }
    }
    try await releaseFreeRanges()
  }

  /// Deletes a dataset (`formats.md` §6.2): its manifest block goes at once (the dataset is no longer listed or
  /// readable), then every leaf row of the manifest's tree is removed and its block's reference dropped, in steps
  /// that let other writes run between them (`RepoStore+Deletions.swift`); blocks left unreferenced (or expired) are
  /// deleted. Returns when all of it is done. Blocks shared with other datasets stay. If another stored manifest
  /// uses the same tree, only this manifest block is deleted. Deleting an absent dataset succeeds. A crash part way
  /// leaves the deletion recorded, and the next open finishes it.
  public func deleteDataset(manifestCid: Cid) async throws {
    let now = clock.now()
    try await withWriter("deleting dataset \(manifestCid)") { db, state in
      let key = Data(manifestCid.bytes)
      guard try Bool.fetchOne(db, sql: "SELECT EXISTS(SELECT 1 FROM blocks WHERE cid = ?)", arguments: [key]) == true
      else { return }
      try self.durableTransaction(db) { _ = try self.markDatasetDeleted(db, manifest: key, now: now) }
    }
    try await drainDeletions()
    try await releaseFreeRanges()
  }

  /// Deletes the leaves `indices` of `tree`, drops their references and deletes the blocks left unreferenced or
  /// expired (not those of an upload in progress). Inside the caller's transaction; `indices` should span at most
  /// `rowsPerStep` rows (their keys are held in memory).
  func deleteLeaves(_ db: Database, tree: Data, indices: Range<Int>, now: Int64) throws {
    let removed = try Data.fetchAll(
      db, sql: "DELETE FROM leaves WHERE tree = ? AND idx >= ? AND idx < ? RETURNING block",
      arguments: [tree, Int64(indices.lowerBound), Int64(indices.upperBound)])
    guard !removed.isEmpty else { return }
    // Raw statements (see `RawStatement`): GRDB's per-execution bookkeeping cost more than SQLite's own work in
    // these per-leaf loops (a 4 GiB delete spent over half its time there).
    let unref = try RawStatement(db, "UPDATE blocks SET refcount = refcount - 1 WHERE cid = ?1 AND refcount > 0")
    // A leaf whose block was deleted while it named it counts in `dangling_refs` instead (`RepoSchema` v4).
    let undangle = try RawStatement(db, "UPDATE dangling_refs SET refs = refs - 1 WHERE cid = ?1")
    let settled = try RawStatement(db, "DELETE FROM dangling_refs WHERE cid = ?1 AND refs <= 0")
    let empty = Data(Codex.emptyBlockCid.bytes)
    var candidates = Set<Data>()
    for block in removed where block != empty {
      // Only leaves of codex-block CIDs counted a reference (putCidAndProof rule).
      if (try? Cid(bytes: block))?.codec == .codexBlock, try unref.run(binding: 1, block) == 0 {
        if try undangle.run(binding: 1, block) > 0 { try settled.run(binding: 1, block) }
      }
      candidates.insert(block)
    }
    let check = try RawStatement(
      db,
      """
      SELECT 1 FROM blocks WHERE cid = ?1 AND (refcount = 0 OR expiry < ?2) AND upload IS NULL
      AND NOT EXISTS (SELECT 1 FROM pending WHERE pending.cid = blocks.cid)
      """)
    check.bind(2, now)
    var doomed: [Data] = []
    for cid in candidates where try check.query(binding: 1, cid, { $0 != nil }) { doomed.append(cid) }
    try deleteBlockRows(db, cids: doomed)
    // An unreferenced block kept only because an upload in progress holds it now belongs to that upload: if the
    // upload aborts (or never commits before a crash) it is deleted with the upload's own new blocks, instead of
    // staying behind unreferenced.
    let adopt = try RawStatement(
      db,
      """
      UPDATE pending SET created = 1 WHERE cid = ?1
      AND EXISTS (SELECT 1 FROM blocks WHERE blocks.cid = pending.cid AND blocks.refcount = 0)
      """)
    let gone = Set(doomed)
    for cid in candidates where !gone.contains(cid) { try adopt.run(binding: 1, cid) }
  }

  /// Every stored manifest (blocks with codec `codex-manifest`) that decodes; undecodable ones are logged and
  /// skipped.
  public func manifests() async throws -> [(cid: Cid, manifest: Manifest)] {
    let rows = try withReader("listing manifests") { db -> [(Data, [UInt8])] in
      let rows = try Row.fetchAll(
        db, sql: "SELECT cid, size, pack, pos, data FROM blocks WHERE codec = ?",
        arguments: [Int64(bitPattern: Multicodec.codexManifest.rawValue)])
      return try rows.map { row in (row[0] as Data, try blockBytes(row, from: 1, cid: nil)) }
    }
    var out: [(cid: Cid, manifest: Manifest)] = []
    for (key, bytes) in rows {
      do {
        out.append((try Cid(bytes: key), try Manifest(encoded: bytes)))
      } catch {
        logger.warning("repo: skipping an undecodable manifest", metadata: ["why": "\(error)"])
      }
    }
    return out
  }

  /// Block count and quota usage.
  public func space() async throws -> SpaceInfo {
    let q = try withReader("reading quota") { db in try quotaRow(db) }
    return SpaceInfo(
      totalBlocks: q.blocks, quotaMaxBytes: config.quotaMaxBytes, quotaUsedBytes: q.used, quotaReservedBytes: q.reserved
    )
  }

  /// Reserves quota for an availability (sales).
  /// - Throws: `StoreError.quotaExceeded` when `used + reserved + bytes` would pass the quota.
  public func reserve(bytes: UInt64) async throws {
    guard bytes > 0 else { return }
    try await withWriter("reserving \(bytes) bytes") { db, _ in
      try db.inTransaction {
        try self.checkQuota(db, adding: bytes)
        try self.adjustQuota(db, reserved: Int64(clamping: bytes))
        return .commit
      }
    }
  }

  /// Returns reserved quota.
  /// - Throws: `StoreError.invalidArgument` when fewer than `bytes` are reserved (nothing changes then).
  public func release(bytes: UInt64) async throws {
    guard bytes > 0 else { return }
    try await withWriter("releasing \(bytes) bytes") { db, _ in
      try db.inTransaction {
        let q = try self.quotaRow(db)
        guard q.reserved >= bytes else {
          throw StoreError.invalidArgument("cannot release \(bytes) bytes: only \(q.reserved) are reserved")
        }
        try self.adjustQuota(db, reserved: -Int64(clamping: bytes))
        return .commit
      }
    }
  }

  public func extendExpiry(tree treeCid: Cid, count: Int, ttl: Duration?) async throws {
    try await updateExpiry(tree: treeCid, count: count, expiry: expiry(ttl: ttl))
  }

  /// Raises to `expiry` (unix seconds) the expiry of the blocks of leaves `0..<count` of `tree` and of the
  /// manifests naming `tree` (an expired manifest's dataset is deleted, `runMaintenanceCycle`); what already
  /// expires later keeps its expiry.
  public func updateExpiry(tree: Cid, count: Int, expiry: Int64) async throws {
    guard count > 0 else { return }
    try await withWriter("updating expiry of \(tree)") { db, _ in
      try db.inTransaction {
        try db.execute(
          sql: """
            UPDATE blocks SET expiry = MAX(expiry, ?)
            WHERE cid IN (SELECT block FROM leaves WHERE tree = ? AND idx >= 0 AND idx < ?)
            """,
          arguments: [expiry, Data(tree.bytes), Int64(count)])
        try db.execute(
          sql: "UPDATE blocks SET expiry = MAX(expiry, ?) WHERE tree = ?", arguments: [expiry, Data(tree.bytes)])
        return .commit
      }
    }
  }
}
