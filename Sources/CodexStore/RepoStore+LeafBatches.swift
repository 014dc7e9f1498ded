import CodexFormats
import Foundation
import GRDB
import Multiformats
import Synchronization

/// The upload fast path: a `BlockBatch` stored with one `pwritev` and one transaction.
extension RepoStore {
  /// Where each block of a batch went: new blocks, blocks already stored (and whether their lost bytes were
  /// rewritten), duplicates within the batch.
  struct BatchPlan {
    var new: [(index: Int, key: Data, placement: Placement)] = []
    var existing: [(index: Int, key: Data, restoredTo: Placement?, ownUpload: Bool)] = []
    var packEnd: (id: Int64, length: UInt64)?
    var newBytes: UInt64 = 0
    /// The pack write of the batch's new blocks, left for `storeLeafBatch` to run while it inserts the rows.
    var write: PackWrite?

    var storePlan: StorePlan {
      var p = StorePlan()
      p.packEnd = packEnd
      return p
    }
  }

  /// Stores the (hashed) blocks of `batch` for upload session `session` and appends their digests to `leaves`:
  /// quota check, one `pwritev` of the bytes new to the store (not synced: the session's commit syncs), one
  /// transaction for the rows. Nothing of this batch is written when it throws.
  ///
  /// Pipelined: when every block of the batch is new, its `pwritev` starts and the call returns without waiting
  /// for it; the batch stays `pipelined` (held, see `BlockBatch.released()`) and its rows are inserted by the
  /// session's next batch, while that batch's own write runs, or by whatever writer turn comes first
  /// (`settlePipelined`, e.g. the commit). The disk then always has the next batch's bytes to write instead of
  /// waiting, after each batch, for its rows, the next batch's hashing and the task hops (on this machine the
  /// gaps were a third of a 1 GiB upload's time). Rows still commit only after their bytes were written.
  func storeLeafBatch(_ batch: BlockBatch, session: Int64, leaves: LeafSpillBox, hold: QuotaHold? = nil) async throws {
    let n = batch.count
    guard n > 0 else { return }
    let expiry = expiry(ttl: nil)
    leaves.noteExpiry(expiry)
    try await withWriter("storing \(n) blocks", keepingPipeline: true) { db, state in
      if let failure = state.failedSessions[session] { throw failure }
      // Another upload's batch is completed now (a failure there is that upload's, not this one's), and so is a
      // pipelined block-exchange write: its bytes lie before this batch's.
      if let other = state.pipelined, other.session != session { self.settleUploadBatch(db, &state) }
      self.settlePipelinedLeaves(db, &state)
      let plan: BatchPlan
      do {
        plan = try self.prepareBatch(db, batch, session: session, state: &state, hold: hold)
      } catch {
        // Refused (quota, size mismatch) or failed before writing: the batch before it is still completed.
        self.settlePipelined(db, &state)
        throw error
      }
      // The bytes go to the disk on another thread while this one completes the previous batch (or, unpipelined,
      // prepares the rows).
      let write = plan.write.map { BackgroundPackWrite.start(packs: self.packs, $0) }
      if let previous = state.pipelined {
        state.pipelined = nil
        do {
          try self.complete(db, previous, state: &state)
        } catch {
          // This batch's bytes were placed after the failed one's: both go.
          _ = try? write?.wait()
          self.abandon(previous, state: state)
          self.rollback(plan.storePlan, state: state)
          throw Self.storeError(error, session: session)
        }
      }
      if let write {
        batch.hold()
        leaves.inFlight(+1)
        state.pipelined = PipelinedBatch(
          session: session, batch: batch, plan: plan, write: write, leaves: leaves, expiry: expiry)
        return
      }
      do {
        try self.commitBatch(
          db, plan, batch: batch, write: nil, session: session, expiry: expiry, leaves: leaves, state: &state)
      } catch {
        self.rollback(plan.storePlan, state: state)
        throw error
      }
    }
  }

