import CodexErasure
import CodexFormats
import Foundation
import Logging
import Multiformats

@testable import CodexStore

/// A repo in a fresh temporary directory for the verifiable-builder tests, removed by `close()`.
struct SlotsTempRepo {
  let path: String
  let repo: RepoStore

  init(clock: any CodexClock = SystemClock()) throws {
    path = NSTemporaryDirectory() + "codex-slots-test-" + UUID().uuidString
    repo = try RepoStore(config: RepoConfig(directory: path), clock: clock, logger: slotsTestLogger)
  }

  func close() async {
    await repo.close()
    try? FileManager.default.removeItem(atPath: path)
  }

  /// Stores `bytes` as a plain dataset (blocks, leaves with proofs, manifest), like an upload.
  func storePlain(_ bytes: [UInt8], blockSize: Int) async throws -> Manifest {
    var chunker = Chunker(blockSize: blockSize)
    var datas = chunker.feed(bytes)
    if let last = chunker.finish() { datas.append(last) }
    let blocks = datas.map { Block(data: $0) }
    try await repo.putBlocks(blocks)
    let tree = try CodexTree(leaves: blocks.map(\.cid.multihash.digest))
    try await repo.putLeaves(
      tree: tree.rootCid,
      leaves: try blocks.enumerated().map { ($0.offset, $0.element.cid, try tree.proof(for: $0.offset)) })
    let manifest = Manifest(
      treeCid: tree.rootCid, datasetSize: UInt64(bytes.count), blockSize: blockSize, filename: "slots.bin",
      mimetype: "application/octet-stream")
    try await repo.putBlock(manifest.block, ttl: nil)
    return manifest
  }

  /// Stores `bytes` and erasure-codes them with the store-level encoder (`nodes`, `tolerance`).
  func storeProtected(_ bytes: [UInt8], blockSize: Int, nodes: Int = 3, tolerance: Int = 1) async throws -> Manifest {
    let plain = try await storePlain(bytes, blockSize: blockSize)
    let encoder = ErasureEncoder(store: repo, logger: slotsTestLogger)
    return try await encoder.encode(plain, parameters: try ErasureParameters(nodes: nodes, tolerance: tolerance))
  }

  /// Number of leaf rows of all trees.
  func leafRows() async throws -> Int {
    try await repo.testingInt("SELECT COUNT(*) FROM leaves")
  }

  /// Copies leaves `indices` of `tree` (blocks and proofs) from `source`, as block exchange would.
  func copy(tree: Cid, indices: Range<Int>, from source: RepoStore) async throws {
    for i in indices {
      guard let (block, proof) = try await source.getBlock(tree: tree, index: i) else {
        throw SlotsTestError.missingLeaf(i, tree)
      }
      if !Codex.isEmpty(block.cid) { try await repo.putBlock(block, ttl: nil) }
      try await repo.putLeaf(tree: tree, index: i, blockCid: block.cid, proof: proof)
    }
  }
}

let slotsTestLogger: Logger = {
  var l = Logger(label: "codex-slots-test", factory: { _ in SwiftLogNoOpLogHandler() })
  l.logLevel = .critical
  return l
}()

/// Deterministic pseudo-random bytes (xorshift64*).
func slotsTestBytes(_ count: Int, seed: UInt64) -> [UInt8] {
  var state = seed | 1
  var out = [UInt8](repeating: 0, count: count)
  for i in 0..<count {
    state ^= state >> 12
    state ^= state << 25
    state ^= state >> 27
    out[i] = UInt8(truncatingIfNeeded: (state &* 0x2545_F491_4F6C_DD1D) >> 56)
  }
  return out
}

/// A leaf the test expected in the source repo was not there.
enum SlotsTestError: Error { case missingLeaf(Int, Cid) }
