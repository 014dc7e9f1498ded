import CodexFormats
import Foundation
import Logging
import Multiformats

@testable import CodexErasure
@testable import CodexStore

/// A repo in a fresh temporary directory, removed by `close()`.
struct TempRepo {
  let path: String
  let repo: RepoStore

  init(clock: any CodexClock = SystemClock()) throws {
    path = NSTemporaryDirectory() + "codex-erasure-test-" + UUID().uuidString
    repo = try RepoStore(config: RepoConfig(directory: path), clock: clock, logger: erasureTestLogger)
  }

  func close() async {
    await repo.close()
    try? FileManager.default.removeItem(atPath: path)
  }

  /// Stores `bytes` as a plain dataset (blocks, leaves with proofs, manifest), like an upload.
  func storePlain(
    _ bytes: [UInt8], blockSize: Int, filename: String? = "data.bin", mimetype: String? = "application/x-test"
  ) async throws -> (manifest: Manifest, blocks: [Block]) {
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
      treeCid: tree.rootCid, datasetSize: UInt64(bytes.count), blockSize: blockSize, filename: filename,
      mimetype: mimetype)
    try await repo.putBlock(manifest.block, ttl: nil)
    return (manifest, blocks)
  }

  /// Removes a block from the repo even though datasets reference it (simulates a lost block; its leaves stay).
  func lose(_ cid: Cid) async throws {
    try await repo.testingExecute("UPDATE blocks SET refcount = 0 WHERE cid = ?", blobs: [cid.bytes])
    try await repo.deleteBlock(cid)
    #expect(try await repo.hasBlock(cid) == false)
  }

  /// Loses the block at leaf `index` of `tree`.
  func lose(tree: Cid, index: Int) async throws {
    let (block, _) = try #require(try await repo.getBlock(tree: tree, index: index))
    try await lose(block.cid)
  }

  func refcount(_ cid: Cid) async throws -> Int {
    let hex = cid.bytes.map { String(format: "%02x", $0) }.joined()
    return try await repo.testingInt("SELECT refcount FROM blocks WHERE cid = X'\(hex)'")
  }

  /// The original bytes of a dataset as stored, from leaves `0 ..< blocks` of `tree`, truncated to `size`.
  func bytes(tree: Cid, blocks: Int, size: UInt64) async throws -> [UInt8]? {
    var out: [UInt8] = []
    for i in 0..<blocks {
      guard let data = try await repo.blockData(tree: tree, index: i) else { return nil }
      out += data
    }
    return Array(out.prefix(Int(size)))
  }
}

let erasureTestLogger: Logger = {
  var l = Logger(label: "codex-erasure-test", factory: { _ in SwiftLogNoOpLogHandler() })
  l.logLevel = .critical
  return l
}()

/// Deterministic pseudo-random bytes.
func erasureTestBytes(_ count: Int, seed: UInt64) -> [UInt8] {
  var state = seed &+ 0x9E37_79B9_7F4A_7C15
  var out = [UInt8](repeating: 0, count: count)
  for i in 0..<count {
    state ^= state << 13
    state ^= state >> 7
    state ^= state << 17
    out[i] = UInt8(truncatingIfNeeded: state >> 24)
  }
  return out
}

import Testing
