import CodexFormats
import Foundation
import GRDB
import Multiformats
import Synchronization

/// Pipelined block-exchange writes: fetched leaves stored while the previous batch's rows are inserted.
///
/// `putLeafBlocks` does everything in one writer turn: look up, stage, write, fdatasync, insert the rows. On this
/// kind of machine a 4 MiB batch of fetched blocks spent 5.5 ms in its O_DIRECT write, 5.3 ms in fdatasync and
/// 3.7 ms in lookups and rows, one after the other, and a download could go no faster than that sum. Here a batch's
/// write and sync run on another thread after its turn, and the batch's rows are inserted by the next batch's turn
/// (or by whatever writer turn comes first, see `settlePipelined`), while that batch's bytes go to the disk. The
/// rows still commit only after their bytes are durable, and bytes past the committed length are cut off at the
/// next open, so a crash at any point leaves what `putLeafBlocks` would. Measured on this 2-core kind, 1 GiB from
/// one seeder: 231-237 vs 225-227 MB/s (alternated runs); the gain is small here because the two cores, shared by
/// seeder and leecher, are the limit (the writer turn waits for a core longer than for the disk).
extension RepoStore {
  /// Starts storing the blocks of fetched leaves and recording the leaves, with the rules of `putLeafBlocks`. The
  /// blocks are checked (sizes, quota) and their bytes are being written when this returns; the returned ticket
  /// ends when the rows are committed (by the next call, `settleLeafBlocks()`, or any other write) or failed (then
  /// nothing of this batch was stored). A pipelined write held by this store at the time is completed in the same
  /// turn.
  /// - Throws: what `putLeafBlocks` throws before writing (`StoreError.quotaExceeded`, `.invalidArgument`,
  ///   `.sizeMismatch`): nothing of this batch is written then.
  public func startLeafBlocks(
    _ leaves: [(tree: Cid, index: Int, block: Block, proof: CodexProof)], ttl: Duration? = nil
  ) async throws -> StoreTicket {
    let rows = try LeafRows(leaves)
    let ticket = StoreTicket()
    let blocks = leaves.map(\.block).filter { !Codex.isEmpty($0.cid) }
    // Nothing, or bigger than a staging buffer (not the engine's batches): stored in one turn by `putLeafBlocks`.
    let staged = blocks.reduce(UInt64(0)) { $0 + PackFiles.align(UInt64($1.data.count)) }
    guard !leaves.isEmpty, staged <= UInt64(PackStageBuffer.defaultCapacity) else {
      try await putLeafBlocks(leaves, ttl: ttl)
      ticket.end(nil)
      return ticket
    }
    let expiry = expiry(ttl: ttl)
    try await withWriter("storing \(leaves.count) leaves", keepingPipeline: true) { db, state in
      // An upload batch pipelined before: completed first (its bytes lie before the ones planned here).
      self.settleUploadBatch(db, &state)
      // Planned while the previous write is still pipelined: its bytes are the pack's tail (`packTail`).
      let previous = state.pipelinedLeaves
      let next: PipelinedLeaves
      do {
        try self.finishDeletions(db, trees: rows.order)
        next = try self.startPipelinedWrite(
          db, blocks, rows: rows, expiry: expiry, after: previous, ticket: ticket, state: &state)
      } catch {
        // Refused before writing: the write before it is still completed.
        self.settlePipelinedLeaves(db, &state)
        throw error
      }
      state.pipelinedLeaves = nil
      if let previous {
        do {
          try self.complete(db, previous, state: &state)
        } catch {
          // This batch's bytes were placed after the failed one's: both go (once this one's write ended, so
          // that it cannot write past the cut).
          let failure = Self.leafWriteError(error)
          _ = try? next.write?.wait()
          self.abandon(previous, state: &state, failure: failure)
          self.abandon(next, state: &state, failure: failure)
          throw failure
        }
      }
      if next.write == nil {
        // No pack bytes to wait for: its rows go in now.
        self.settle(db, next, state: &state)
      } else {
        state.pipelinedLeaves = next
      }
    }
    return ticket
  }

  /// Completes the pipelined leaf write, if any (its ticket ends). For the end of a burst of `startLeafBlocks`
  /// calls: the last one's rows are inserted now instead of by whatever write comes next.
  public func settleLeafBlocks() async {
    _ = try? await withWriter("completing the last fetched blocks") { _, _ in }
  }