  /// One transaction for a batch: its rows (after its pack write ended, when there is one) and its digests appended
  /// to the session's leaves; then its pack bytes count as committed. When it throws, nothing was committed (the
  /// caller rolls the plan back; the session is failed then, its leaf list no longer trusted).
  private func commitBatch(
    _ db: Database, _ plan: BatchPlan, batch: BlockBatch, write: BackgroundPackWrite?, session: Int64,
    expiry: Int64, leaves: LeafSpillBox, state: inout WriterState
  ) throws {
    try db.inTransaction {
      try self.applyBatch(db, plan, batch: batch, expiry: expiry, session: session, seq: Int64(leaves.count))
      if let write {
        try write.wait()
        self.config.faultHook?("pack-written")
      }
      try leaves.append(batch.digests)
      return .commit
    }
    committed(plan.storePlan, state: &state)
  }

  /// Commits a pipelined batch (`commitBatch`) and releases it. When it throws, nothing was committed: the caller
  /// calls `abandon`.
  private func complete(_ db: Database, _ p: PipelinedBatch, state: inout WriterState) throws {
    try commitBatch(
      db, p.plan, batch: p.batch, write: p.write, session: p.session, expiry: p.expiry, leaves: p.leaves,
      state: &state)
    p.leaves.inFlight(-1)
    p.batch.release()
  }

  /// Undoes a pipelined batch that could not be completed: waits for its write, cuts its bytes off the pack and
  /// releases the batch.
  private func abandon(_ p: PipelinedBatch, state: WriterState) {
    _ = try? p.write.wait()
    rollback(p.plan.storePlan, state: state)
    p.leaves.inFlight(-1)
    p.batch.release()
  }

  /// Completes the session's pipelined batch (see `storeLeafBatch`) and throws a failure of it.
  func flushLeafBatches(session: Int64) async throws {
    try await withWriter("writing the last batch of upload \(session)") { _, state in
      if let failure = state.failedSessions[session] { throw failure }
    }
  }

  /// Completes whatever is pipelined: an upload batch (`settleUploadBatch`) or a block-exchange leaf write
  /// (`settlePipelinedLeaves`). At most one of them exists at a time. The turn goes on after a failure.
  func settlePipelined(_ db: Database, _ state: inout WriterState) {
    settleUploadBatch(db, &state)
    settlePipelinedLeaves(db, &state)
  }

  /// Completes the pipelined upload batch, if any (see `storeLeafBatch`). A failure is its session's: it is rolled
  /// back and recorded in `failedSessions`, and the turn goes on.
  func settleUploadBatch(_ db: Database, _ state: inout WriterState) {
    guard let p = state.pipelined else { return }
    state.pipelined = nil
    do {
      try complete(db, p, state: &state)
    } catch {
      abandon(p, state: state)
      let failure = Self.storeError(error, session: p.session)
      state.failedSessions[p.session] = failure
      logger.warning(
        "repo: storing a batch of an upload failed", metadata: ["session": "\(p.session)", "why": "\(failure)"])
    }
  }

  static func storeError(_ error: any Error, session: Int64) -> StoreError {
    (error as? StoreError) ?? .wrapping(error, while: "storing blocks of upload \(session)")
  }

