import CodexFormats
import Foundation
import GRDB
import Multiformats
import Synchronization

extension RepoStore {
  /// Starts an upload: blocks added through the session are stored durably but belong to no dataset until
  /// `commit`. If the process dies first, the next open deletes them (unless something else references them).
  /// `hold`, asked before each batch, is quota the upload must leave free (bytes promised to running downloads):
  /// a batch that fits only in it is refused with `StoreError.quotaHeld`.
  public func beginUpload(leaving hold: (@Sendable () -> QuotaHold)? = nil) async throws -> UploadSession {
    try checkOpen()
    return UploadSession(store: self, id: nextSession.wrappingAdd(1, ordering: .relaxed).oldValue, hold: hold)
  }
}

/// One upload in progress (see `RepoStore.beginUpload`). Call `add` with batches of blocks (bigger batches are
/// faster: one sync per batch), then `commit` once, or `abort`. Dropping an unfinished session aborts it.
public final class UploadSession: Sendable {
  enum State { case open, committed, aborted }

  let store: RepoStore
  /// The session id in the `pending` table.
  public let id: Int64
  private let state = Mutex(State.open)
  /// Leaf digests of blocks added with `addLeaves`, spilled to a temporary file.
  let leaves: LeafSpillBox
  /// Set when an `addLeaves` failed part-way: the leaf list may no longer match the blocks, so only abort is left.
  private let broken = Mutex(false)
  /// Quota the upload leaves free (see `RepoStore.beginUpload(leaving:)`).
  private let hold: (@Sendable () -> QuotaHold)?

  init(store: RepoStore, id: Int64, hold: (@Sendable () -> QuotaHold)? = nil) {
    self.store = store
    self.id = id
    self.hold = hold
    leaves = LeafSpillBox(directory: store.config.directory)
  }

  deinit {
    if state.withLock({ $0 }) == .open {
      let store = self.store
      let id = self.id
      Task { await store.abortSession(id) }
    }
  }

  /// Stores blocks for this upload: quota-checked before anything is written, bytes synced and rows committed
  /// (as pending) before it returns. Blocks already stored get their expiry raised and are protected from
  /// deletion until the session ends.
  /// - Throws: `StoreError.quotaExceeded` or `.quotaHeld` (nothing of this batch written), `.sizeMismatch`,
  ///   `.invalidArgument` after commit/abort.
  public func add(_ blocks: [Block]) async throws {
    try checkOpen()
    leaves.noteExpiry(store.expiry(ttl: nil))  // no later than what `storeBlocks` gives them
    try await store.storeBlocks(blocks, ttl: nil, session: id, hold: hold?())
  }

  /// Stores a batch of hashed blocks (see `BlockBatch.hashAll`) as the next leaves of the dataset, in order: one
  /// `pwritev` of the bytes new to the store and one transaction for their (pending) rows; the leaf digests go to
  /// a temporary file, so memory does not grow with the upload. Call it from one task at a time, in leaf order.
  /// The store may still be writing the batch's bytes when this returns (the write overlaps the next batch's; see
  /// `RepoStore.storeLeafBatch`): await `batch.released()` before reusing it. A failure of that write surfaces at
  /// the session's next `addLeaves` or at `commit`.
  /// - Throws: `StoreError.quotaExceeded` or `.quotaHeld` (nothing of this batch written), `.sizeMismatch`,
  ///   `.invalidArgument` after commit/abort. After an error, only `abort` is left.
  public func addLeaves(_ batch: BlockBatch) async throws {
    try checkOpen()
    do {
      try await store.storeLeafBatch(batch, session: id, leaves: leaves, hold: hold?())
    } catch {
      broken.withLock { $0 = true }
      throw error
    }
  }

  /// Waits until every batch given to `addLeaves` is stored (the last one's write may still run when `addLeaves`
  /// returns) and throws if one failed. Call it before `buildTree()`; `commit(manifest:)` calls it.
  public func flush() async throws {
    try checkOpen()
    do {
      try await store.flushLeafBatches(session: id)
    } catch {
      broken.withLock { $0 = true }
      throw error
    }
  }

  /// The number of leaves added with `addLeaves` and stored (see `flush()`).
  public var leafCount: Int { leaves.count }

  /// Builds the dataset tree over the leaves added with `addLeaves` (streaming over the temporary file; CPU work,
  /// run it off I/O event loops) and returns its `codex-root` CID. Call `flush()` first.
  /// - Throws: `StoreError.invalidArgument` without leaves, before `flush()` or after a failed `addLeaves`, `.io`.
  public func buildTree() throws -> Cid {
    try checkOpen()
    if broken.withLock({ $0 }) { throw StoreError.invalidArgument("upload session \(id) failed; abort it") }
    return Codex.treeCid(root: try leaves.buildTree())
  }

  /// Makes the dataset of the leaves added with `addLeaves` visible in ONE durable transaction: the manifest
  /// block (whose tree must be `buildTree()`'s), every leaf row with its proof (computed in a streaming pass, the
  /// rows inserted as they come) and its block's reference, and the end of this session's pending marks.
  /// - Throws: `StoreError.invalidArgument` when the manifest names another tree or the tree is not built,
  ///   `.quotaExceeded` for the manifest; the session stays open then (abort it).
  public func commit(manifest: Block) async throws {
    try checkOpen()
    try await flush()
    let treeCid = try buildTree()
    guard let m = try? Manifest(encoded: manifest.data), m.treeCid == treeCid else {
      throw StoreError.invalidArgument("the manifest of upload session \(id) does not name its tree \(treeCid)")
    }
    try await store.commitLeaves(session: id, treeCid: treeCid, leaves: leaves, manifest: manifest)
    state.withLock { $0 = .committed }
    leaves.close()
  }

