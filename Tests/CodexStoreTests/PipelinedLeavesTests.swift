import CodexFormats
import Foundation
import Multiformats
import Testing

@testable import CodexStore

/// `RepoStore.startLeafBlocks`: a block-exchange batch's bytes written while the previous batch's rows go in.
@Suite("RepoStore pipelined leaf writes")
struct PipelinedLeavesTests {
  typealias Leaf = (tree: Cid, index: Int, block: Block, proof: CodexProof)

  static func leaves(_ ds: TestDataset, _ range: Range<Int>) throws -> [Leaf] {
    let all = try ds.leaves()
    return range.map { (ds.treeCid, $0, ds.blocks[$0], all[$0].proof) }
  }

  /// Each batch's rows are committed by the next start (its ticket ends then), the last one by `settleLeafBlocks`;
  /// until then its leaves are not visible. A block repeated in the next batch (a dataset's repeated block) is
  /// stored once and counted for both leaves. Quota and `verify` are exact at the end.
  @Test func eachStartCommitsThePreviousBatch() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let store = try openStore(dir)
    // Block 5 repeats block 1: the second batch finds it in the first, pipelined one.
    var ds = try TestDataset(count: 8, seed: 61)
    ds = try TestDataset(count: 8, seed: 61, override: [5: ds.blocks[1]])
    let first = try await store.startLeafBlocks(try Self.leaves(ds, 0..<4))
    #expect(try await store.hasBlock(tree: ds.treeCid, index: 0) == false)
    let second = try await store.startLeafBlocks(try Self.leaves(ds, 4..<8))
    try await first.wait()
    for i in 0..<4 { #expect(try await store.getBlock(tree: ds.treeCid, index: i)?.block == ds.blocks[i]) }
    #expect(try await store.hasBlock(tree: ds.treeCid, index: 6) == false)
    await store.settleLeafBlocks()
    try await second.wait()
    for i in 0..<8 {
      let (block, proof) = try #require(try await store.getBlock(tree: ds.treeCid, index: i))
      #expect(block == ds.blocks[i])
      #expect(proof == (try ds.leaves())[i].proof)
    }
    #expect(try await store.testingInt("SELECT refcount FROM blocks WHERE cid = ?", ds.blocks[1]) == 2)
    let space = try await store.space()
    #expect(space.totalBlocks == 7)
    #expect(space.quotaUsedBytes == 7 * 65536)
    #expect(try await store.verify().isEmpty)
    await store.close()
  }

  /// Any other writer turn completes a pipelined batch first (here a plain `putBlock`), and so does `close()`: what
  /// was started is stored, and the reopened repo verifies.
  @Test func otherWritesAndCloseCompleteThePipelinedBatch() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let ds = try TestDataset(count: 6, seed: 62)
    do {
      let store = try openStore(dir)
      let first = try await store.startLeafBlocks(try Self.leaves(ds, 0..<3))
      let other = Block(data: pseudoRandomBytes(65536, seed: 620))
      try await store.putBlock(other, ttl: nil)
      try await first.wait()
      #expect(try await store.getBlock(tree: ds.treeCid, index: 2)?.block == ds.blocks[2])
      #expect(try await store.getBlock(other.cid) == other)
      let second = try await store.startLeafBlocks(try Self.leaves(ds, 3..<6))
      await store.close()
      try await second.wait()
    }
    let store = try openStore(dir)
    for i in 0..<6 { #expect(try await store.getBlock(tree: ds.treeCid, index: i)?.block == ds.blocks[i]) }
    #expect(try await store.space().totalBlocks == 7)
    #expect(try await store.verify().isEmpty)
    await store.close()
  }