  private func prepareBatch(
    _ db: Database, _ batch: BlockBatch, session: Int64, state: inout WriterState, hold: QuotaHold?
  ) throws -> BatchPlan {
    var plan = BatchPlan()
    var seen = Set<Data>()
    let size = batch.blockSize
    // A raw statement (see `RawStatement`): GRDB's per-lookup argument arrays and row objects cost more CPU than
    // SQLite's own work here.
    let lookup = try RawStatement(
      db, "SELECT size, pack, pos, data IS NULL, upload, crc FROM blocks WHERE cid = ?1")
    // Blocks whose bytes are to be written, in pack order: (batch index, index into new or existing).
    var toWrite: [(index: Int, isNew: Bool, slot: Int)] = []
    // The pipelined batch (this session's, see `storeLeafBatch`) inserts its new blocks before this one's rows.
    let pipelinedKeys = state.pipelined?.newKeys ?? []
    for i in 0..<batch.count {
      let key = RepoSchema.blockKey(digest: batch.digest(i))
      guard seen.insert(key).inserted else { continue }
      if pipelinedKeys.contains(key) {
        plan.existing.append((i, key, nil, true))
        continue
      }
      let found = try lookup.query(binding: 1, key) {
        $0.map { (StoredBlockRow($0, withUpload: true), Self.crc($0, 5)) }
      }
      if let (row, crc) = found {
        guard row.size == Int64(size) else {
          throw StoreError.sizeMismatch(batch.cid(i), stored: Int(row.size), given: size)
        }
        plan.existing.append((i, key, nil, row.upload == session))
        // Uploading a file again heals its blocks a read found damaged on disk.
        if try bytesLost(row) || (takeDamaged(Array(key)) && bytesRotted(row, crc: crc)) {
          logger.warning(
            "repo: restoring lost or damaged bytes of a stored block", metadata: ["cid": "\(batch.cid(i))"])
          toWrite.append((i, false, plan.existing.count - 1))
        }
      } else {
        plan.new.append((i, key, .inline))
        plan.newBytes += UInt64(size)
        toWrite.append((i, true, plan.new.count - 1))
      }
    }
    // The pipelined batch's new bytes are not in the quota row yet.
    try checkQuota(db, adding: plan.newBytes, planned: state.pipelined?.plan.newBytes ?? 0, hold: hold)
    guard !toWrite.isEmpty else { return plan }

    // Every block is a multiple of the alignment, so the blocks go back to back: one contiguous range.
    let total = UInt64(toWrite.count * size)
    let tail = state.packTail
    let (pack, start) = try placeBytes(total, after: tail)
    var pos = start
    do {
      var segments: [UnsafeRawBufferPointer] = []
      segments.reserveCapacity(toWrite.count)
      for w in toWrite {
        segments.append(batch.block(w.index))
        if w.isNew {
          plan.new[w.slot].placement = .pack(id: pack, pos: pos)
        } else {
          plan.existing[w.slot].restoredTo = .pack(id: pack, pos: pos)
        }
        pos += UInt64(size)
      }
      if toWrite.allSatisfy(\.isNew) {
        // Written by the caller, overlapped with the row inserts (see `storeLeafBatch`).
        plan.write = PackWrite(pack: pack, offset: start, segments: segments)
        state.dirty.insert(pack)
      } else {
        try packs.write(pack: pack, offset: start, segments: segments)
        config.faultHook?("pack-written")
        // Restored bytes belong to a block that is already visible: never defer those.
        try packs.sync(pack: pack)
        state.dirty.remove(pack)
        try syncDirty(&state)
        config.faultHook?("pack-synced")
      }
    } catch {
      try? packs.truncate(pack: pack, to: pack == tail.pack ? tail.end : 0)
      throw error
    }
    plan.packEnd = (pack, pos)
    return plan
  }

