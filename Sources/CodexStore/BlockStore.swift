import CodexFormats
import Multiformats

/// Where blocks live. The repo on disk implements it; `NetworkStore` (block exchange) wraps one and fetches what
/// is missing; erasure coding and slot building read through it. Implementations are safe to call concurrently.
///
/// The empty block CID (`Codex.emptyBlockCid`) is always present, reads as a 0-byte block, and is never stored.
public protocol BlockStore: Sendable {
  /// The block with this CID, or nil when it is not here.
  func getBlock(_ cid: Cid) async throws -> Block?
  /// The block at `index` of the dataset tree `treeCid`, with its inclusion proof, or nil when not here.
  func getBlock(tree treeCid: Cid, index: Int) async throws -> (block: Block, proof: CodexProof)?
  /// Leaves `indices` of `treeCid` with their proofs, in the order asked (nil where not here). The default asks
  /// `getBlock(tree:index:)` for each; the repo reads neighbouring blocks with one read and leaves out blocks that
  /// fail its integrity check (see `IntegrityCheckedReads`).
  func getBlocks(tree treeCid: Cid, indices: [Int]) async throws -> [(block: Block, proof: CodexProof)?]
  /// True if the block is here.
  func hasBlock(_ cid: Cid) async throws -> Bool
  /// True if leaf `index` of `treeCid` and its block are here.
  func hasBlock(tree treeCid: Cid, index: Int) async throws -> Bool
  /// Stores a block (idempotent). `ttl` nil means the store's default block TTL.
  /// - Throws: `StoreError.quotaExceeded` when it does not fit; nothing is written then.
  func putBlock(_ block: Block, ttl: Duration?) async throws
  /// Records that leaf `index` of `treeCid` is `blockCid`, with its proof. Creates the entry only if absent;
  /// a new entry for a `codex-block` CID adds one reference to that block.
  func putLeaf(tree treeCid: Cid, index: Int, blockCid: Cid, proof: CodexProof) async throws
  /// Deletes a block that no dataset references (or that has expired).
  /// - Throws: `StoreError.blockInUse` when it is still part of a dataset.
  func deleteBlock(_ cid: Cid) async throws
}

extension BlockStore {
  public func getBlocks(tree treeCid: Cid, indices: [Int]) async throws -> [(block: Block, proof: CodexProof)?] {
    var out: [(block: Block, proof: CodexProof)?] = []
    out.reserveCapacity(indices.count)
    for i in indices { out.append(try await getBlock(tree: treeCid, index: i)) }
    return out
  }
}

/// A store whose blocks expire (the repo). A manifest made from blocks stored earlier (a protected or verifiable
/// manifest) extends their expiry to its own, so they do not expire, and go, while it is still listed.
public protocol ExpiringBlocks: BlockStore {
  /// Raises the expiry of the blocks of leaves `0..<count` of `treeCid`, and of the manifests naming `treeCid`, to
  /// what a block stored now with `ttl` (nil: the store's default) gets; what already expires later keeps its expiry.
  func extendExpiry(tree treeCid: Cid, count: Int, ttl: Duration?) async throws
}

/// A store whose `getBlocks(tree:indices:)` never returns a block whose bytes differ from what was stored (it
/// checks each against a stored checksum), so a server need not re-hash what it sends.
public protocol IntegrityCheckedReads: BlockStore {}

/// A store that can lend the leaves it serves without copying their bytes into `Block`s (the repo: straight out of
/// its read buffers), with the same integrity guarantee as its `getBlocks(tree:indices:)`.
public protocol LendingReads: IntegrityCheckedReads {
  /// Leaves `indices` of `treeCid` as `getBlocks(tree:indices:)` finds them, in the order asked (nil where not here
  /// or failing the integrity check), passed to `body`; their bytes are valid only during `body`.
  func withBlocks<R>(tree treeCid: Cid, indices: [Int], _ body: ([ServedLeaf?]) -> R) async throws -> R
}

/// A leaf lent by `LendingReads.withBlocks(tree:indices:_:)`.
public struct ServedLeaf {
  /// The block's CID.
  public let cid: Cid
  /// The block's bytes; valid only during the call they were passed to.
  public let data: UnsafeRawBufferPointer
  /// The leaf's inclusion proof in its canonical encoding (byte for byte `CodexProof.encoded`).
  public let proof: [UInt8]

  public init(cid: Cid, data: UnsafeRawBufferPointer, proof: [UInt8]) {
    self.cid = cid
    self.data = data
    self.proof = proof
  }
}

/// A source of "now", so engines with expiry and timeouts can be driven deterministically in tests.
public protocol CodexClock: Sendable {
  /// Seconds since the Unix epoch.
  func now() -> Int64
}

/// The wall clock.
public struct SystemClock: CodexClock {
  public init() {}
  public func now() -> Int64 { Int64(Date().timeIntervalSince1970) }
}

import struct Foundation.Date