  /// Completes the pipelined leaf write, if any, in the current writer turn; a failure ends its ticket with the
  /// error (its rows and bytes rolled back) and the turn goes on.
  func settlePipelinedLeaves(_ db: Database, _ state: inout WriterState) {
    guard let p = state.pipelinedLeaves else { return }
    state.pipelinedLeaves = nil
    settle(db, p, state: &state)
  }

  /// Completes `p` or, when that fails, abandons it with the error.
  private func settle(_ db: Database, _ p: PipelinedLeaves, state: inout WriterState) {
    do {
      try complete(db, p, state: &state)
    } catch {
      let failure = Self.leafWriteError(error)
      abandon(p, state: &state, failure: failure)
      logger.warning("repo: storing fetched blocks failed", metadata: ["why": "\(failure)"])
    }
  }

  /// Plans a leaf write after `previous` (pipelined, not completed: its new blocks count as stored and its new
  /// bytes against the quota), stages its pack bytes and starts writing and syncing them on another thread.
  private func startPipelinedWrite(
    _ db: Database, _ blocks: [Block], rows: LeafRows, expiry: Int64, after previous: PipelinedLeaves?,
    ticket: StoreTicket, state: inout WriterState
  ) throws -> PipelinedLeaves {
    var (plan, toWrite) = try classify(db, blocks, planned: previous?.newKeys ?? [])
    try checkQuota(db, adding: plan.newBytes, planned: previous?.plan.newBytes ?? 0)
    let big = toWrite.filter { $0.block.data.count >= RepoSchema.inlineLimit }
    for w in toWrite where !w.isNew && w.block.data.count < RepoSchema.inlineLimit {
      plan.existing[w.index].restoredTo = .inline
    }
    guard !big.isEmpty else {
      return PipelinedLeaves(plan: plan, rows: rows, expiry: expiry, write: nil, buffer: nil, ticket: ticket)
    }
    let total = big.reduce(UInt64(0)) { $0 + PackFiles.align(UInt64($1.block.data.count)) }
    let (pack, start) = try placeBytes(total, after: state.packTail)
    var pos = start
    let buffer = state.spareStageBuffers.popLast() ?? PackStageBuffer()
    var filled = 0
    var end = pos
    for w in big {
      let bytes = w.block.data
      let size = Int(PackFiles.align(UInt64(bytes.count)))
      bytes.withUnsafeBytes { src in
        if let base = src.baseAddress { (buffer.pointer + filled).copyMemory(from: base, byteCount: src.count) }
      }
      (buffer.pointer + filled + bytes.count).initializeMemory(as: UInt8.self, repeating: 0, count: size - bytes.count)
      let placement = Placement.pack(id: pack, pos: pos)
      if w.isNew { plan.new[w.index].placement = placement } else { plan.existing[w.index].restoredTo = placement }
      filled += size
      end = pos + UInt64(bytes.count)
      pos += UInt64(size)
    }
    plan.packEnd = (pack, end)
    let write = BackgroundPackWrite.start(
      packs: packs,
      PackWrite(pack: pack, offset: start, segments: [UnsafeRawBufferPointer(start: buffer.pointer, count: filled)]),
      sync: true)
    return PipelinedLeaves(plan: plan, rows: rows, expiry: expiry, write: write, buffer: buffer, ticket: ticket)
  }

  /// Waits for `p`'s bytes to be durable and commits its rows in one transaction; its ticket ends. When it throws,
  /// nothing was committed: the caller abandons it.
  private func complete(_ db: Database, _ p: PipelinedLeaves, state: inout WriterState) throws {
    if let write = p.write {
      try write.wait()
      config.faultHook?("pack-synced")
    }
    try syncDirty(&state)
    try db.inTransaction {
      try apply(db, p.plan, expiry: p.expiry, session: nil)
      try p.rows.insert(db, self)
      return .commit
    }
    committed(p.plan, state: &state)
    if let buffer = p.buffer { state.spareStageBuffers.append(buffer) }
    p.ticket.end(nil)
  }