  /// New blocks get `upload` = the session and their digests one `upload_batches` row (no `pending` row each);
  /// existing blocks get their expiry raised and a `pending` row (unless this session created them).
  private func applyBatch(
    _ db: Database, _ plan: BatchPlan, batch: BlockBatch, expiry: Int64, session: Int64, seq: Int64
  ) throws {
    let size = batch.blockSize
    var digests = Data(capacity: 32 * plan.new.count)
    if !plan.new.isEmpty {
      // A raw statement with the batch's constants bound once (see `RawStatement`).
      let insert = try RawStatement(
        db,
        """
        INSERT INTO blocks (cid, codec, size, expiry, refcount, pack, pos, data, tree, upload, crc)
        VALUES (?1, ?2, ?3, ?4, \(RepoSchema.danglingRefsOf1), ?5, ?6, NULL, NULL, ?7, ?8)
        """)
      insert.bind(2, Int64(bitPattern: Multicodec.codexBlock.rawValue))
      insert.bind(3, Int64(size))
      insert.bind(4, expiry)
      insert.bind(7, session)
      for (index, key, placement) in plan.new {
        guard case .pack(let pack, let pos) = placement else { continue }
        insert.bind(5, pack)
        insert.bind(6, Int64(pos))
        insert.bind(8, Int64(batch.crc(index)))
        try insert.run(binding: 1, key)
        digests.append(contentsOf: batch.digest(index))
      }
    }
    try consumeDanglingRefs(db, keys: plan.new.lazy.map(\.key))
    let pend = try db.cachedStatement(
      sql: "INSERT INTO pending (session, cid, created) VALUES (?, ?, ?) ON CONFLICT DO NOTHING")
    if !digests.isEmpty {
      try db.execute(
        sql: "INSERT INTO upload_batches (session, seq, digests) VALUES (?, ?, ?)",
        arguments: [session, seq, digests])
    }
    let touch = try db.cachedStatement(sql: "UPDATE blocks SET expiry = MAX(expiry, ?) WHERE cid = ?")
    let relocate = try db.cachedStatement(
      sql: "UPDATE blocks SET pack = ?, pos = ?, data = NULL, crc = ? WHERE cid = ?")
    for (index, key, restoredTo, ownUpload) in plan.existing {
      try touch.execute(arguments: [expiry, key])
      if case .pack(let pack, let pos) = restoredTo {
        try relocate.execute(arguments: [pack, Int64(pos), Int64(batch.crc(index)), key])
      }
      if !ownUpload { try pend.execute(arguments: [session, key, 0]) }
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
  }

  /// Commits an upload session whose blocks came through `storeLeafBatch`: in ONE durable transaction, the
  /// manifest block is stored, every leaf row `(tree, i) → (block, proof)` is inserted (proofs computed from
  /// `leaves` in a streaming pass, so memory does not grow with the dataset) with its reference counted, and the
  /// session's pending marks are cleared.
  func commitLeaves(session: Int64, treeCid: Cid, leaves: LeafSpillBox, manifest: Block) async throws {
    let expiry = leaves.manifestExpiry(expiry(ttl: nil))
    try await withWriter("committing upload of \(treeCid)") { db, writer in
      // `withWriter` completed this session's last batch; it may have failed.
      if let failure = writer.failedSessions[session] { throw failure }
      let plan = try self.prepare(db, [manifest], state: &writer)
      // The leaf rows are MiBs of WAL, past SQLite's auto-checkpoint threshold: the checkpoint that would copy them
      // into the database file inside this commit (while the client waits for its answer) runs right after it
      // instead (`checkpointSoon()`). The commit is exactly as durable (WAL synced before it returns).
      let autoCheckpoint = try Int.fetchOne(db, sql: "PRAGMA wal_autocheckpoint") ?? 1000
      try db.execute(sql: "PRAGMA wal_autocheckpoint = 0")
      defer { try? db.execute(sql: "PRAGMA wal_autocheckpoint = \(autoCheckpoint)") }
      do {
        try self.durableTransaction(db) {
          try self.apply(db, plan, expiry: expiry, session: nil)
          try self.finishDeletion(db, tree: Data(treeCid.bytes))
          // One row per leaf: raw statements with borrowed bindings (GRDB's per-execution argument arrays cost more
          // CPU than SQLite's own work here, and the whole commit is time the client waits for).
          let insert = try RawStatement(
            db, "INSERT INTO leaves (tree, idx, block, proof) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING")
          // Counting the reference also ends this session's hold on the blocks it created (`upload`).
          let ref = try RawStatement(
            db,
            """
            UPDATE blocks SET refcount = refcount + 1, upload = CASE WHEN upload = ?1 THEN NULL ELSE upload END
            WHERE cid = ?2
            """)
          let release = try RawStatement(db, "UPDATE blocks SET upload = NULL WHERE cid = ?2 AND upload = ?1")
          ref.bind(1, session)
          release.bind(1, session)
          let treeKey = treeCid.bytes
          // The leaf's block key: the CID prefix, then the digest copied in for each leaf.
          let prefix = RepoSchema.blockKeyPrefix.count
          var key = [UInt8](RepoSchema.blockKeyPrefix) + [UInt8](repeating: 0, count: 32)
          try treeKey.withUnsafeBytes { tree in
            insert.bind(1, tree)
            try leaves.forEachLeafEncoded { index, digest, proof in
              key.withUnsafeMutableBytes {
                UnsafeMutableRawBufferPointer(rebasing: $0[prefix...]).copyMemory(from: digest)
              }
              try key.withUnsafeBytes { key in
                insert.bind(2, Int64(index))
                insert.bind(3, key)
                insert.bind(4, proof)
                guard try insert.run() == 1 else {
                  // The leaf row exists (the same dataset committed meanwhile): no new reference, but the hold ends.
                  release.bind(2, key)
                  try release.run()
                  return
                }
                ref.bind(2, key)
                if try ref.run() == 0 {
                  let cid = Cid(codec: .codexBlock, multihash: Multihash(code: .sha2_256, digest: Array(digest)))
                  throw StoreError.notFound("block \(cid) of leaf \(index) of tree \(treeCid) is not stored")
                }
              }
            }
          }
          try db.execute(sql: "DELETE FROM pending WHERE session = ?", arguments: [session])
          try db.execute(sql: "DELETE FROM upload_batches WHERE session = ?", arguments: [session])
        }
      } catch {
        self.rollback(plan, state: writer)
        throw error
      }
      self.committed(plan, state: &writer)
      self.config.faultHook?("upload-committed")
    }
    checkpointSoon()
  }

  /// Starts a passive checkpoint of the WAL on the writer and returns without waiting for it (see
  /// `commitLeaves`); `deferredCheckpoint` holds it. A checkpoint that fails or finds the store closed is left
  /// to SQLite's next auto-checkpoint (or the close).
  func checkpointSoon() {
    let task = Task.detached(priority: .utility) { [self] in
      do {
        _ = try await withWriter("checkpointing the WAL") { db, _ in try db.checkpoint(.passive) }
      } catch {
        logger.debug("repo: deferred WAL checkpoint skipped", metadata: ["why": "\(error)"])
      }
    }
    deferredCheckpoint.withLock { $0 = task }
  }
}

/// A `LeafSpill` shared between an upload session and the store's writer, behind a lock (hence
/// `@unchecked Sendable`: every access to `spill` holds `lock`).
final class LeafSpillBox: @unchecked Sendable {
  private let lock = NSLock()
  private var spill: LeafSpill?
  private let directory: String
  /// Batches of the session still pipelined in the store: their digests are not appended yet.
  private var pipelined = 0
  /// The expiry given to the session's first stored blocks (the earliest): its manifest gets no later one.
  private var firstExpiry: Int64?

