import CodexFormats
import Foundation
import Multiformats
import Testing

@testable import CodexStore

@Suite("RepoStore blocks")
struct RepoStoreBlockTests {
  @Test func putGetHasRoundTripsSmallAndLargeBlocks() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let store = try openStore(dir)
    let small = Block(data: Array("hello codex".utf8))
    let large = Block(data: pseudoRandomBytes(65536, seed: 1))
    let odd = Block(data: pseudoRandomBytes(5000, seed: 2))
    #expect(try await store.hasBlock(small.cid) == false)
    #expect(try await store.getBlock(large.cid) == nil)
    for b in [small, large, odd] { try await store.putBlock(b, ttl: nil) }
    for b in [small, large, odd] {
      #expect(try await store.hasBlock(b.cid))
      let got = try #require(try await store.getBlock(b.cid))
      #expect(got == b)
    }
    let space = try await store.space()
    #expect(space.totalBlocks == 3)
    #expect(space.quotaUsedBytes == UInt64(small.data.count + large.data.count + odd.data.count))
    await store.close()
  }

  @Test func emptyCidIsPresentReadsEmptyAndIsNeverStored() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let store = try openStore(dir)
    let vector = try Vectors.json("formats.json")["empty_cid"] as? [String: Any]
    let empty = try Cid(string: try #require(vector?["cid"] as? String))
    #expect(empty == Codex.emptyBlockCid)
    #expect(try await store.hasBlock(empty))
    let got = try #require(try await store.getBlock(empty))
    #expect(got.data.isEmpty)
    try await store.putBlock(Block(data: []), ttl: nil)
    try await store.deleteBlock(empty)
    let space = try await store.space()
    #expect(space.totalBlocks == 0)
    #expect(space.quotaUsedBytes == 0)
    #expect(try await store.hasBlock(empty))
    await store.close()
  }

  @Test func sameCidWithAnotherSizeIsRefused() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let store = try openStore(dir)
    let block = Block(data: pseudoRandomBytes(65536, seed: 3))
    try await store.putBlock(block, ttl: nil)
    let liar = Block(unchecked: block.cid, data: [1, 2, 3])
    await #expect(throws: StoreError.sizeMismatch(block.cid, stored: 65536, given: 3)) {
      try await store.putBlock(liar, ttl: nil)
    }
    #expect(try await store.getBlock(block.cid) == block)
    await store.close()
  }

  @Test func putIsIdempotentAndRaisesExpiryOnly() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let clock = TestClock()
    let store = try openStore(dir, clock: clock)
    let block = Block(data: pseudoRandomBytes(65536, seed: 4))
    try await store.putBlock(block, ttl: .seconds(100))
    let before = packSizes(dir)
    try await store.putBlock(block, ttl: .seconds(10))  // lower: keeps 100
    try await store.putBlock(block, ttl: .seconds(50))
    #expect(packSizes(dir) == before)
    let space = try await store.space()
    #expect(space.totalBlocks == 1)
    #expect(space.quotaUsedBytes == 65536)
    clock.advance(60)
    #expect(try await store.runMaintenanceCycle() == 0)
    #expect(try await store.hasBlock(block.cid))
    // A later put with a longer ttl extends it.
    try await store.putBlock(block, ttl: .seconds(500))
    clock.advance(100)
    #expect(try await store.runMaintenanceCycle() == 0)
    clock.advance(500)
    #expect(try await store.runMaintenanceCycle() == 1)
    #expect(try await store.hasBlock(block.cid) == false)
    await store.close()
  }

  @Test func deleteBlockFreesQuotaAndDiskSpace() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let store = try openStore(dir)
    let blocks = (0..<16).map { Block(data: pseudoRandomBytes(65536, seed: 100 + UInt64($0))) }
    try await store.putBlocks(blocks)
    let full = packBytesOnDisk(dir)
    #expect(full >= 16 * 65536)
    for b in blocks.prefix(8) { try await store.deleteBlock(b.cid) }
    #expect(try await store.space().quotaUsedBytes == 8 * 65536)
    if holePunchingWorks(dir) { #expect(packBytesOnDisk(dir) <= full - 8 * 65536) }
    for b in blocks.suffix(8) { #expect(try await store.getBlock(b.cid) == b) }
    for b in blocks.prefix(8) { #expect(try await store.getBlock(b.cid) == nil) }
    try await store.deleteBlock(blocks[0].cid)  // absent: fine
    await store.close()
  }

  @Test func aSecondStoreOnTheSameRepoIsRefusedUntilTheFirstCloses() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let block = Block(data: pseudoRandomBytes(300, seed: 3))
    let first = try openStore(dir)
    try await first.putBlock(block, ttl: nil)
    let refused = #expect(throws: DirectoryLock.InUseError.self) { try openStore(dir) }
    #expect(refused?.holder == getpid())
    #expect(refused?.description.contains(dir.path) == true)
    // The refused open changed nothing the first store relies on.
    #expect(try await first.getBlock(block.cid) == block)
    await first.close()
    let second = try openStore(dir)
    #expect(try await second.getBlock(block.cid) == block)
    // A crash (the lock's file descriptor goes away with the process) frees it too.
    second.abandonForTesting()
    let third = try openStore(dir)
    #expect(try await third.space().totalBlocks == 1)
    await third.close()
  }

  @Test func reopenKeepsEverything() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let ds = try TestDataset(count: 5, seed: 7)
    let loose = Block(data: pseudoRandomBytes(300, seed: 8))
    do {
      let store = try openStore(dir)
      try await ds.upload(to: store)
      try await store.putBlock(loose, ttl: nil)
      try await store.reserve(bytes: 1234)
      await store.close()
    }
    let store = try openStore(dir)
    let space = try await store.space()
    #expect(space.totalBlocks == 7)
    #expect(space.quotaReservedBytes == 1234)
    #expect(space.quotaUsedBytes == UInt64(5 * 65536 + loose.data.count + ds.manifestBlock.data.count))
    for (i, b) in ds.blocks.enumerated() {
      let (got, proof) = try #require(try await store.getBlock(tree: ds.treeCid, index: i))
      #expect(got == b)
      #expect(proof.verify(leaf: b.cid.multihash, root: ds.treeCid.multihash))
      #expect(try await store.blockData(tree: ds.treeCid, index: i) == b.data)
    }
    #expect(try await store.getBlock(loose.cid) == loose)
    let manifests = try await store.manifests()
    #expect(manifests.count == 1)
    #expect(manifests.first?.cid == ds.manifestCid)
    #expect(manifests.first?.manifest == ds.manifest)
    // Writes continue after the reopen.
    let more = Block(data: pseudoRandomBytes(65536, seed: 9))
    try await store.putBlock(more, ttl: nil)
    #expect(try await store.getBlock(more.cid) == more)
    #expect(try await store.verify().isEmpty)
    await store.close()
  }

  @Test func packFilesRotate() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let store = try openStore(dir, packLimit: 200_000)
    let blocks = (0..<10).map { Block(data: pseudoRandomBytes(65536, seed: 300 + UInt64($0))) }
    for b in blocks { try await store.putBlock(b, ttl: nil) }
    #expect(packSizes(dir).count >= 3)
    for b in blocks { #expect(try await store.getBlock(b.cid) == b) }
    await store.close()
    let again = try openStore(dir, packLimit: 200_000)
    for b in blocks { #expect(try await again.getBlock(b.cid) == b) }
    #expect(try await again.verify().isEmpty)
    await again.close()
  }

  @Test func emptiedPackFilesAreDeleted() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let store = try openStore(dir, packLimit: 200_000)
    let blocks = (0..<10).map { Block(data: pseudoRandomBytes(65536, seed: 800 + UInt64($0))) }
    for b in blocks { try await store.putBlock(b, ttl: nil) }
    let before = packSizes(dir).count
    for b in blocks.prefix(6) { try await store.deleteBlock(b.cid) }
    #expect(packSizes(dir).count < before)
    for b in blocks.suffix(4) { #expect(try await store.getBlock(b.cid) == b) }
    #expect(try await store.verify().isEmpty)
    await store.close()
    let again = try openStore(dir, packLimit: 200_000)
    for b in blocks.suffix(4) { #expect(try await again.getBlock(b.cid) == b) }
    let more = Block(data: pseudoRandomBytes(65536, seed: 899))
    try await again.putBlock(more, ttl: nil)
    #expect(try await again.getBlock(more.cid) == more)
    #expect(try await again.verify().isEmpty)
    await again.close()
  }

  @Test func concurrentReadsDuringDeletesSeeWholeBlocksOrNothing() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let store = try openStore(dir)
    let blocks = (0..<64).map { Block(data: pseudoRandomBytes(65536, seed: 900 + UInt64($0))) }
    try await store.putBlocks(blocks)
    try await withThrowingTaskGroup(of: Void.self) { group in
      for t in 0..<3 {
        group.addTask {
          for round in 0..<4 {
            for (i, b) in blocks.enumerated() where (i + t + round) % 2 == 0 {
              if let got = try await store.getBlock(b.cid) { #expect(got == b) }
            }
          }
        }
      }
      group.addTask {
        for b in blocks { try await store.deleteBlock(b.cid) }
      }
      try await group.waitForAll()
    }
    #expect(try await store.space().totalBlocks == 0)
    await store.close()
  }

  @Test func closedStoreRefusesWork() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let store = try openStore(dir)
    await store.close()
    await #expect(throws: StoreError.self) { try await store.putBlock(Block(data: [1]), ttl: nil) }
    await #expect(throws: StoreError.self) { _ = try await store.getBlock(Block(data: [1]).cid) }
  }
}