  /// Undoes `p` after it could not be completed: waits for its write, cuts its bytes off the pack, ends its ticket
  /// with `failure`.
  private func abandon(_ p: PipelinedLeaves, state: inout WriterState, failure: StoreError) {
    _ = try? p.write?.wait()
    rollback(p.plan, state: state)
    if let buffer = p.buffer { state.spareStageBuffers.append(buffer) }
    p.ticket.end(failure)
  }

  static func leafWriteError(_ error: any Error) -> StoreError {
    (error as? StoreError) ?? .wrapping(error, while: "storing fetched blocks")
  }
}

/// The leaf rows of a leaf write, by tree, in the order given.
struct LeafRows: Sendable {
  let order: [Cid]
  let byTree: [Cid: [(index: Int, blockCid: Cid, proof: CodexProof)]]

  /// Groups `leaves` by tree.
  /// - Throws: `StoreError.invalidArgument` for a negative index.
  init(_ leaves: [(tree: Cid, index: Int, block: Block, proof: CodexProof)]) throws(StoreError) {
    var byTree: [Cid: [(index: Int, blockCid: Cid, proof: CodexProof)]] = [:]
    var order: [Cid] = []
    for leaf in leaves {
      guard leaf.index >= 0 else {
        throw StoreError.invalidArgument("leaf index \(leaf.index) of \(leaf.tree) is negative")
      }
      if byTree[leaf.tree] == nil { order.append(leaf.tree) }
      byTree[leaf.tree, default: []].append((leaf.index, leaf.block.cid, leaf.proof))
    }
    self.order = order
    self.byTree = byTree
  }

  /// Inserts them (inside the caller's transaction).
  func insert(_ db: Database, _ store: RepoStore) throws {
    for tree in order { try store.insertLeaves(db, tree: tree, byTree[tree]!) }
  }
}

/// A leaf write whose pack bytes are being written and synced and whose rows are not inserted yet
/// (`RepoStore.startLeafBlocks`). Holds its staging buffer until it is completed or abandoned (hence
/// `@unchecked Sendable`: only the store's writer touches it, under the writer lock).
struct PipelinedLeaves: @unchecked Sendable {
  let plan: RepoStore.StorePlan
  let rows: LeafRows
  let expiry: Int64
  let write: BackgroundPackWrite?
  let buffer: PackStageBuffer?
  let ticket: StoreTicket
  /// The blocks this write inserts: the next write finds them stored.
  let newKeys: Set<Cid>

  init(
    plan: RepoStore.StorePlan, rows: LeafRows, expiry: Int64, write: BackgroundPackWrite?, buffer: PackStageBuffer?,
    ticket: StoreTicket
  ) {
    self.plan = plan
    self.rows = rows
    self.expiry = expiry
    self.write = write
    self.buffer = buffer
    self.ticket = ticket
    newKeys = Set(plan.new.map(\.block.cid))
  }
}

/// The outcome of a pipelined store write (`RepoStore.startLeafBlocks`): `wait()` returns once its rows are
/// committed, or throws the error that rolled it back. Ends once; any number of waiters.
public final class StoreTicket: Sendable {
  private struct State {
    var outcome: Result<Void, StoreError>?
    var waiters: [CheckedContinuation<Result<Void, StoreError>, Never>] = []
  }
  private let state = Mutex(State())

  init() {}

  /// Ends the ticket (the first call counts).
  func end(_ failure: StoreError?) {
    let outcome: Result<Void, StoreError> = failure.map { .failure($0) } ?? .success(())
    let waiters = state.withLock { s -> [CheckedContinuation<Result<Void, StoreError>, Never>] in
      guard s.outcome == nil else { return [] }
      s.outcome = outcome
      defer { s.waiters = [] }
      return s.waiters
    }
    for w in waiters { w.resume(returning: outcome) }
  }

  /// Waits until the write's rows are committed.
  /// - Throws: the `StoreError` that rolled the write back.
  public func wait() async throws(StoreError) {
    let outcome = await withCheckedContinuation { (c: CheckedContinuation<Result<Void, StoreError>, Never>) in
      let ready = state.withLock { s -> Result<Void, StoreError>? in
        if let o = s.outcome { return o }
        s.waiters.append(c)
        return nil
      }
      if let ready { c.resume(returning: ready) }
    }
    try outcome.get()
  }
}