  init(directory: String) {
    self.directory = directory
  }

  func append(_ digests: UnsafeRawBufferPointer) throws {
    try lock.withLock {
      if spill == nil { spill = try LeafSpill(directory: directory) }
      try spill!.append(digests)
    }
  }

  var count: Int { lock.withLock { spill?.count ?? 0 } }

  /// Notes the expiry of blocks the session stores now (only the first one counts: the clock goes forward).
  func noteExpiry(_ expiry: Int64) { lock.withLock { firstExpiry = min(firstExpiry ?? expiry, expiry) } }

  /// The expiry for the session's manifest, where a block stored now expires at `expiry`: no later than the
  /// session's first blocks'. A manifest that outlived the blocks it lists would stay listed while maintenance
  /// deletes them.
  func manifestExpiry(_ expiry: Int64) -> Int64 { lock.withLock { min(expiry, firstExpiry ?? expiry) } }

  /// Counts a batch entering (+1) or leaving (-1) the store's pipeline.
  func inFlight(_ delta: Int) { lock.withLock { pipelined += delta } }

  func buildTree() throws -> [UInt8] {
    try lock.withLock {
      guard pipelined == 0 else {
        throw StoreError.invalidArgument("the upload's last blocks are still being written; flush() the session first")
      }
      guard let spill else { throw StoreError.invalidArgument("the upload has no blocks") }
      return try spill.buildTree()
    }
  }

