// RepoStore: the on-disk block repository (`formats.md` §6).
//
// Why this layout. StoreBenchmark (release, on a 2-core VM shared with other builds at load ~14, so absolute
// numbers are noisy; each line is measured next to a baseline in the same run):
//   write 256 MiB of 64 KiB blocks, batches of 64:   pack files 108-212 MB/s   vs 64 KiB BLOBs inline in SQLite
//                                                    (WAL, synchronous=FULL per batch) 42-70 MB/s
//   read them back (warm):                           pack files 0.76-1.6 GB/s  vs inline BLOBs 0.31-0.53 GB/s
//   1 GiB upload through UploadSession: 70-90 MB/s with dd conv=fdatasync at 110-140 MB/s on the same disk
//   (commit of 16384 leaves 0.9 s); downloads via blockData 1.4-1.6 GB/s with one task, 2.5 GB/s with 4
//   (pread alone 2.7-3.6 GB/s); dataset delete of 1 GiB 0.4-2.4 s (68 s before hole punches were coalesced:
//   each punch is a synchronous discard on this disk).
// * Metadata lives in SQLite (GRDB DatabasePool, WAL, synchronous=NORMAL): block rows, leaf rows, quota, packs,
//   pending uploads. One transaction makes an upload, a delete or a quota change visible at once, so every
//   multi-step change is atomic, and a million blocks cost a million B-tree rows instead of a million files.
//   Start-up touches only the packs table and the (normally empty) pending / upload_batches / free_ranges tables:
//   no full scan.
// * Block bytes of 4 KiB and more (64 KiB data and parity blocks) are appended to a few large pack files at
//   4 KiB-aligned offsets and read with `pread` on descriptors kept open (thread-safe, no per-block open/close,
//   no inode per block). Storing 64 KiB blobs inline in SQLite was measured to be several times slower to write
//   (each blob goes through the WAL and again through the checkpoint) and slower to read. Small blocks
//   (manifests) are inline: one row read, no extra I/O.
// * Deletes free space with fallocate(PUNCH_HOLE|KEEP_SIZE) on the block's aligned range. The range is recorded in
//   `free_ranges` inside the delete's transaction (made durable with synchronous=FULL) and removed after
//   punching, so a crash in between is finished at the next open. Offsets in a pack are never reused, so a
//   punched hole can only ever be read by a reader racing the delete; readers hold a shared lock from the
//   metadata lookup to the end of `pread`, and punching takes it exclusively. The punching runs outside the
//   writer, beside other writes (`releaseFreeRanges()`), and a dataset's rows are deleted in steps of
//   `rowsPerStep` leaves, one transaction each (`RepoStore+Deletions.swift`): other writes wait for one step and
//   one punch at most. The longest 100 KB upload during a 4 GiB delete: 0.59-0.69 s (1.9-2.1 s with the rows in
//   one transaction, 3.6-3.8 s with the punching in the writer too); the delete itself takes 4.3 s instead of 4.2.
// * Crash safety (SIGKILL at any instant): new bytes go beyond the pack's `committed_length`, are fdatasync'd,
//   and only then does the transaction that makes them visible commit, also raising `committed_length` and
//   `quota.used`. (Upload-session `add`s defer the sync to the session's `commit`: their rows are pending, which
//   recovery rolls back, so after a power loss nothing visible can point at lost bytes; SIGKILL never loses
//   written bytes.) At open, bytes beyond `committed_length` are cut off, leftover free ranges are punched, and
//   blocks created by uploads that never committed (`pending.created = 1`, or listed in `upload_batches` and still
//   held through `blocks.upload` by the upload fast path; refcount 0) are deleted with their
//   quota given back. Accounting is therefore exact after any crash.
// * Writers are serialized on GRDB's writer queue (bytes, sync and transaction under one exclusive access), which
//   also keeps blocking I/O off Swift's cooperative threads. One exception keeps the disk busy during uploads: an
//   upload batch of new blocks may stay "pipelined" after its turn (its O_DIRECT write still running, its rows not
//   inserted); the session's next batch starts its own write and then commits the pipelined one, and any other
//   writer turn commits it first. Its rows still commit only after its bytes are written. A 1 GiB upload's disk
//   time was 0.72 s of 1.11 s before this: the disk waited after each batch for its rows and the next batch.
// * Reads run on the caller, concurrently with each other and with the writer: block/leaf lookups step one
//   prepared statement on a pooled read-only raw SQLite connection (GRDB's per-read queue hop and BEGIN/COMMIT cost
//   more than the 64 KiB `pread`: 0.5 GB/s through GRDB, 1.3-1.6 GB/s raw), other reads use GRDB's reader pool.