  /// The quota counts a pipelined batch's new bytes before its rows exist: a batch that would pass the quota with
  /// them is refused whole (nothing written), and the batch before it is still stored.
  @Test func quotaCountsThePipelinedBatch() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let store = try openStore(dir, quota: 5 * 65536)
    let ds = try TestDataset(count: 6, seed: 63)
    let first = try await store.startLeafBlocks(try Self.leaves(ds, 0..<3))
    await #expect(throws: StoreError.self) { _ = try await store.startLeafBlocks(try Self.leaves(ds, 3..<6)) }
    try await first.wait()
    // The pack holds the first batch's bytes only (its own write may end at any time after its start: the sizes are
    // compared once it is committed).
    #expect(packSizes(dir) == ["000001.pack": 3 * 65536])
    for i in 0..<3 { #expect(try await store.hasBlock(tree: ds.treeCid, index: i)) }
    #expect(try await store.hasBlock(ds.blocks[3].cid) == false)
    #expect(try await store.space().quotaUsedBytes == 3 * 65536)
    #expect(try await store.verify().isEmpty)
    await store.close()
  }

  /// A batch whose background write fails is rolled back when it is completed: its ticket throws, none of its
  /// blocks or leaves are stored, the batch started after it (written past it) goes too and its start throws, and
  /// the repo stays consistent and writable.
  @Test(arguments: ["settle", "next start"])
  func failedWriteRollsBackItsBatch(when: String) async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let store = try openStore(dir)
    let ds = try TestDataset(count: 9, seed: 64)
    let first = try await store.startLeafBlocks(try Self.leaves(ds, 0..<3))
    await store.settleLeafBlocks()
    try await first.wait()
    store.packs.failNextWritesForTesting.store(1, ordering: .relaxed)
    let failing = try await store.startLeafBlocks(try Self.leaves(ds, 3..<6))
    // Its write runs on another thread: wait until it did fail (bounded), so the next batch's write cannot take the
    // injected failure instead.
    for _ in 0..<500 where store.packs.injectedWriteFailures.load(ordering: .relaxed) == 0 {
      try await Task.sleep(for: .milliseconds(10))
    }
    try #require(store.packs.injectedWriteFailures.load(ordering: .relaxed) == 1)
    switch when {
    case "settle":
      await store.settleLeafBlocks()
    default:
      await #expect(throws: StoreError.self) { _ = try await store.startLeafBlocks(try Self.leaves(ds, 6..<9)) }
    }
    await #expect(throws: StoreError.self) { try await failing.wait() }
    for i in 3..<9 {
      #expect(try await store.hasBlock(tree: ds.treeCid, index: i) == false)
      #expect(try await store.hasBlock(ds.blocks[i].cid) == false)
    }
    #expect(try await store.space().quotaUsedBytes == 3 * 65536)
    #expect(try await store.verify().isEmpty)
    // Still writable: the rest goes in.
    let rest = try await store.startLeafBlocks(try Self.leaves(ds, 3..<9))
    await store.settleLeafBlocks()
    try await rest.wait()
    for i in 0..<9 { #expect(try await store.getBlock(tree: ds.treeCid, index: i)?.block == ds.blocks[i]) }
    #expect(try await store.verify().isEmpty)
    await store.close()
  }

  /// An upload batch pipelined after a leaf write completes the leaf write first, and a leaf write completes a
  /// pipelined upload batch first: bytes of both interleave in the same pack, and everything verifies.
  @Test func interleavesWithUploadBatches() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let store = try openStore(dir)
    let fetched = try TestDataset(count: 6, seed: 65)
    let uploaded = try TestDataset(count: 6, seed: 66)
    let session = try await store.beginUpload()
    let first = try await store.startLeafBlocks(try Self.leaves(fetched, 0..<3))
    try await addInBatches(Array(uploaded.blocks.prefix(3)), capacity: 3, to: session)
    try await first.wait()
    let second = try await store.startLeafBlocks(try Self.leaves(fetched, 3..<6))
    try await addInBatches(Array(uploaded.blocks.suffix(3)), capacity: 3, to: session)
    try await second.wait()
    try await session.commit(manifest: uploaded.manifestBlock)
    for i in 0..<6 {
      #expect(try await store.getBlock(tree: fetched.treeCid, index: i)?.block == fetched.blocks[i])
      #expect(try await store.getBlock(tree: uploaded.treeCid, index: i)?.block == uploaded.blocks[i])
    }
    #expect(try await store.verify().isEmpty)
    await store.close()
  }
}
