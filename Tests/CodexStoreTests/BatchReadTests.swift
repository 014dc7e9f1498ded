import CodexFormats
import Foundation
import Multiformats
import Testing

@testable import CodexStore

@Suite("Batched reads and staged pack writes")
struct BatchReadTests {
  @Test func packRangesComeBackInRequestOrderWhetherAdjacentOrNot() throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let packs = PackFiles(directory: dir.path)
    defer { packs.closeAll() }
    try packs.open(1)
    try packs.open(2)
    // Pack 1: three back-to-back aligned blocks (one short), a gap, then a fourth. Pack 2: one block.
    let a = pseudoRandomBytes(65536, seed: 1)
    let b = pseudoRandomBytes(5000, seed: 2)
    let c = pseudoRandomBytes(65536, seed: 3)
    let d = pseudoRandomBytes(4096, seed: 4)
    let e = pseudoRandomBytes(70000, seed: 5)
    try packs.write(pack: 1, offset: 0, bytes: a)
    try packs.write(pack: 1, offset: 65536, bytes: b)
    try packs.write(pack: 1, offset: 65536 + 8192, bytes: c)
    try packs.write(pack: 1, offset: 1 << 20, bytes: d)
    try packs.write(pack: 2, offset: 4096, bytes: e)
    let ranges: [(pack: Int64, offset: UInt64, count: Int)] = [
      (1, 1 << 20, 4096), (2, 4096, 70000), (1, 65536 + 8192, 65536), (1, 0, 65536), (1, 65536, 5000),
      (1, 0, 65536),  // asked twice
    ]
    let got = packs.lock.withReadLock { try? packs.read(ranges) }
    #expect(got == [d, e, c, a, b, a])
    #expect(packs.lock.withReadLock { try? packs.read([]) } == [])
  }

  @Test func aRangePastTheEndOfItsPackIsReportedAsMissing() throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let packs = PackFiles(directory: dir.path)
    defer { packs.closeAll() }
    try packs.open(1)
    try packs.write(pack: 1, offset: 0, bytes: pseudoRandomBytes(65536, seed: 1))
    #expect(throws: StoreError.self) {
      try packs.lock.withReadLock { () throws(StoreError) in
        _ = try packs.read([(1, 0, 65536), (1, 65536, 65536)])
      }
    }
  }

  @Test func getBlocksMatchesGetBlockForEveryLeafAndNilForMissingOnes() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let store = try openStore(dir)
    var override: [Int: Block] = [3: Block(data: [])]  // a padding leaf: the empty CID
    override[5] = Block(data: pseudoRandomBytes(1000, seed: 77))  // small: stored inline
    let set = try TestDataset(count: 40, seed: 9, override: override)
    try await set.upload(to: store)
    let indices = [39, 0, 1, 2, 3, 4, 5, 6, 20, 21, 22, 2, 40, 1000]
    let got = try await store.getBlocks(tree: set.treeCid, indices: indices)
    #expect(got.count == indices.count)
    for (i, index) in indices.enumerated() {
      let one = try await store.getBlock(tree: set.treeCid, index: index)
      #expect(got[i]?.block == one?.block, "leaf \(index)")
      #expect(got[i]?.proof == one?.proof, "leaf \(index)")
      if index < 40 {
        #expect(got[i]?.block.data == set.blocks[index].data, "leaf \(index)")
      } else {
        #expect(got[i] == nil)
      }
    }
    await store.close()
  }

  @Test func blocksPutInBatchesReadBackAcrossPackRotation() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    // Small packs: a batch that does not fit rotates to a new pack; odd sizes leave aligned gaps.
    let store = try openStore(dir, packLimit: 1 << 20)
    var blocks: [Block] = []
    for i in 0..<60 { blocks.append(Block(data: pseudoRandomBytes(i % 3 == 0 ? 65536 : 30000 + i, seed: UInt64(i)))) }
    for start in stride(from: 0, to: blocks.count, by: 13) {
      try await store.putBlocks(Array(blocks[start..<min(start + 13, blocks.count)]), ttl: nil)
    }
    for b in blocks { #expect(try await store.getBlock(b.cid) == b) }
    await store.close()
    let reopened = try openStore(dir, packLimit: 1 << 20)
    for b in blocks { #expect(try await reopened.getBlock(b.cid) == b) }
    #expect(try await reopened.verify().isEmpty)
    await reopened.close()
  }
}
