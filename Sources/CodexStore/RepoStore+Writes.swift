import CodexFormats
import Foundation
import GRDB
import Multiformats

/// Storing blocks: validate and quota-check, write pack bytes and sync them, then commit the rows.
extension RepoStore {
  /// Where a block's bytes go.
  enum Placement {
    case inline
    case pack(id: Int64, pos: UInt64)
  }

  /// A write prepared outside the transaction: bytes already durable in the pack, rows still to insert.
  struct StorePlan {
    /// Blocks new to the store and where they went.
    var new: [(block: Block, placement: Placement)] = []
    /// Blocks already stored (their expiry is raised; their bytes rewritten to `placement` if they were lost).
    var existing: [(block: Block, restoredTo: Placement?)] = []
    /// The pack written to and its new committed length, if any pack bytes were written.
    var packEnd: (id: Int64, length: UInt64)?
    var newBytes: UInt64 = 0
  }

  /// Validates `blocks` against the store, checks the quota and writes the pack bytes of the new ones. Nothing is
  /// written when this throws. The caller then applies the plan in a transaction, or calls `rollback(_:state:)`
  /// if that fails.
  ///
  /// Durability: the bytes are fdatasync'd here (with every pack left dirty by earlier deferred writes) unless
  /// `deferSync`, which upload sessions use for `add`: their rows are pending, which recovery rolls back, so they
  /// may reference bytes a power loss would lose; the session's `commit` syncs before anything becomes visible.
  /// SIGKILL cannot lose written bytes (they are in the page cache), so this only matters for power loss.
  func prepare(
    _ db: Database, _ blocks: [Block], state: inout WriterState, deferSync: Bool = false, hold: QuotaHold? = nil
  ) throws -> StorePlan {
    var (plan, toWrite) = try classify(db, blocks)
    try checkQuota(db, adding: plan.newBytes, hold: hold)

    // Lay out the pack bytes.
    let big = toWrite.filter { $0.block.data.count >= RepoSchema.inlineLimit }
    if big.isEmpty {
      for w in toWrite where !w.isNew { plan.existing[w.index].restoredTo = .inline }
      if !deferSync { try syncDirty(&state) }
      return plan
    }
    let total = big.reduce(UInt64(0)) { $0 + PackFiles.align(UInt64($1.block.data.count)) }
    let (pack, start) = try placeBytes(total, after: (state.pack, state.committed))
    var pos = start
    var end = pos
    do {
      var stage = PackStage(pack: pack, offset: pos, buffer: state.stage())
      for w in toWrite {
        let placement: Placement
        if w.block.data.count >= RepoSchema.inlineLimit {
          try stage.add(w.block.data, to: packs)
          placement = .pack(id: pack, pos: pos)
          end = pos + UInt64(w.block.data.count)
          pos = PackFiles.align(end)
        } else {
          placement = .inline
        }
        if w.isNew { plan.new[w.index].placement = placement } else { plan.existing[w.index].restoredTo = placement }
      }
      try stage.flush(to: packs)
      config.faultHook?("pack-written")
      // Restored bytes belong to a block that is already visible: never defer those.
      if deferSync && toWrite.allSatisfy(\.isNew) {
        state.dirty.insert(pack)
      } else {
        try packs.sync(pack: pack)
        state.dirty.remove(pack)
        try syncDirty(&state)
        config.faultHook?("pack-synced")
      }
    } catch {
      try? packs.truncate(pack: pack, to: pack == state.pack ? state.committed : 0)
      throw error
    }
    plan.packEnd = (pack, end)
    return plan
  }

  /// Where `total` new pack bytes go after `tail` (a pack and the end of its last bytes): the next aligned offset of
  /// that pack, or the start of the next pack, created empty, when there is none yet or they would pass
  /// `config.packFileLimit`.
  func placeBytes(_ total: UInt64, after tail: (pack: Int64, end: UInt64)) throws -> (pack: Int64, pos: UInt64) {
    let pos = PackFiles.align(tail.end)
    guard tail.pack == 0 || (pos > 0 && pos + total > config.packFileLimit) else { return (tail.pack, pos) }
    let pack = tail.pack + 1
    try packs.open(pack)
    try packs.truncate(pack: pack, to: 0)  // a leftover from a failed rotation holds nothing committed
    packs.syncDirectory()
    return (pack, 0)
  }