import CodexFormats
import Foundation
import GRDB
import Logging
import Metrics
import Multiformats
import Synchronization

/// The node's block repository on disk: blocks, dataset leaf metadata, reference counts, a hard quota, block expiry
/// and its maintenance loop, upload sessions and dataset deletion (`formats.md` §6).
///
/// All methods are safe to call concurrently. Reads run concurrently with each other and with writes; writes are
/// applied one at a time. After any crash (even SIGKILL) the next `init` recovers a consistent repo: what was
/// visible before is intact, unfinished uploads are gone and the quota counts exactly the stored blocks.
public final class RepoStore: LendingReads, ExpiringBlocks, Sendable {
  let config: RepoConfig
  let clock: any CodexClock
  let logger: Logger
  let pool: DatabasePool
  let packs: PackFiles
  let raw: RawReaders
  let writer: Mutex<WriterState>
  let nextSession: Atomic<Int64>
  let isClosed: Atomic<Bool>
  /// Set when a writer turn finished a dataset deletion as a side effect (`finishDeletion`): `withWriter` releases
  /// the space it freed after that turn (`releaseFinishedDeletionSpace()`).
  let deletionFreedSpace = Atomic(false)
  let gauges: RepoGauges
  /// Keeps any other process (or a second store in this one) from opening the same repo while this one is open.
  let lock: DirectoryLock
  /// The WAL checkpoint the last upload commit left to run after it (see `checkpointSoon()`).
  let deferredCheckpoint = Mutex<Task<Void, Never>?>(nil)
  /// Keys of blocks a read found damaged on disk (see `damaged`): storing such a block again rewrites its bytes.
  /// Only these are re-read and checked when put again, so re-storing intact blocks (a duplicate upload) stays
  /// free of reads. In memory and bounded: after a restart, the next read finds them again.
  let damagedBlocks = Mutex<Set<[UInt8]>>([])
  static let maxDamagedRemembered = 65536

  /// State owned by the (single) writer.
  struct WriterState {
    /// The pack new bytes go to (0: none yet).
    var pack: Int64
    /// Its committed length: new bytes start at the next aligned offset.
    var committed: UInt64
    /// Packs with bytes written by upload-session adds and not yet synced (see `prepare(deferSync:)`).
    var dirty: Set<Int64> = []
    /// Where `prepare` stages pack bytes (allocated on first use, then reused).
    var stageBuffer: PackStageBuffer?
    /// The upload batch whose pack write is still running and whose rows are not inserted yet (see
    /// `storeLeafBatch`). The next batch of its session completes it; any other writer turn first (`withWriter`).
    var pipelined: PipelinedBatch?
    /// The block-exchange leaf write whose pack write and sync are still running and whose rows are not inserted
    /// yet (see `startLeafBlocks`). Never at the same time as `pipelined`.
    var pipelinedLeaves: PipelinedLeaves?
    /// Staging buffers free for pipelined leaf writes (each pipelined write holds one until it is completed).
    var spareStageBuffers: [PackStageBuffer] = []
    /// Upload sessions whose pipelined batch failed when another turn completed it: their next `addLeaves` or
    /// `commit` throws this (the batch's rows and bytes were rolled back). Cleared by the abort.
    var failedSessions: [Int64: StoreError] = [:]

