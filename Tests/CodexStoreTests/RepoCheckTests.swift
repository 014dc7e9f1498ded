import CodexFormats
import Foundation
import Multiformats
import Synchronization
import Testing

@testable import CodexStore

@Suite("RepoStore check")
struct RepoCheckTests {
  @Test func aConsistentRepoIsReportedWithItsCounts() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let store = try openStore(dir)
    let ds = try TestDataset(count: 5, seed: 51)
    try await ds.upload(to: store)
    let seen = Mutex(0)
    let report = try await store.check(deep: true) { bytes in seen.withLock { $0 += bytes } }
    #expect(report.problems.isEmpty)
    #expect(report.incomplete.isEmpty)
    #expect((report.blocks, report.manifests, report.hashedBlocks) == (6, 1, 6))
    #expect(report.bytes == UInt64(5 * 65536 + ds.manifestBlock.data.count))
    #expect(seen.withLock { $0 } == Int(report.bytes))
    let quick = try await store.check(deep: false)
    #expect(quick.problems.isEmpty && quick.hashedBlocks == 0)
    await store.close()
  }

  @Test func aDatasetWithMissingLeavesIsIncompleteNotAProblem() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let store = try openStore(dir)
    let ds = try TestDataset(count: 4, seed: 52)
    // The manifest and two of the four leaves, as a network download that stopped half-way leaves them.
    try await store.putBlock(ds.manifestBlock, ttl: nil)
    let leaves = try (0..<2).map { i in (ds.treeCid, i, ds.blocks[i], try ds.tree.proof(for: i)) }
    try await store.putLeafBlocks(leaves, ttl: nil)
    let report = try await store.check(deep: true)
    #expect(report.problems.isEmpty)
    #expect(report.incomplete == [.init(manifest: ds.manifestCid, localBlocks: 2, totalBlocks: 4)])
    #expect(try await store.verify() == ["manifest \(ds.manifestCid): 2 of 4 leaves missing"])
    await store.close()
  }

  @Test func aBlockWhoseBytesRottedIsAProblemOnlyTheDeepCheckSees() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let store = try openStore(dir)
    let ds = try TestDataset(count: 3, seed: 53)
    try await ds.upload(to: store)
    try await BatchReadTests.flipByte(of: 1, tree: ds.treeCid, in: store, dir: dir)
    #expect(try await store.check(deep: false).problems.isEmpty)
    let report = try await store.check(deep: true)
    #expect(report.problems.count == 1)
    #expect(report.problems.first?.contains("\(ds.blocks[1].cid)") == true)
    await store.close()
  }
}

@Suite("RepoStore damaged blocks")
struct DamagedBlockTests {
  @Test func aDamagedBlockReadsAsAbsentAndPuttingItAgainHealsIt() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let store = try openStore(dir)
    let ds = try TestDataset(count: 4, seed: 54)
    try await ds.upload(to: store)
    try await BatchReadTests.flipByte(of: 2, tree: ds.treeCid, in: store, dir: dir)
    // No read hands out the damaged bytes.
    #expect(try await store.getBlock(tree: ds.treeCid, index: 2) == nil)
    #expect(try await store.blockData(tree: ds.treeCid, index: 2) == nil)
    #expect(try await store.getBlock(ds.blocks[2].cid) == nil)
    #expect(try await store.getBlock(tree: ds.treeCid, index: 1)?.block == ds.blocks[1])
    // A good copy (as the network store fetches one) takes the damaged one's place.
    try await store.putLeafBlocks([(ds.treeCid, 2, ds.blocks[2], try ds.tree.proof(for: 2))], ttl: nil)
    #expect(try await store.getBlock(tree: ds.treeCid, index: 2)?.block == ds.blocks[2])
    #expect(try await store.blockData(tree: ds.treeCid, index: 2) == ds.blocks[2].data)
    #expect(try await store.check(deep: true).problems.isEmpty)
    #expect(try await store.space().quotaUsedBytes == UInt64(4 * 65536 + ds.manifestBlock.data.count))
    await store.close()
  }

  @Test func uploadingTheFileAgainHealsTheDamagedBlocksReadsFound() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let store = try openStore(dir)
    let ds = try TestDataset(count: 5, seed: 55)
    try await ds.upload(to: store)
    try await BatchReadTests.flipByte(of: 0, tree: ds.treeCid, in: store, dir: dir)
    try await BatchReadTests.flipByte(of: 3, tree: ds.treeCid, in: store, dir: dir)
    // Reads find them damaged (and hand out nothing); the same file uploaded again rewrites them.
    #expect(try await store.blockData(tree: ds.treeCid, index: 0) == nil)
    #expect(try await store.getBlock(tree: ds.treeCid, index: 3) == nil)
    try await ds.upload(to: store)
    for i in 0..<5 { #expect(try await store.blockData(tree: ds.treeCid, index: i) == ds.blocks[i].data) }
    #expect(try await store.check(deep: true).problems.isEmpty)
    #expect(try await store.space().totalBlocks == 6)
    await store.close()
  }

  @Test func theScrubGoesRoundTheRepoAndFindsADamagedBlockWithItsLeaf() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let store = try openStore(dir)
    let ds = try TestDataset(count: 7, seed: 56)
    try await ds.upload(to: store)
    try await BatchReadTests.flipByte(of: 5, tree: ds.treeCid, in: store, dir: dir)
    for _ in 0..<2 {  // two rounds: the second starts from the beginning again
      var cursor: [UInt8]? = nil
      var checked = 0
      var damaged: [ScrubStep.Damaged] = []
      repeat {
        let step = try await store.scrub(after: cursor, limit: 3)
        checked += step.checked
        damaged += step.damaged
        cursor = step.next
      } while cursor != nil
      #expect(checked == 8)  // 7 blocks and the manifest
      #expect(damaged == [.init(block: ds.blocks[5].cid, tree: ds.treeCid, index: 5)])
    }
    // What the scrub found is rewritten when a good copy is stored.
    try await store.putLeafBlocks([(ds.treeCid, 5, ds.blocks[5], try ds.tree.proof(for: 5))], ttl: nil)
    #expect(try await store.check(deep: true).problems.isEmpty)
    await store.close()
  }
}