  /// Sorts `blocks` (the empty block and repeats skipped) into new ones and ones already stored, and lists those
  /// whose bytes are to be written: the new ones, and stored ones whose bytes were lost or found damaged. Blocks in
  /// `planned` (new blocks of a pipelined write, their rows not inserted yet) count as stored.
  /// - Throws: `StoreError.sizeMismatch` when a stored block has another size.
  func classify(
    _ db: Database, _ blocks: [Block], planned: Set<Cid> = []
  ) throws -> (plan: StorePlan, toWrite: [(index: Int, block: Block, isNew: Bool)]) {
    var plan = StorePlan()
    var seen = Set<Cid>()
    let lookup = try RawStatement(db, "SELECT size, pack, pos, data IS NULL, NULL, crc FROM blocks WHERE cid = ?1")
    var toWrite: [(index: Int, block: Block, isNew: Bool)] = []
    for block in blocks where !Codex.isEmpty(block.cid) && seen.insert(block.cid).inserted {
      if planned.contains(block.cid) {
        plan.existing.append((block, nil))
        continue
      }
      lookup.bind(1, copying: block.cid.bytes)
      if let (stored, crc) = try lookup.query({ $0.map { (StoredBlockRow($0), Self.crc($0, 5)) } }) {
        guard stored.size == Int64(block.data.count) else {
          throw StoreError.sizeMismatch(block.cid, stored: Int(stored.size), given: block.data.count)
        }
        let lost = try bytesLost(stored) || (takeDamaged(block.cid.bytes) && bytesRotted(stored, crc: crc))
        plan.existing.append((block, nil))
        if lost {
          logger.warning("repo: restoring lost or damaged bytes of a stored block", metadata: ["cid": "\(block.cid)"])
          toWrite.append((plan.existing.count - 1, block, false))
        }
      } else {
        plan.new.append((block, .inline))
        plan.newBytes += UInt64(block.data.count)
        toWrite.append((plan.new.count - 1, block, true))
      }
    }
    return (plan, toWrite)
  }

  /// Syncs every pack holding bytes written with `deferSync`. Called before any transaction that could make such
  /// bytes visible.
  func syncDirty(_ state: inout WriterState) throws {
    for id in state.dirty.sorted() {
      // A pack emptied and deleted since (its session aborted) has nothing left to sync.
      if packs.descriptor(id) != nil { try packs.sync(pack: id) }
      state.dirty.remove(id)
    }
  }

  /// True if a stored block's pack bytes no longer match their checksum (damaged on disk). Asked only for blocks a
  /// read found damaged (`damagedBlocks`) when they are stored again: the good copy the network store fetched
  /// instead, or the file uploaded again. Their new bytes go to a new place; the damaged range is left as it is (it
  /// may sit on bad sectors) and counts in no quota.
  func bytesRotted(_ row: StoredBlockRow, crc: UInt32?) throws -> Bool {
    guard let crc, let pack = row.pack, let pos = row.pos, row.size > 0 else { return false }
    let data = try packs.read(pack: pack, offset: UInt64(pos), count: Int(row.size))
    return BlockChecksum.crc32c(data) != crc
  }

  /// True if a stored block's bytes are gone (pack file shorter than the block, or no bytes at all).
  func bytesLost(_ row: StoredBlockRow) throws -> Bool {
    guard let pack = row.pack, let pos = row.pos else { return row.noInline && row.size > 0 }
    guard packs.descriptor(pack) != nil else { return true }
    return try packs.size(pack: pack) < UInt64(pos) + UInt64(row.size)
  }

  /// Inserts/updates the rows of a prepared write, inside the caller's transaction. `session` records new and
  /// existing blocks as pending for that upload. `tree` tags manifest blocks with their dataset tree.
  func apply(_ db: Database, _ plan: StorePlan, expiry: Int64, session: Int64?) throws {
    // Raw statement: GRDB's per-execution bookkeeping cost more than SQLite's insert on the block-exchange path.
    let insert = try RawStatement(
      db,
      """
      INSERT INTO blocks (cid, codec, size, expiry, refcount, pack, pos, data, tree, crc)
      VALUES (?1, ?2, ?3, ?4, \(RepoSchema.danglingRefsOf1), ?5, ?6, ?7, ?8, ?9)
      """)
    for (block, placement) in plan.new {
      var tree: [UInt8]?
      if block.cid.codec == .codexManifest, let m = try? Manifest(encoded: block.data) {
        tree = m.treeCid.bytes
      }
      insert.bind(1, copying: block.cid.bytes)
      insert.bind(2, Int64(bitPattern: block.cid.codec.rawValue))
      insert.bind(3, Int64(block.data.count))
      insert.bind(4, expiry)
      switch placement {
      case .inline:
        insert.bind(5, nil as Int64?)
        insert.bind(6, nil as Int64?)
        insert.bind(7, copying: block.data)
      case .pack(let id, let pos):
        insert.bind(5, id)
        insert.bind(6, Int64(pos))
        insert.bind(7, copying: nil)
      }
      insert.bind(8, copying: tree)
      insert.bind(9, Int64(BlockChecksum.crc32c(block.data)))
      try insert.run()
    }
    try consumeDanglingRefs(db, keys: plan.new.lazy.map { Data($0.block.cid.bytes) })
    let touch = try db.cachedStatement(sql: "UPDATE blocks SET expiry = MAX(expiry, ?) WHERE cid = ?")
    let relocate = try db.cachedStatement(
      sql: "UPDATE blocks SET pack = ?, pos = ?, data = ?, crc = ? WHERE cid = ?")
    for (block, restoredTo) in plan.existing {
      let key = Data(block.cid.bytes)
      try touch.execute(arguments: [expiry, key])
      if let restoredTo {
        let (pack, pos, data) = Self.columns(restoredTo, block)
        try relocate.execute(arguments: [pack, pos, data, Int64(BlockChecksum.crc32c(block.data)), key])
      }
    }
    if let (id, length) = plan.packEnd {
      try db.execute(
        sql: """
          INSERT INTO packs (id, committed_length) VALUES (?, ?)
          ON CONFLICT(id) DO UPDATE SET committed_length = excluded.committed_length
          """,
        arguments: [id, Int64(length)])
    }
    try adjustQuota(db, used: Int64(plan.newBytes), blocks: Int64(plan.new.count))
    if let session {
      let pend = try db.cachedStatement(
        sql: "INSERT INTO pending (session, cid, created) VALUES (?, ?, ?) ON CONFLICT DO NOTHING")
      for (block, _) in plan.new { try pend.execute(arguments: [session, Data(block.cid.bytes), 1]) }
      for (block, _) in plan.existing { try pend.execute(arguments: [session, Data(block.cid.bytes), 0]) }
    }
  }

