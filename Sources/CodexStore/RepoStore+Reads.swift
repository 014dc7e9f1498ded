import CodexFormats
import Foundation
import GRDB
import Multiformats

/// Reads: a pooled reader connection for the row, `pread` for pack bytes, both under the shared pack lock.
extension RepoStore {
  /// The block with this CID, or nil when it is not stored. The empty CID reads as a 0-byte block.
  /// - Throws: `StoreError.corrupt` when the block's bytes are missing from its pack, `.io` on I/O failures.
  /// Bytes that fail their stored checksum are not returned: the block reads as absent (see `damaged`).
  public func getBlock(_ cid: Cid) async throws -> Block? {
    if Codex.isEmpty(cid) { return Block(unchecked: cid, data: []) }
    let bytes = try withRawReader { c in
      try c.query(c.block, bind: { RawConnection.bindBlob($0, 1, cid.bytes) }) { row -> [UInt8]? in
        guard let row else { return nil }
        let data = try rawBlockBytes(row, from: 1, cid: cid)
        return damaged(data, crc: Self.crc(row, 5), key: cid.bytes, "block \(cid)") ? nil : data
      }
    }
    return bytes.map { Block(unchecked: cid, data: $0) }
  }

  /// Remembers that the block with key `key` is damaged on disk (see `damagedBlocks`).
  func noteDamaged(_ key: [UInt8]) {
    damagedBlocks.withLock { set in
      if set.count >= Self.maxDamagedRemembered { set.removeAll() }
      set.insert(key)
    }
  }

  /// True if a read found the block with key `key` damaged (and forgets it: the caller rewrites it).
  func takeDamaged(_ key: [UInt8]) -> Bool {
    damagedBlocks.withLock { $0.remove(key) != nil }
  }

  /// The stored CRC-32C in column `c` (NULL for blocks stored before checksums).
  static func crc(_ row: RawRow, _ c: Int32) -> UInt32? {
    row.isNull(c) ? nil : UInt32(truncatingIfNeeded: row.int64(c))
  }

  /// True (and logged as an error) when `data` fails its stored checksum: the bytes rotted on disk. Reads then
  /// treat the block as absent, so the network store fetches it from a peer (and erasure decoding rebuilds it)
  /// instead of handing out damaged bytes. Blocks without a checksum pass (checking them would cost a SHA-256).
  func damaged(_ data: [UInt8], crc: UInt32?, key: [UInt8], _ what: @autoclosure () -> String) -> Bool {
    guard let crc, BlockChecksum.crc32c(data) != crc else { return false }
    noteDamaged(key)
    logger.error(
      """
      repo: the bytes of a stored block do not match their checksum (damaged on disk); treating it as missing. \
      Check the repo with `codex verify-repo` while the node is stopped
      """,
      metadata: ["block": "\(what())"])
    return true
  }

  /// The block at `index` of tree `treeCid` with its proof, or nil when the leaf or its block is not here (or its
  /// bytes fail their checksum, see `damaged`). A leaf whose block is the empty CID returns a 0-byte block.
  /// - Throws: `StoreError.corrupt` for undecodable stored metadata, `.io` on I/O failures.
  public func getBlock(tree treeCid: Cid, index: Int) async throws -> (block: Block, proof: CodexProof)? {
    let found = try withRawReader { c in
      try c.query(c.leaf, bind: { Self.bindLeaf($0, treeCid, index) }) { row -> ([UInt8], [UInt8], [UInt8])? in
        guard let row else { return nil }
        let cidBytes = row.bytes(0)
        if cidBytes == Codex.emptyBlockCid.bytes { return (cidBytes, [], row.bytes(5)) }
        guard !row.isNull(1) else { return nil }
        let data = try rawBlockBytes(row, from: 1, cid: nil)
        if damaged(data, crc: Self.crc(row, 6), key: cidBytes, "leaf \(index) of tree \(treeCid)") { return nil }
        return (cidBytes, data, row.bytes(5))
      }
    }
    guard let (cidBytes, bytes, proofBytes) = found else { return nil }
    let cid = try decodeCid(cidBytes, what: "block of leaf \(index) of tree \(treeCid)")
    return (Block(unchecked: cid, data: bytes), try decodeProof(proofBytes, leaf: index, of: treeCid))
  }