    /// Where the next pack bytes go: after the pipelined batch's or leaf write's bytes if there is one, else after
    /// the committed length of the current pack.
    var packTail: (pack: Int64, end: UInt64) {
      if let end = pipelined?.plan.packEnd ?? pipelinedLeaves?.plan.packEnd { return (end.id, end.length) }
      return (pack, committed)
    }

    /// The staging buffer, allocated on first use.
    mutating func stage() -> PackStageBuffer {
      if let b = stageBuffer { return b }
      let b = PackStageBuffer()
      stageBuffer = b
      return b
    }
  }

  /// The writer connection's page cache, in SQLite's `cache_size` form (negative: KiB). With SQLite's default
  /// (2 MiB, about 500 pages) an upload's batches kept reading back the pages they touch again and again (the
  /// block-key index, the blocks table's tail) from the WAL and the database file, and a 1 GiB upload's final
  /// commit (~3,500 dirty pages) spilled to the WAL before its end. Readers keep the default.
  static let writerCacheKiB = -16384

  /// Opens the repo at `config.directory`, creating it if needed, and recovers from any earlier crash.
  /// - Throws: `DirectoryLock.InUseError` when another open store holds the directory, `StoreError.io` when the
  ///   directory or database cannot be opened, `.corrupt` when it is not a repo this version understands.
  public init(config: RepoConfig, clock: any CodexClock = SystemClock(), logger: Logger) throws {
    self.config = config
    self.clock = clock
    self.logger = logger
    let packDir = config.directory + "/packs"
    do {
      try FileManager.default.createDirectory(atPath: packDir, withIntermediateDirectories: true)
    } catch {
      throw StoreError.io("cannot create repo directory \(packDir): \(error.localizedDescription)")
    }
    lock = try DirectoryLock(directory: config.directory)
    var dbConfig = Configuration()
    dbConfig.foreignKeysEnabled = true
    dbConfig.maximumReaderCount = max(4, ProcessInfo.processInfo.activeProcessorCount * 2)
    dbConfig.prepareDatabase { db in
      try db.execute(sql: "PRAGMA synchronous = NORMAL")
      if !db.configuration.readonly {
        try db.execute(sql: "PRAGMA cache_size = \(RepoStore.writerCacheKiB)")
      }
    }
    let dbPath = config.directory + "/repo.sqlite"
    do {
      pool = try DatabasePool(path: dbPath, configuration: dbConfig)
    } catch {
      throw StoreError.corrupt("cannot open \(dbPath): \(error)")
    }
    do {
      if try pool.read({ try RepoSchema.migrator.hasBeenSuperseded($0) }) {
        throw StoreError.corrupt("\(dbPath) was written by a newer version of this node; upgrade to open it")
      }
      let applied = try pool.read { try RepoSchema.migrator.appliedIdentifiers($0) }
      let pending = RepoSchema.migrator.migrations.filter { !applied.contains($0) }
      // A repo of an earlier version (not a new one): say what the upgrade does, it can take seconds on a big repo.
      let upgrading = !applied.isEmpty && !pending.isEmpty
      if upgrading {
        logger.notice(
          "repo: upgrading the repo's schema (v4 recounts every block's references: about 5 s per million blocks)",
          metadata: ["path": "\(dbPath)", "steps": "\(pending.joined(separator: ", "))"])
      }
      let start = ContinuousClock.now
      try RepoSchema.migrator.migrate(pool)
      if upgrading {
        let took = (ContinuousClock.now - start).components
        let seconds = Double(took.seconds) + Double(took.attoseconds) / 1e18
        logger.notice("repo: schema upgraded", metadata: ["seconds": "\((seconds * 10).rounded() / 10)"])
      }
    } catch let e as StoreError {
      throw e
    } catch {
      throw StoreError.corrupt("cannot set up the schema of \(dbPath): \(error)")
    }
    packs = PackFiles(directory: packDir)
    raw = RawReaders(path: dbPath)
    nextSession = Atomic(1)
    isClosed = Atomic(false)
    gauges = RepoGauges()
    writer = Mutex(WriterState(pack: 0, committed: 0))
    let state = try recover()
    writer.withLock { $0 = state }
    try? refreshGauges()
  }

