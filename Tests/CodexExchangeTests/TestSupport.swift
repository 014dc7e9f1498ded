import CodexFormats
import CodexTestSupport
import Multiformats

typealias Hex = TestHex

import Foundation

/// A small deterministic PRNG (xorshift64*) for tests.
struct TestRNG: RandomNumberGenerator {
  var state: UInt64
  init(seed: UInt64) { state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed }
  mutating func next() -> UInt64 {
    state ^= state >> 12
    state ^= state << 25
    state ^= state >> 27
    return state &* 2_685_821_657_736_338_717
  }
  mutating func bytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8(truncatingIfNeeded: next()) } }
}

/// A dataset of `count` blocks built like an upload: blocks, tree, proofs.
struct TestDataset: Sendable {
  let blocks: [Block]
  let tree: CodexTree
  var treeCid: Cid { tree.rootCid }

  init(blocks: [Block]) throws {
    self.blocks = blocks
    tree = try CodexTree(leaves: blocks.map { $0.cid.multihash.digest })
  }

  init(count: Int, blockSize: Int = 1024, seed: UInt64) throws {
    var rng = TestRNG(seed: seed)
    try self.init(blocks: (0..<count).map { _ in Block(data: rng.bytes(blockSize)) })
  }

  /// The single-block dataset of formats.md §4.6.
  static func someFileContents() throws -> TestDataset {
    var data = Array("some file contents".utf8)
    data += [UInt8](repeating: 0, count: 65536 - data.count)
    return try TestDataset(blocks: [Block(data: data)])
  }
}