  /// The bytes of leaf `index` of tree `tree`, or nil when the leaf or its block is not here (or its bytes fail
  /// their checksum, see `damaged`): the download fast path (no proof or CID decoding, one statement step and one
  /// `pread`). A padding leaf (empty CID) reads as `[]`.
  public func blockData(tree: Cid, index: Int) async throws -> [UInt8]? {
    try withRawReader { c in
      try c.query(c.leaf, bind: { Self.bindLeaf($0, tree, index) }) { row -> [UInt8]? in
        guard let row else { return nil }
        if row.equals(0, Codex.emptyBlockCid.bytes) { return [] }
        guard !row.isNull(1) else { return nil }
        let data = try rawBlockBytes(row, from: 1, cid: nil)
        return damaged(data, crc: Self.crc(row, 6), key: row.bytes(0), "leaf \(index) of tree \(tree)") ? nil : data
      }
    }
  }

  static func bindLeaf(_ stmt: OpaquePointer, _ tree: Cid, _ index: Int) {
    RawConnection.bindBlob(stmt, 1, tree.bytes)
    RawConnection.bindInt64(stmt, 2, Int64(index))
  }

  /// The bytes of a block whose columns `size, pack, pos, data` start at `from`. Caller holds the read lock.
  func rawBlockBytes(_ row: RawRow, from c: Int32, cid: Cid?) throws -> [UInt8] {
    switch try rawBlockLocation(row, from: c, cid: cid) {
    case .inline(let data): return data
    case .pack(let pack, let offset, let count): return try packs.read(pack: pack, offset: offset, count: count)
    }
  }

  /// Where a block's bytes are: inline in its row, or a range of a pack.
  enum BlockLocation {
    case inline([UInt8])
    case pack(Int64, offset: UInt64, count: Int)
  }

  /// Where the block whose columns `size, pack, pos, data` start at `from` keeps its bytes.
  func rawBlockLocation(_ row: RawRow, from c: Int32, cid: Cid?) throws -> BlockLocation {
    let size = row.int64(c)
    if !row.isNull(c + 3) {
      let data = row.bytes(c + 3)
      guard data.count == size else {
        throw StoreError.corrupt("block \(cid.map { "\($0)" } ?? "?") has \(data.count) inline bytes, expected \(size)")
      }
      return .inline(data)
    }
    let pos = row.int64(c + 2)
    guard !row.isNull(c + 1), !row.isNull(c + 2), pos >= 0, size >= 0 else {
      throw StoreError.corrupt("block \(cid.map { "\($0)" } ?? "?") has no bytes recorded")
    }
    return .pack(row.int64(c + 1), offset: UInt64(pos), count: Int(size))
  }

  /// Leaves `indices` of tree `treeCid` with their proofs, in the order asked; nil for a leaf (or its block) that
  /// is not here or cannot be read, and for a block whose bytes fail their integrity check (logged as an error): its stored CRC-32C,
  /// or, for blocks stored before checksums, its CID. The serving path: one read lock, one statement step per leaf,
  /// and blocks that lie back to back in a pack read with one direct (page-cache bypassing) read (see
  /// `readLeaves`). `withBlocks(tree:indices:_:)` lends the same leaves without copying their bytes.
  /// - Throws: `StoreError.corrupt` for undecodable stored metadata, `.io` on I/O failures.
  public func getBlocks(tree treeCid: Cid, indices: [Int]) async throws -> [(block: Block, proof: CodexProof)?] {
    let (leaves, owners) = try readLeaves(tree: treeCid, indices: indices)
    return try withExtendedLifetime(owners) {
      try zip(indices, leaves).map { index, f in
        guard let f, let cid = try checkedCid(of: f, leaf: index, of: treeCid) else { return nil }
        return (Block(unchecked: cid, data: [UInt8](f.data)), try decodeProof(f.proof, leaf: index, of: treeCid))
      }
    }
  }