  deinit {
    try? pool.close()
  }

  /// Closes the database and pack files. Running operations finish first; later calls throw
  /// `StoreError.invalidArgument`. Running upload sessions are not committed (they are rolled back at next open).
  public func close() async {
    guard !isClosed.exchange(true, ordering: .acquiringAndReleasing) else { return }
    // Wait for the writer to be idle and an upload batch still being written to be committed, then shut everything.
    _ = try? await pool.writeWithoutTransaction { db in self.writer.withLock { self.settlePipelined(db, &$0) } }
    raw.closeAll()
    packs.closeAll()
    try? pool.close()
    lock.release()
  }

  /// Simulates a crash for tests: stops using the files without any clean-up.
  func abandonForTesting() {
    isClosed.store(true, ordering: .releasing)
    // Like a crash: the rows of a pipelined batch are never inserted (but its write must end before the files close).
    writer.withLock { state in
      if let p = state.pipelined {
        _ = try? p.write.wait()
        p.batch.release()
        state.pipelined = nil
      }
    }
    raw.closeAll()
    packs.closeAll()
    try? pool.close()
    lock.release()
  }

  // MARK: - Recovery

  /// Brings the repo back to its last committed state (see the comment at the top of this file).
  private func recover() throws -> WriterState {
    do {
      return try pool.writeWithoutTransaction { db -> WriterState in
        try db.execute(sql: "PRAGMA synchronous = FULL")
        defer { try? db.execute(sql: "PRAGMA synchronous = NORMAL") }
        // 1. Packs: open every known pack, cut off uncommitted tails, remove orphan files.
        let rows = try Row.fetchAll(db, sql: "SELECT id, committed_length FROM packs ORDER BY id")
        var known = Set<Int64>()
        var last = WriterState(pack: 0, committed: 0)
        for row in rows {
          let id: Int64 = row[0]
          let length = UInt64(max(0, row[1] as Int64))
          known.insert(id)
          try packs.open(id)
          let size = try packs.size(pack: id)
          if size > length {
            logger.info(
              "repo: cutting uncommitted tail of pack", metadata: ["pack": "\(id)", "bytes": "\(size - length)"])
            try packs.truncate(pack: id, to: length)
          } else if size < length {
            logger.error(
              "repo: pack file is shorter than its committed length; blocks in it are missing",
              metadata: ["pack": "\(packs.path(id))", "size": "\(size)", "committed": "\(length)"])
          }
          last = WriterState(pack: id, committed: length)
        }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: packs.directory)) ?? []
        for name in names {
          guard let id = PackFiles.packID(fileName: name), !known.contains(id) else { continue }
          logger.info("repo: removing pack file no metadata refers to", metadata: ["file": "\(name)"])
          _ = unlink(packs.directory + "/" + name)
        }
        // 2. Uploads that never committed: delete what they created and nothing references.
        var rolledBack = 0
        try db.inTransaction {
          rolledBack += try deleteBlockRows(
            db,
            selectedBy: """
              SELECT DISTINCT p.cid FROM pending p JOIN blocks b ON b.cid = p.cid
              WHERE p.created = 1 AND b.refcount = 0
              """)
          // Blocks of fast-path batches (every session is gone: none adopts another's block).
          try db.execute(sql: "DELETE FROM pending")
          rolledBack += try releaseUploadBatches(db, session: nil)
          return .commit
        }
        if rolledBack > 0 {
          logger.info("repo: rolled back unfinished uploads", metadata: ["blocks": "\(rolledBack)"])
        }
        // 3. Dataset deletions a crash interrupted (`RepoStore+Deletions.swift`).
        let finished = try finishDeletionsAtOpen(db)
        if finished > 0 {
          logger.info("repo: finished interrupted dataset deletions", metadata: ["blocks": "\(finished)"])
        }
        // 4. Space of deleted blocks not yet released.
        try releaseFreeRanges(db, current: last.pack)
        return last
      }
    } catch let e as StoreError {
      throw e
    } catch {
      throw StoreError.io("recovery of \(config.directory) failed: \(error)")
    }
  }

  // MARK: - Helpers shared by the extensions

  func checkOpen() throws(StoreError) {
    if isClosed.load(ordering: .acquiring) { throw .invalidArgument("the repo store is closed") }
  }

  /// Runs `body` with exclusive write access: GRDB's writer connection (no transaction opened) and the writer
  /// state. A pipelined upload batch is completed first (`settlePipelined`) unless `keepingPipeline` (only
  /// `storeLeafBatch`, which completes it itself). After the turn, space a finished deletion freed is released
  /// (`releaseFinishedDeletionSpace()`). Errors other than `StoreError` become `.io`.
  func withWriter<T: Sendable>(
    _ what: @autoclosure () -> String, keepingPipeline: Bool = false,
    _ body: @escaping @Sendable (Database, inout WriterState) throws -> T
  ) async throws -> T {
    try checkOpen()
    do {
      let result = try await pool.writeWithoutTransaction { db in
        try self.checkOpen()
        let result = try self.writer.withLock { state in
          if !keepingPipeline { self.settlePipelined(db, &state) }
          return try body(db, &state)
        }
        if !db.isInsideTransaction, let q = try? self.quotaRow(db) { self.gauges.record(q) }
        return result
      }
      await releaseFinishedDeletionSpace()
      return result
    } catch let e as StoreError {
      throw e
    } catch is CancellationError {
      throw CancellationError()
    } catch {
      throw StoreError.wrapping(error, while: what())
    }
  }

  /// Runs a read under the shared pack lock (so no hole is punched under it) with a pooled reader connection.
  func withReader<T>(_ what: String, _ body: (Database) throws -> T) throws -> T {
    try checkOpen()
    do {
      return try packs.lock.withReadLock { try pool.read(body) }
    } catch let e as StoreError {
      throw e
    } catch {
      throw StoreError.io("\(what): \(error)")
    }
  }

  /// Runs a hot-path read: a pooled raw SQLite connection under the shared pack lock.
  func withRawReader<T>(_ body: (RawConnection) throws -> T) throws -> T {
    try checkOpen()
    return try packs.lock.withReadLock { try raw.with(body) }
  }

  /// Runs `body` in a transaction whose commit is durable (WAL synced) before this returns.
  func durableTransaction(_ db: Database, _ body: () throws -> Void) throws {
    try db.execute(sql: "PRAGMA synchronous = FULL")
    defer { try? db.execute(sql: "PRAGMA synchronous = NORMAL") }
    try db.inTransaction {
      try body()
      return .commit
    }
  }

  /// Changes the quota counters; fails (and the caller's transaction must roll back) if that would pass the quota.
  func adjustQuota(_ db: Database, used: Int64 = 0, reserved: Int64 = 0, blocks: Int64 = 0) throws {
    guard used != 0 || reserved != 0 || blocks != 0 else { return }
    try db.execute(
      sql: "UPDATE quota SET used = used + ?, reserved = reserved + ?, blocks = blocks + ? WHERE id = 1",
      arguments: [used, reserved, blocks])
  }

  /// The quota row: (used, reserved, blocks).
  func quotaRow(_ db: Database) throws -> (used: UInt64, reserved: UInt64, blocks: Int) {
    guard let row = try Row.fetchOne(db, sql: "SELECT used, reserved, blocks FROM quota WHERE id = 1") else {
      throw StoreError.corrupt("the quota row of \(config.directory)/repo.sqlite is missing")
    }
    let used: Int64 = row[0]
    let reserved: Int64 = row[1]
    let blocks: Int64 = row[2]
    guard used >= 0, reserved >= 0, blocks >= 0 else {
      throw StoreError.corrupt("negative quota counters (used \(used), reserved \(reserved), blocks \(blocks))")
    }
    return (UInt64(used), UInt64(reserved), Int(blocks))
  }

  /// Throws `quotaExceeded` unless `bytes` more fit under the quota, and `quotaHeld` unless they also leave
  /// `hold` free.
  func checkQuota(_ db: Database, adding bytes: UInt64, planned: UInt64 = 0, hold: QuotaHold? = nil) throws {
    guard bytes > 0 else { return }
    let q = try quotaRow(db)
    // `planned`: bytes of a pipelined upload batch, not in the quota row yet.
    let taken = q.used + q.reserved + planned
    let available = config.quotaMaxBytes > taken ? config.quotaMaxBytes - taken : 0
    if bytes > available { throw StoreError.quotaExceeded(needed: bytes, available: available) }
    if let hold, !hold.leavesRoom(for: bytes, in: available) {
      throw StoreError.quotaHeld(needed: bytes, available: available, hold: hold)
    }
  }

  /// Deletes the blocks `sql` selects (a query of block keys joined with `blocks`, so a deleted block is never
  /// selected again), in steps of `rowsPerStep` so memory stays bounded; inside the caller's transaction. Returns how
  /// many rows were deleted.
  @discardableResult
  func deleteBlockRows(_ db: Database, selectedBy sql: String, arguments: StatementArguments = []) throws -> Int {
    var deleted = 0
    while true {
      var stepArguments = arguments
      stepArguments += [config.rowsPerStep]
      let cids = try Data.fetchAll(db, sql: sql + " LIMIT ?", arguments: stepArguments)
      guard !cids.isEmpty else { return deleted }
      deleted += try deleteBlockRows(db, cids: cids)
    }
  }

  /// Deletes block rows (inside the caller's transaction): gives their bytes back to the quota and records the
  /// pack ranges to release. Missing rows are skipped. Returns how many rows were deleted.
  @discardableResult
  func deleteBlockRows(_ db: Database, cids: [Data]) throws -> Int {
    guard !cids.isEmpty else { return 0 }
    // Raw statements (see `RawStatement`): this loop runs once per block of a deleted dataset.
    let delete = try RawStatement(db, "DELETE FROM blocks WHERE cid = ?1 RETURNING size, pack, pos, refcount")
    let insert = try RawStatement(db, "INSERT OR REPLACE INTO free_ranges (pack, pos, length) VALUES (?1, ?2, ?3)")
    // The references of the leaf rows still naming a deleted block (`RepoSchema` v4): it gets them back if stored
    // again.
    let dangle = try RawStatement(
      db,
      """
      INSERT INTO dangling_refs (cid, refs) VALUES (?1, ?2)
      ON CONFLICT(cid) DO UPDATE SET refs = refs + excluded.refs
      """)
    var freed: [(pack: Int64, offset: UInt64, length: UInt64)] = []
    var freedBytes: Int64 = 0
    var count: Int64 = 0
    for cid in cids {
      // The delete happens at the first step; its one RETURNING row is read there.
      let deleted = try delete.query(binding: 1, cid) { row in
        row.map {
          (
            size: $0.int64(0), pack: $0.isNull(1) ? nil : $0.int64(1), pos: $0.isNull(2) ? nil : $0.int64(2),
            refs: $0.int64(3)
          )
        }
      }
      guard let deleted else { continue }
      freedBytes += deleted.size
      count += 1
      if deleted.refs > 0 {
        dangle.bind(2, deleted.refs)
        try dangle.run(binding: 1, cid)
      }
      if let pack = deleted.pack, let pos = deleted.pos {
        freed.append((pack, UInt64(max(0, pos)), PackFiles.align(UInt64(max(0, deleted.size)))))
      }
    }
    // One row per run of adjacent ranges (a dataset's blocks lie back to back in its packs): a 4 GiB delete records
    // a handful of rows instead of 65,536, and `releaseFreeRanges` reads back as few.
    for r in PackFiles.coalesce(freed) {
      insert.bind(1, r.pack)
      insert.bind(2, Int64(r.offset))
      insert.bind(3, Int64(r.length))
      try insert.run()
    }
    try adjustQuota(db, used: -freedBytes, blocks: -count)
    return Int(count)
  }

  /// Removes the `dangling_refs` of blocks just inserted (they started with them as their `refcount`), inside the
  /// caller's transaction. One lookup when there are none, the usual case.
  func consumeDanglingRefs(_ db: Database, keys: some Sequence<Data>) throws {
    guard try Bool.fetchOne(db, sql: "SELECT EXISTS(SELECT 1 FROM dangling_refs)") == true else { return }
    let consume = try RawStatement(db, "DELETE FROM dangling_refs WHERE cid = ?1")
    for key in keys { try consume.run(binding: 1, key) }
  }

  /// Punches every recorded free range and forgets it; then deletes pack files other than `current` that no
  /// block lives in any more. Runs inside a writer turn: used by recovery at open, where nothing else writes. The
  /// delete paths use `releaseFreeRanges()`, which punches outside the writer.
  func releaseFreeRanges(_ db: Database, current: Int64) throws {
    var after: (pack: Int64, pos: Int64) = (.min, .min)
    var touched = Set<Int64>()
    while let rows = try Self.freeRanges(db, after: after, limit: config.rowsPerStep) {
      if touched.isEmpty { config.faultHook?("delete-committed") }
      punch(rows)
      touched.formUnion(rows.map(\.pack))
      after = (rows.last!.pack, rows.last!.pos)
      if rows.count < config.rowsPerStep { break }
    }
    guard !touched.isEmpty else { return }
    config.faultHook?("punched")
    try db.execute(sql: "DELETE FROM free_ranges")
    try removeEmptyPacks(db, touched, current: current)
  }

  /// Punches every recorded free range, then forgets it and deletes pack files that no block lives in any more.
  /// Called after the transaction that recorded the ranges; its disk space is released when this returns.
  ///
  /// The holes are punched outside the writer: `fallocate` takes about half a second per GiB on this kind of
  /// machine (a 4 GiB delete held every other write up to 2 s longer before), and it is safe beside writes because
  /// a free range is never written again (packs only grow at their tail, above every committed byte, and pack ids
  /// are never reused). Each step of `rowsPerStep` ranges is read, punched, and then forgotten in a short writer
  /// turn (exactly those rows: ranges recorded meanwhile by another delete wait for their own release). Punching a
  /// range twice (two releases at once, or a crash before the rows were forgotten and recovery at the next open)
  /// is harmless.
  func releaseFreeRanges() async throws {
    var after: (pack: Int64, pos: Int64) = (.min, .min)
    var touched = Set<Int64>()
    let step = config.rowsPerStep
    while true {
      let from = after
      let rows = try withReader("reading the free ranges") { try Self.freeRanges($0, after: from, limit: step) } ?? []
      if let end = rows.last {
        // `fallocate` blocks its thread (about 2 s for a 4 GiB dataset here, in 256 MiB pieces): a dispatch thread,
        // not one of the few threads of Swift's cooperative pool.
        let first = touched.isEmpty
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
          DispatchQueue.global(qos: .utility).async {
            if first { self.config.faultHook?("delete-committed") }
            self.punch(rows)
            done.resume()
          }
        }
        touched.formUnion(rows.map(\.pack))
        after = (end.pack, end.pos)
      }
      // The last step (fewer rows than a full one, maybe none) also deletes the pack files left empty.
      let last = rows.count < step
      if last {
        guard !touched.isEmpty else { return }
        config.faultHook?("punched")
      }
      try await withWriter("forgetting released free ranges") { [touched] db, state in
        let forget = try RawStatement(db, "DELETE FROM free_ranges WHERE pack = ?1 AND pos = ?2 AND length = ?3")
        for r in rows {
          forget.bind(1, r.pack)
          forget.bind(2, r.pos)
          forget.bind(3, r.length)
          try forget.run()
        }
        if last { try self.removeEmptyPacks(db, touched, current: state.pack) }
      }
      if last { return }
    }
  }

  /// Up to `limit` recorded free ranges after `after`, in (pack, pos) order; nil when there are none.
  private static func freeRanges(
    _ db: Database, after: (pack: Int64, pos: Int64), limit: Int
  ) throws -> [(pack: Int64, pos: Int64, length: Int64)]? {
    let rows = try Row.fetchAll(
      db, sql: "SELECT pack, pos, length FROM free_ranges WHERE (pack, pos) > (?, ?) ORDER BY pack, pos LIMIT ?",
      arguments: [after.pack, after.pos, limit])
    return rows.isEmpty ? nil : rows.map { ($0[0], $0[1], $0[2]) }
  }

  /// Punches holes for free ranges (logging what fails: the space stays taken on disk, nothing is lost).
  private func punch(_ rows: [(pack: Int64, pos: Int64, length: Int64)]) {
    let ranges = rows.map { (pack: $0.pack, offset: UInt64(max(0, $0.pos)), length: UInt64(max(0, $0.length))) }
    for problem in packs.punch(ranges) {
      logger.warning("repo: could not release disk space", metadata: ["why": "\(problem)"])
    }
  }

  /// Deletes the pack files among `ids`, other than `current`, that no block lives in any more (inside a writer
  /// turn).
  private func removeEmptyPacks(_ db: Database, _ ids: Set<Int64>, current: Int64) throws {
    for id in ids.sorted() where id != current {
      let inUse = try Bool.fetchOne(db, sql: "SELECT EXISTS(SELECT 1 FROM blocks WHERE pack = ?)", arguments: [id])
      guard inUse == false else { continue }
      // Row first: a crash before the unlink leaves an orphan file, which the next open removes.
      try db.execute(sql: "DELETE FROM free_ranges WHERE pack = ?", arguments: [id])
      try db.execute(sql: "DELETE FROM packs WHERE id = ?", arguments: [id])
      packs.remove(id)
      logger.debug("repo: deleted empty pack file", metadata: ["pack": "\(id)"])
    }
  }

  /// Publishes the quota counters as metrics.
  func refreshGauges() throws {
    let q = try withReader("reading quota") { db in try quotaRow(db) }
    gauges.record(q)
  }
}

/// Metrics of the repo (names follow nim-codex where it has them).
struct RepoGauges: Sendable {
  let blocks = Gauge(label: "codex_repostore_blocks")
  let used = Gauge(label: "codex_repostore_bytes_used")
  let reserved = Gauge(label: "codex_repostore_bytes_reserved")

  func record(_ q: (used: UInt64, reserved: UInt64, blocks: Int)) {
    blocks.record(q.blocks)
    used.record(Int64(clamping: q.used))
    reserved.record(Int64(clamping: q.reserved))
  }
}

extension StoreError {
  /// A failure that is not a `StoreError` (SQLite's, mostly) as one: SQLITE_FULL is `.diskFull`, anything else
  /// `.io`; `what` says what was being done.
  static func wrapping(_ error: any Error, while what: String) -> StoreError {
    if let e = error as? DatabaseError, e.resultCode == .SQLITE_FULL { return .diskFull("\(what): \(e)") }
    return .io("\(what): \(error)")
  }
}