  func forEachLeaf(_ body: (Int, [UInt8], CodexProof) throws -> Void) throws {
    try lock.withLock {
      guard let spill else { throw StoreError.invalidArgument("the upload has no blocks") }
      try spill.forEachLeaf(body)
    }
  }

  func forEachLeafEncoded(_ body: (Int, UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Void) throws {
    try lock.withLock {
      guard let spill else { throw StoreError.invalidArgument("the upload has no blocks") }
      try spill.forEachLeafEncoded(body)
    }
  }

  /// Drops the file.
  func close() { lock.withLock { spill = nil } }
}

/// A batch's pack write: where, and the bytes (pointers into the batch's buffer, valid while the batch is being
/// stored; hence `@unchecked Sendable`).
struct PackWrite: @unchecked Sendable {
  let pack: Int64
  let offset: UInt64
  let segments: [UnsafeRawBufferPointer]
}

/// Runs a `PackWrite` on a global dispatch thread (the O_DIRECT `pwritev` mostly waits for the disk) so the store's
/// writer can insert the batch's rows meanwhile. `wait()` returns when it ended (any number of times) and rethrows
/// its error.
final class BackgroundPackWrite: Sendable {
  private let group = DispatchGroup()
  private let failure = Mutex<StoreError?>(nil)

  private init() {}

  /// Starts `write` on another thread; with `sync`, the pack is made durable after it (`PackFiles.sync`).
  static func start(packs: PackFiles, _ write: PackWrite, sync: Bool = false) -> BackgroundPackWrite {
    let running = BackgroundPackWrite()
    running.group.enter()
    DispatchQueue.global(qos: .userInitiated).async {
      do throws(StoreError) {
        try packs.write(pack: write.pack, offset: write.offset, segments: write.segments)
        if sync { try packs.sync(pack: write.pack) }
      } catch {
        running.failure.withLock { $0 = error }
      }
      running.group.leave()
    }
    return running
  }

  func wait() throws(StoreError) {
    group.wait()
    if let error = failure.withLock({ $0 }) { throw error }
  }
}

/// An upload batch whose pack write is running and whose rows are not inserted yet (`RepoStore.storeLeafBatch`).
/// Holds the batch (held: its buffer is being written) and the session's leaf list (hence `@unchecked Sendable`:
/// only the store's writer touches it, under the writer lock).
struct PipelinedBatch: @unchecked Sendable {
  let session: Int64
  let batch: BlockBatch
  let plan: RepoStore.BatchPlan
  let write: BackgroundPackWrite
  let leaves: LeafSpillBox
  let expiry: Int64
  /// Keys of the blocks this batch inserts: the next batch of the session finds them stored.
  let newKeys: Set<Data>

  init(
    session: Int64, batch: BlockBatch, plan: RepoStore.BatchPlan, write: BackgroundPackWrite, leaves: LeafSpillBox,
    expiry: Int64
  ) {
    self.session = session
    self.batch = batch
    self.plan = plan
    self.write = write
    self.leaves = leaves
    self.expiry = expiry
    newKeys = Set(plan.new.map(\.key))
  }
}