  /// The CID of a leaf `readLeaves` returned, or nil (logged as an error) when its bytes fail their integrity
  /// check, so it is not served.
  /// - Throws: `StoreError.corrupt` when the stored CID does not decode.
  func checkedCid(of leaf: StoredLeaf, leaf index: Int, of treeCid: Cid) throws -> Cid? {
    let cid = try decodeCid(leaf.cid, what: "block of leaf \(index) of tree \(treeCid)")
    guard Self.intact(leaf.data, cid: cid, crc: leaf.crc) else {
      noteDamaged(leaf.cid)
      logger.error(
        "local block does not match its CID; not serving it",
        metadata: ["cid": "\(cid)", "tree": "\(treeCid)", "index": "\(index)"])
      return nil
    }
    return cid
  }

  /// A stored leaf as `readLeaves` returns it: its CID and proof as stored, its checksum, and its block's bytes (a
  /// span of one of the buffers returned with it).
  typealias StoredLeaf = (cid: [UInt8], proof: [UInt8], crc: UInt32?, data: UnsafeRawBufferPointer)

  /// The stored rows of leaves `indices` of `treeCid` and their blocks' bytes, in the order asked (nil where the leaf
  /// or its block is not here or cannot be read); the bytes live as long as `owners`. One read lock, one statement
  /// step per leaf, and blocks that lie back to back in a pack read with one direct read (`PackFiles.readSpans`).
  /// Integrity is not checked here.
  func readLeaves(tree treeCid: Cid, indices: [Int]) throws -> (leaves: [StoredLeaf?], owners: [AlignedBuffer]) {
    typealias Row = (cid: [UInt8], proof: [UInt8], crc: UInt32?, inline: [UInt8]?, range: Int)
    return try withRawReader { c -> ([StoredLeaf?], [AlignedBuffer]) in
      var rows: [Row?] = []
      rows.reserveCapacity(indices.count)
      var ranges: [(pack: Int64, offset: UInt64, count: Int)] = []
      for index in indices {
        let r = try c.query(c.leaf, bind: { Self.bindLeaf($0, treeCid, index) }) { row -> Row? in
          guard let row else { return nil }
          let cidBytes = row.bytes(0)
          if cidBytes == Codex.emptyBlockCid.bytes { return (cidBytes, row.bytes(5), nil, [], -1) }
          guard !row.isNull(1) else { return nil }
          let crc = Self.crc(row, 6)
          switch try rawBlockLocation(row, from: 1, cid: nil) {
          case .inline(let data): return (cidBytes, row.bytes(5), crc, data, -1)
          case .pack(let pack, let offset, let count):
            ranges.append((pack, offset, count))
            return (cidBytes, row.bytes(5), crc, nil, ranges.count - 1)
          }
        }
        rows.append(r)
      }
      var owners: [AlignedBuffer] = []
      var spans: [UnsafeRawBufferPointer?]
      do {
        let read = try packs.readSpans(ranges)
        owners = read.owners
        spans = read.spans
      } catch {
        // One unreadable block (its pack cut short or gone) must not hide its neighbours: read them one by one.
        logger.error(
          "repo: a batched block read failed; reading the blocks one by one",
          metadata: ["tree": "\(treeCid)", "error": "\(error)"])
        spans = ranges.map { range in
          guard let read = try? packs.readSpans([range]) else { return nil }
          owners += read.owners
          return read.spans[0]
        }
      }
      var leaves: [StoredLeaf?] = []
      leaves.reserveCapacity(rows.count)
      for r in rows {
        guard let r else {
          leaves.append(nil)
          continue
        }
        if let inline = r.inline {
          let owner = try AlignedBuffer(copying: inline)
          owners.append(owner)
          leaves.append((r.cid, r.proof, r.crc, owner.span(0, inline.count)))
        } else {
          leaves.append(spans[r.range].map { (r.cid, r.proof, r.crc, $0) })
        }
      }
      return (leaves, owners)
    }
  }