  static func columns(_ placement: Placement, _ block: Block) -> (Int64?, Int64?, Data?) {
    switch placement {
    case .inline: return (nil, nil, Data(block.data))
    case .pack(let id, let pos): return (id, Int64(pos), nil)
    }
  }

  /// Undoes the pack bytes of a plan whose transaction failed.
  func rollback(_ plan: StorePlan, state: WriterState) {
    guard let (id, _) = plan.packEnd else { return }
    try? packs.truncate(pack: id, to: id == state.pack ? state.committed : 0)
  }

  /// Marks a plan's pack bytes committed in the writer state (after its transaction committed).
  func committed(_ plan: StorePlan, state: inout WriterState) {
    config.faultHook?("rows-committed")
    if let (id, length) = plan.packEnd {
      state.pack = id
      state.committed = length
    }
  }

  /// Stores `blocks` (new ones written and synced, then one transaction). Used by `putBlock` and upload sessions
  /// (which leave `hold` free).
  func storeBlocks(_ blocks: [Block], ttl: Duration?, session: Int64?, hold: QuotaHold? = nil) async throws {
    let real = blocks.filter { !Codex.isEmpty($0.cid) }
    guard !real.isEmpty else { return }
    let expiry = expiry(ttl: ttl)
    try await withWriter("storing \(real.count) blocks") { db, state in
      try self.write(db, real, state: &state, expiry: expiry, session: session, hold: hold)
    }
  }

  /// One durable block write on the writer: `prepare` (pack bytes written and synced unless an upload session
  /// defers it), then `apply` and `alsoInTransaction` in one transaction; the pack bytes are rolled back if that
  /// fails.
  func write(
    _ db: Database, _ blocks: [Block], state: inout WriterState, expiry: Int64, session: Int64?,
    hold: QuotaHold? = nil, alsoInTransaction: (Database) throws -> Void = { _ in }
  ) throws {
    let plan = try prepare(db, blocks, state: &state, deferSync: session != nil, hold: hold)
    do {
      try db.inTransaction {
        try apply(db, plan, expiry: expiry, session: session)
        try alsoInTransaction(db)
        return .commit
      }
    } catch {
      rollback(plan, state: state)
      throw error
    }
    committed(plan, state: &state)
  }

  /// The expiry (Unix seconds) of a block stored now with `ttl` (nil: `config.blockTTL`). Saturates at the ends of
  /// `Int64`: a TTL of centuries (`--block-ttl 9223372036854775807s`) means "never expires" instead of trapping.
  func expiry(ttl: Duration?) -> Int64 {
    let (sum, overflow) = clock.now().addingReportingOverflow((ttl ?? config.blockTTL).components.seconds)
    return overflow ? (sum < 0 ? .max : .min) : sum
  }
}

/// The columns of a `blocks` row a write looks at: `SELECT size, pack, pos, data IS NULL[, upload]`.
struct StoredBlockRow {
  let size: Int64
  let pack: Int64?
  let pos: Int64?
  /// `data IS NULL`.
  let noInline: Bool
  /// The upload session holding the block (nil when not selected).
  let upload: Int64?

  init(_ r: RawRow, withUpload: Bool = false) {
    size = r.int64(0)
    pack = r.isNull(1) ? nil : r.int64(1)
    pos = r.isNull(2) ? nil : r.int64(2)
    noInline = r.int64(3) != 0
    upload = withUpload && !r.isNull(4) ? r.int64(4) : nil
  }
}