  /// Makes the dataset visible in ONE transaction: leaf `i` of `treeCid` is `leaves[i]` (rows created if absent,
  /// references counted), the manifest block is stored, and this session's pending marks are cleared.
  /// - Throws: `StoreError.notFound` when a leaf's block is not stored, `.quotaExceeded` for the manifest; the
  ///   session stays open then (abort it or retry).
  public func commit(treeCid: Cid, leaves: [(blockCid: Cid, proof: CodexProof)], manifest: Block) async throws {
    try checkOpen()
    let store = self.store
    let id = self.id
    let expiry = self.leaves.manifestExpiry(store.expiry(ttl: nil))
    let indexed = leaves.enumerated().map { (index: $0.offset, blockCid: $0.element.blockCid, proof: $0.element.proof) }
    try await store.withWriter("committing upload of \(treeCid)") { db, writer in
      let plan = try store.prepare(db, [manifest], state: &writer)
      do {
        try store.durableTransaction(db) {
          try store.apply(db, plan, expiry: expiry, session: nil)
          try store.insertLeaves(db, tree: treeCid, indexed)
          try db.execute(sql: "DELETE FROM pending WHERE session = ?", arguments: [id])
        }
      } catch {
        store.rollback(plan, state: writer)
        throw error
      }
      store.committed(plan, state: &writer)
    }
    state.withLock { $0 = .committed }
  }

  /// Ends the upload without a dataset: blocks this session created that nothing references (and no other upload
  /// holds) are deleted and their quota given back. Idempotent; a no-op after `commit`.
  public func abort() async {
    let wasOpen = state.withLock { s -> Bool in
      defer { if s == .open { s = .aborted } }
      return s == .open
    }
    guard wasOpen else { return }
    await store.abortSession(id)
    leaves.close()
  }

  private func checkOpen() throws(StoreError) {
    let s = state.withLock { $0 }
    guard s == .open else {
      throw .invalidArgument("upload session \(id) is already \(s == .committed ? "committed" : "aborted")")
    }
  }
}

extension RepoStore {
  /// Ends the hold of upload session `session` (or of every session, for recovery) on the blocks its fast-path
  /// batches created (`upload_batches`, `blocks.upload`), inside the caller's transaction, and deletes those left
  /// unreferenced that no other open upload holds; returns how many it deleted. A block another upload holds through
  /// a `pending` row passes to that upload (`created = 1`), as in `abortSession`. Works one batch row at a time, so
  /// memory stays bounded whatever the upload's size (a block is created by one batch only).
  @discardableResult
  func releaseUploadBatches(_ db: Database, session: Int64?) throws -> Int {
    let rows =
      if let session {
        try Data.fetchCursor(db, sql: "SELECT digests FROM upload_batches WHERE session = ?", arguments: [session])
      } else {
        try Data.fetchCursor(db, sql: "SELECT digests FROM upload_batches")
      }
    let lookup = try db.cachedStatement(sql: "SELECT refcount, upload FROM blocks WHERE cid = ?")
    let release = try db.cachedStatement(sql: "UPDATE blocks SET upload = NULL WHERE cid = ?")
    let adopt = try db.cachedStatement(
      sql:
        "UPDATE pending SET created = 1 WHERE cid = ?1 AND session = (SELECT session FROM pending WHERE cid = ?1 LIMIT 1)"
    )
    var deleted = 0
    while let digests = try rows.next() {
      var doomed: [Data] = []
      for key in RepoSchema.blockKeys(digests: digests) {
        guard let row = try Row.fetchOne(lookup, arguments: [key]) else { continue }
        let refcount: Int64 = row[0]
        let upload: Int64? = row[1]
        guard let upload, session == nil || upload == session else { continue }
        try release.execute(arguments: [key])
        guard refcount == 0 else { continue }
        try adopt.execute(arguments: [key])
        if db.changesCount == 0 { doomed.append(key) }
      }
      deleted += try deleteBlockRows(db, cids: doomed)
    }
    if let session {
      try db.execute(sql: "DELETE FROM upload_batches WHERE session = ?", arguments: [session])
    } else {
      try db.execute(sql: "DELETE FROM upload_batches")
    }
    return deleted
  }

  /// Rolls back an upload session (see `UploadSession.abort`).
  func abortSession(_ id: Int64) async {
    if isClosed.load(ordering: .acquiring) { return }
    do {
      try await withWriter("aborting upload \(id)") { db, state in
        state.failedSessions[id] = nil
        try self.durableTransaction(db) {
          // Blocks created here that another open upload also holds pass to that upload.
          try db.execute(
            sql: """
              UPDATE pending SET created = 1 WHERE session != ? AND cid IN
              (SELECT cid FROM pending WHERE session = ? AND created = 1)
              """,
            arguments: [id, id])
          try self.deleteBlockRows(
            db,
            selectedBy: """
              SELECT p.cid FROM pending p JOIN blocks b ON b.cid = p.cid
              WHERE p.session = ? AND p.created = 1 AND b.refcount = 0
              AND NOT EXISTS (SELECT 1 FROM pending q WHERE q.cid = p.cid AND q.session != p.session)
              """,
            arguments: [id])
          try db.execute(sql: "DELETE FROM pending WHERE session = ?", arguments: [id])
          try self.releaseUploadBatches(db, session: id)
        }
      }
      try await releaseFreeRanges()
    } catch {
      logger.warning("repo: aborting an upload failed; it is rolled back at next open", metadata: ["why": "\(error)"])
    }
  }
}