  /// Leaves `indices` of tree `treeCid` as `getBlocks(tree:indices:)` finds them (nil for a leaf that is not here,
  /// cannot be read or fails its integrity check, logged), lent to `body` without copying their bytes into
  /// `Block`s: the serving path, which copies them once, into the message it sends. Each proof is in its canonical
  /// encoding (`CodexProof.encoded`), taken as stored when it already is (it always is when written by this repo).
  /// The leaves' `data` are valid only during `body`.
  /// - Throws: `StoreError.corrupt` for undecodable stored metadata, `.io` on I/O failures.
  public func withBlocks<R>(tree treeCid: Cid, indices: [Int], _ body: ([ServedLeaf?]) -> R) async throws -> R {
    let (stored, owners) = try readLeaves(tree: treeCid, indices: indices)
    return try withExtendedLifetime(owners) {
      var leaves: [ServedLeaf?] = []
      leaves.reserveCapacity(stored.count)
      for (index, f) in zip(indices, stored) {
        guard let f, let cid = try checkedCid(of: f, leaf: index, of: treeCid) else {
          leaves.append(nil)
          continue
        }
        let proof: [UInt8]
        do {
          proof = try CodexProof.canonicalEncoding(f.proof)
        } catch {
          throw StoreError.corrupt("stored proof of leaf \(index) of tree \(treeCid) is undecodable: \(error)")
        }
        leaves.append(ServedLeaf(cid: cid, data: f.data, proof: proof))
      }
      return body(leaves)
    }
  }

  /// A stored leaf proof.
  /// - Throws: `StoreError.corrupt` when it does not decode.
  func decodeProof(_ bytes: [UInt8], leaf index: Int, of treeCid: Cid) throws(StoreError) -> CodexProof {
    do {
      return try CodexProof(encoded: bytes)
    } catch {
      throw .corrupt("stored proof of leaf \(index) of tree \(treeCid) is undecodable: \(error)")
    }
  }

  /// True if `data` matches its stored checksum, or, without one, hashes to `cid` (SHA-256 CIDs; others pass).
  static func intact(_ data: UnsafeRawBufferPointer, cid: Cid, crc: UInt32?) -> Bool {
    if Codex.isEmpty(cid) { return data.isEmpty }
    if let crc { return BlockChecksum.crc32c(data) == crc }
    guard cid.multihash.code == .sha2_256 else { return true }
    return SHA256Hashing.digest(data) == cid.multihash.digest
  }

  /// True if the block is stored (always true for the empty CID).
  public func hasBlock(_ cid: Cid) async throws -> Bool {
    if Codex.isEmpty(cid) { return true }
    return try withRawReader { c in
      try c.query(c.block, bind: { RawConnection.bindBlob($0, 1, cid.bytes) }) { $0 != nil }
    }
  }

  /// True if leaf `index` of `treeCid` is recorded and its block is stored (or is the empty CID).
  public func hasBlock(tree treeCid: Cid, index: Int) async throws -> Bool {
    try withRawReader { c in
      try c.query(c.leaf, bind: { Self.bindLeaf($0, treeCid, index) }) { row in
        guard let row else { return false }
        return !row.isNull(1) || row.equals(0, Codex.emptyBlockCid.bytes)
      }
    }
  }

  /// How many leaves of `treeCid` are recorded with their block stored (or the empty block): what
  /// `hasBlock(tree:index:)` would say yes to, counted in one query.
  /// With `indices`, only the leaves in that range count.
  public func localLeafCount(tree treeCid: Cid, indices: ClosedRange<Int>? = nil) async throws -> Int {
    try withReader("counting the local leaves of \(treeCid)") { db in
      try Int.fetchOne(
        db,
        sql: """
          SELECT count(*) FROM leaves l
          WHERE l.tree = ? AND l.idx BETWEEN ? AND ?
            AND (l.block = ? OR EXISTS (SELECT 1 FROM blocks b WHERE b.cid = l.block))
          """,
        arguments: [
          Data(treeCid.bytes), indices?.lowerBound ?? Int.min, indices?.upperBound ?? Int.max,
          Data(Codex.emptyBlockCid.bytes),
        ]) ?? 0
    }
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

  func decodeCid(_ bytes: some Collection<UInt8>, what: @autoclosure () -> String) throws -> Cid {
    do {
      return try Cid(bytes: bytes)
    } catch {
      throw StoreError.corrupt("stored CID of \(what()) is undecodable: \(error)")
    }
  }
}
