import CodexFormats
import Foundation
import Multiformats
import Testing

@testable import CodexStore

@Suite("RepoStore datasets")
struct DatasetTests {
  @Test func uploadCommitMakesDatasetVisible() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let store = try openStore(dir)
    let ds = try TestDataset(count: 6, seed: 11)
    let session = try await store.beginUpload()
    try await session.add(Array(ds.blocks.prefix(3)))
    try await session.add(Array(ds.blocks.suffix(3)))
    #expect(try await store.hasBlock(tree: ds.treeCid, index: 0) == false)
    #expect(try await store.manifests().isEmpty)
    #expect(try await store.localLeafCount(tree: ds.treeCid) == 0)
    try await session.commit(treeCid: ds.treeCid, leaves: try ds.leaves(), manifest: ds.manifestBlock)
    for i in 0..<6 { #expect(try await store.hasBlock(tree: ds.treeCid, index: i)) }
    #expect(try await store.localLeafCount(tree: ds.treeCid) == 6)
    #expect(try await store.hasBlock(tree: ds.treeCid, index: 6) == false)
    #expect(try await store.manifests().map(\.cid) == [ds.manifestCid])
    #expect(try await store.testingInt("SELECT COUNT(*) FROM pending") == 0)
    // Referenced blocks cannot be deleted one by one.
    await #expect(throws: StoreError.blockInUse(ds.blocks[0].cid)) { try await store.deleteBlock(ds.blocks[0].cid) }
    // A finished session refuses more work.
    await #expect(throws: StoreError.self) { try await session.add([Block(data: [9])]) }
    #expect(try await store.verify().isEmpty)
    await store.close()
  }

  @Test func sharedBlocksSurviveDeletingOneDataset() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let store = try openStore(dir)
    let a = try TestDataset(count: 5, seed: 21)
    // b shares blocks 1 and 3 of a, and repeats a's block 1 twice (a parity block equal to a data block).
    let b = try TestDataset(count: 5, seed: 22, override: [0: a.blocks[1], 2: a.blocks[3], 4: a.blocks[1]])
    try await a.upload(to: store)
    try await b.upload(to: store)
    #expect(try await store.testingInt("SELECT refcount FROM blocks WHERE cid = ?", a.blocks[1]) == 3)
    let usedBoth = try await store.space().quotaUsedBytes
    try await store.deleteDataset(manifestCid: a.manifestCid)
    for i in 0..<5 {
      let (blk, _) = try #require(try await store.getBlock(tree: b.treeCid, index: i))
      #expect(blk == b.blocks[i])
      #expect(try await store.hasBlock(tree: a.treeCid, index: i) == false)
    }
    #expect(try await store.hasBlock(a.blocks[0].cid) == false)
    #expect(try await store.hasBlock(a.manifestCid) == false)
    #expect(try await store.testingInt("SELECT refcount FROM blocks WHERE cid = ?", a.blocks[1]) == 2)
    let usedB = try await store.space().quotaUsedBytes
    #expect(usedB == usedBoth - 3 * 65536 - UInt64(a.manifestBlock.data.count))
    try await store.deleteDataset(manifestCid: b.manifestCid)
    let space = try await store.space()
    #expect(space.totalBlocks == 0)
    #expect(space.quotaUsedBytes == 0)
    #expect(try await store.testingInt("SELECT COUNT(*) FROM leaves") == 0)
    try await store.deleteDataset(manifestCid: b.manifestCid)  // absent: fine
    #expect(try await store.verify().isEmpty)
    await store.close()
  }

  /// A delete punches its holes outside the writer: held at its "delete-committed" point (rows gone, no hole
  /// punched yet), another upload still commits; then the delete ends, its space is released, the free ranges are
  /// forgotten and the repo verifies. (Punching inside the writer, the upload waited for the delete: the hook's
  /// 10 s wait for it ran out and `releasedInTime` was false.)
  @Test func writesGoOnWhileADeleteReleasesItsSpace() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let hold = FirstHitHold("delete-committed")
    let store = try openStore(dir, rowsPerStep: 2, faultHook: hold.hook)
    // a's blocks interleaved with c's: its free ranges are not adjacent, so the release takes several steps.
    let a = try TestDataset(count: 6, seed: 31)
    let c = try TestDataset(count: 6, seed: 32)
    for i in 0..<6 {
      try await store.putBlock(a.blocks[i], ttl: nil)
      try await store.putBlock(c.blocks[i], ttl: nil)
    }
    try await a.upload(to: store)
    try await c.upload(to: store)
    let b = try TestDataset(count: 4, seed: 33)
    async let deleting: Void = store.deleteDataset(manifestCid: a.manifestCid)
    #expect(try await hold.waitUntilReached())
    try await b.upload(to: store)
    hold.release()
    try await deleting
    #expect(hold.releasedInTime == true)
    #expect(try await store.testingInt("SELECT COUNT(*) FROM free_ranges") == 0)
    #expect(try await store.hasBlock(a.manifestCid) == false)
    for i in 0..<6 {
      #expect(try await store.getBlock(tree: c.treeCid, index: i)?.block == c.blocks[i])
      #expect(try await store.hasBlock(a.blocks[i].cid) == false)
    }
    for i in 0..<4 { #expect(try await store.getBlock(tree: b.treeCid, index: i)?.block == b.blocks[i]) }
    #expect(try await store.verify().isEmpty)
    await store.close()
  }

  @Test func twoManifestsOfOneTreeKeepTheTree() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let store = try openStore(dir)
    let a = try TestDataset(count: 3, seed: 31, filename: "a.bin")
    let b = try TestDataset(count: 3, seed: 31, filename: "b.bin")
    #expect(a.treeCid == b.treeCid && a.manifestCid != b.manifestCid)
    try await a.upload(to: store)
    try await b.upload(to: store)
    try await store.deleteDataset(manifestCid: a.manifestCid)
    for i in 0..<3 { #expect(try await store.blockData(tree: b.treeCid, index: i) == b.blocks[i].data) }
    try await store.deleteDataset(manifestCid: b.manifestCid)
    #expect(try await store.space().totalBlocks == 0)
    await store.close()
  }

  @Test("putLeafBlocks stores blocks and leaves of several trees at once; over quota it leaves no trace")
  func putLeafBlocksAllOrNothing() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let a = try TestDataset(count: 5, seed: 51)
    let b = try TestDataset(count: 3, seed: 52)
    let store = try openStore(dir, quota: UInt64((a.blocks + b.blocks).reduce(0) { $0 + $1.data.count }))
    let la = try a.leaves()
    let lb = try b.leaves()
    var items: [(tree: Cid, index: Int, block: Block, proof: CodexProof)] = []
    for i in 0..<3 {
      items.append((a.treeCid, i, a.blocks[i], la[i].proof))
      items.append((b.treeCid, i, b.blocks[i], lb[i].proof))
    }
    try await store.putLeafBlocks(items)
    for i in 0..<3 {
      let (block, proof) = try #require(try await store.getBlock(tree: b.treeCid, index: i))
      #expect(block == b.blocks[i])
      #expect(proof == lb[i].proof)
      #expect(try await store.hasBlock(tree: a.treeCid, index: i))
      #expect(try await store.testingInt("SELECT refcount FROM blocks WHERE cid = ?", a.blocks[i]) == 1)
    }
    #expect(try await store.hasBlock(tree: a.treeCid, index: 3) == false)
    // The rest of `a` plus one block too many: refused whole, before anything is written.
    let space = try await store.space()
    let files = packSizes(dir)
    let extra = Block(data: pseudoRandomBytes(65536, seed: 53))
    await #expect(throws: StoreError.self) {
      try await store.putLeafBlocks([
        (a.treeCid, 3, a.blocks[3], la[3].proof), (a.treeCid, 4, a.blocks[4], la[4].proof),
        (a.treeCid, 5, extra, la[4].proof),
      ])
    }
    #expect(try await store.space() == space)
    #expect(packSizes(dir) == files)
    #expect(try await store.hasBlock(tree: a.treeCid, index: 3) == false)
    #expect(try await store.hasBlock(a.blocks[3].cid) == false)
    await #expect(throws: StoreError.invalidArgument("leaf index -1 of \(a.treeCid) is negative")) {
      try await store.putLeafBlocks([(a.treeCid, -1, a.blocks[3], la[3].proof)])
    }
    try await store.putLeafBlocks([(a.treeCid, 3, a.blocks[3], la[3].proof), (a.treeCid, 4, a.blocks[4], la[4].proof)])
    #expect(
      try await store.space().quotaUsedBytes == space.quotaUsedBytes
        + UInt64(a.blocks[3].data.count + a.blocks[4].data.count))
    #expect(try await store.verify().isEmpty)
    await store.close()
  }

  @Test func putLeafRules() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let store = try openStore(dir)
    let ds = try TestDataset(count: 4, seed: 41)
    try await store.putBlocks(ds.blocks)
    let leaves = try ds.leaves()
    try await store.putLeaf(tree: ds.treeCid, index: 0, blockCid: leaves[0].blockCid, proof: leaves[0].proof)
    try await store.putLeaf(tree: ds.treeCid, index: 0, blockCid: leaves[0].blockCid, proof: leaves[0].proof)
    #expect(try await store.testingInt("SELECT refcount FROM blocks WHERE cid = ?", ds.blocks[0]) == 1)
    // An existing entry is left unchanged, even with another block.
    try await store.putLeaf(tree: ds.treeCid, index: 0, blockCid: leaves[1].blockCid, proof: leaves[1].proof)
    let (first, _) = try #require(try await store.getBlock(tree: ds.treeCid, index: 0))
    #expect(first == ds.blocks[0])
    #expect(try await store.testingInt("SELECT refcount FROM blocks WHERE cid = ?", ds.blocks[1]) == 0)
    // A block with another codec gets no reference.
    let raw = Block(data: pseudoRandomBytes(100, seed: 5), codec: .codexManifest)
    try await store.putBlock(raw, ttl: nil)
    try await store.putLeaf(tree: ds.treeCid, index: 1, blockCid: raw.cid, proof: leaves[1].proof)
    #expect(try await store.testingInt("SELECT refcount FROM blocks WHERE cid = ?", raw) == 0)
    // The empty CID is a valid (padding) leaf with no reference; it reads as 0 bytes.
    try await store.putLeaf(tree: ds.treeCid, index: 2, blockCid: Codex.emptyBlockCid, proof: leaves[2].proof)
    #expect(try await store.hasBlock(tree: ds.treeCid, index: 2))
    #expect(try await store.blockData(tree: ds.treeCid, index: 2) == [])
    let (pad, padProof) = try #require(try await store.getBlock(tree: ds.treeCid, index: 2))
    #expect(pad.cid == Codex.emptyBlockCid && pad.data.isEmpty && padProof == leaves[2].proof)
    // A codex-block leaf whose block is missing is refused.
    let absent = Block(data: pseudoRandomBytes(65536, seed: 6))
    await #expect(throws: StoreError.self) {
      try await store.putLeaf(tree: ds.treeCid, index: 3, blockCid: absent.cid, proof: leaves[3].proof)
    }
    #expect(try await store.hasBlock(tree: ds.treeCid, index: 3) == false)
    await store.close()
  }

  @Test func commitWithMissingBlockFailsAndLeavesSessionOpen() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let store = try openStore(dir)
    let ds = try TestDataset(count: 3, seed: 51)
    let session = try await store.beginUpload()
    try await session.add(Array(ds.blocks.prefix(2)))
    await #expect(throws: StoreError.self) {
      try await session.commit(treeCid: ds.treeCid, leaves: try ds.leaves(), manifest: ds.manifestBlock)
    }
    #expect(try await store.manifests().isEmpty)
    #expect(try await store.testingInt("SELECT COUNT(*) FROM leaves") == 0)
    try await session.add([ds.blocks[2]])
    try await session.commit(treeCid: ds.treeCid, leaves: try ds.leaves(), manifest: ds.manifestBlock)
    #expect(try await store.verify().isEmpty)
    await store.close()
  }

  @Test func abortRemovesOnlyWhatTheSessionCreated() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let store = try openStore(dir)
    let before = Block(data: pseudoRandomBytes(65536, seed: 61))
    try await store.putBlock(before, ttl: nil)
    let ds = try TestDataset(count: 4, seed: 62, override: [0: before])
    let s1 = try await store.beginUpload()
    let s2 = try await store.beginUpload()
    try await s1.add(ds.blocks)
    try await s2.add([ds.blocks[1]])  // s2 also needs block 1, created by s1
    await s1.abort()
    #expect(try await store.hasBlock(before.cid))  // existed before the session
    #expect(try await store.hasBlock(ds.blocks[1].cid))  // held by s2
    #expect(try await store.hasBlock(ds.blocks[2].cid) == false)
    #expect(try await store.hasBlock(ds.blocks[3].cid) == false)
    await s2.abort()
    #expect(try await store.hasBlock(ds.blocks[1].cid) == false)
    let space = try await store.space()
    #expect(space.totalBlocks == 1)
    #expect(space.quotaUsedBytes == 65536)
    #expect(try await store.verify().isEmpty)
    await store.close()
  }

  @Test func droppedSessionIsAborted() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let store = try openStore(dir)
    let ds = try TestDataset(count: 2, seed: 71)
    do {
      let session = try await store.beginUpload()
      try await session.add(ds.blocks)
    }
    for _ in 0..<200 where try await store.space().totalBlocks > 0 { try await Task.sleep(for: .milliseconds(10)) }
    #expect(try await store.space().totalBlocks == 0)
    await store.close()
  }

  @Test func updateExpiryProtectsTheDatasetFromMaintenance() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let clock = TestClock()
    let store = try openStore(dir, clock: clock)
    let kept = try TestDataset(count: 3, seed: 81)
    let lost = try TestDataset(count: 3, seed: 82)
    try await kept.upload(to: store)
    try await lost.upload(to: store)
    let loose = Block(data: pseudoRandomBytes(65536, seed: 83))
    try await store.putBlock(loose, ttl: .seconds(5000))
    try await store.updateExpiry(tree: kept.treeCid, count: 3, expiry: clock.now() + 3000)
    clock.advance(2000)  // the default ttl in tests is 1000 s
    let deleted = try await store.runMaintenanceCycle()
    #expect(deleted == 3 + 1)  // lost's blocks and manifest; kept's manifest was extended with its blocks
    for i in 0..<3 {
      #expect(try await store.blockData(tree: kept.treeCid, index: i) == kept.blocks[i].data)
      #expect(try await store.blockData(tree: lost.treeCid, index: i) == nil)
    }
    #expect(try await store.manifests().map(\.cid) == [kept.manifestCid])
    #expect(try await store.hasBlock(loose.cid))
    #expect(try await store.space().totalBlocks == 5)
    clock.advance(1001)
    #expect(try await store.runMaintenanceCycle() == 4)
    #expect(try await store.hasBlock(loose.cid))
    #expect(try await store.testingInt("SELECT COUNT(*) FROM leaves") == 0)
    #expect(try await store.verify().isEmpty)
    await store.close()
  }

  @Test func maintenanceHonoursTheBatchSize() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let clock = TestClock()
    let store = try RepoStore(
      config: RepoConfig(directory: dir.path, quotaMaxBytes: 1 << 30, blockTTL: .seconds(10), maintenanceBatch: 4),
      clock: clock, logger: testLogger)
    try await store.putBlocks((0..<10).map { Block(data: pseudoRandomBytes(1000, seed: 90 + UInt64($0))) })
    clock.advance(11)
    #expect(try await store.runMaintenanceCycle() == 4)
    #expect(try await store.runMaintenanceCycle() == 4)
    #expect(try await store.runMaintenanceCycle() == 2)
    #expect(try await store.runMaintenanceCycle() == 0)
    await store.close()
  }

  @Test("a TTL past the end of Int64 saturates: stored, never expires; a hugely negative one expires at once")
  func extremeTTLsSaturate() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let clock = TestClock()
    let store = try RepoStore(
      config: RepoConfig(directory: dir.path, blockTTL: .seconds(Int64.max)), clock: clock, logger: testLogger)
    let forever = Block(data: [1, 2, 3])
    let gone = Block(data: [4, 5, 6])
    try await store.putBlock(forever, ttl: nil)  // trapped on the addition before
    try await store.putBlock(gone, ttl: .seconds(Int64.min))
    #expect(try await store.testingInt("SELECT expiry FROM blocks WHERE cid = ?", forever) == Int(Int64.max))
    clock.advance(1)
    #expect(try await store.runMaintenanceCycle() == 1)
    #expect(try await store.hasBlock(forever.cid))
    #expect(try await !store.hasBlock(gone.cid))
    await store.close()
  }

  @Test("an upload's manifest expires with its first blocks, and maintenance deletes the dataset then")
  func expiringDatasetLeavesTheListingFirst() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let clock = TestClock()
    let store = try RepoStore(
      config: RepoConfig(directory: dir.path, blockTTL: .seconds(1000), maintenanceBatch: 3), clock: clock,
      logger: testLogger)
    let ds = try TestDataset(count: 8, seed: 95)
    let session = try await store.beginUpload()
    // A long upload: its batches are stored 60 s apart, the manifest at the end.
    try await addInBatches(Array(ds.blocks[0..<4]), capacity: 4, to: session)
    clock.advance(60)
    try await addInBatches(Array(ds.blocks[4..<8]), capacity: 4, to: session)
    clock.advance(60)
    try await session.commit(manifest: ds.manifestBlock)
    let first = try await store.testingInt("SELECT expiry FROM blocks WHERE cid = ?", ds.blocks[0])
    #expect(try await store.testingInt("SELECT expiry FROM blocks WHERE cid = ?", ds.manifestBlock) == first)
    #expect(try await store.testingInt("SELECT expiry FROM blocks WHERE cid = ?", ds.blocks[7]) == first + 60)
    // Once the first blocks expired, the first cycle deletes the dataset whole: manifest, leaf rows and blocks.
    clock.advance(1000 - 120 + 1)
    #expect(try await store.runMaintenanceCycle() == 9)
    #expect(try await store.manifests().isEmpty)
    #expect(try await store.space().totalBlocks == 0)
    #expect(try await store.testingInt("SELECT COUNT(*) FROM leaves") == 0)
    #expect(try await store.verify().isEmpty)
    await store.close()
  }

  @Test("an expired dataset goes whole, but a block another dataset still uses stays; a tree shared stays")
  func expiredDatasetKeepsWhatOthersUse() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let clock = TestClock()
    let store = try openStore(dir, clock: clock)
    let old = try TestDataset(count: 3, seed: 96)
    try await old.upload(to: store)
    clock.advance(500)
    let young = try TestDataset(count: 2, seed: 97, override: [1: old.blocks[2]])
    try await young.upload(to: store)
    // The same tree under a second manifest (another filename), stored later.
    let renamed = Manifest(
      treeCid: young.treeCid, datasetSize: young.manifest.datasetSize, blockSize: 65536, filename: "b.bin")
    try await store.putBlock(renamed.block, ttl: .seconds(3000))
    clock.advance(501)
    #expect(try await store.runMaintenanceCycle() == 3)  // old's manifest and its two blocks nothing else uses
    #expect(try await store.blockData(tree: young.treeCid, index: 1) == old.blocks[2].data)
    #expect(try await store.testingInt("SELECT COUNT(*) FROM leaves") == 2)
    #expect(try await store.verify().isEmpty)
    // Young's blocks live on (as if another upload of them raised their expiry); its manifest expires.
    try await store.testingExecute("UPDATE blocks SET expiry = expiry + 5000 WHERE tree IS NULL")
    clock.advance(500)
    #expect(try await store.runMaintenanceCycle() == 1)  // young's manifest only: renamed uses its tree
    #expect(try await store.manifests().map(\.cid) == [renamed.block.cid])
    #expect(try await store.blockData(tree: young.treeCid, index: 1) == old.blocks[2].data)
    #expect(try await store.verify().isEmpty)
    await store.close()
  }

  @Test func maintenanceLoopStopsWhenCancelled() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let clock = TestClock()
    let store = try RepoStore(
      config: RepoConfig(
        directory: dir.path, blockTTL: .seconds(0), maintenanceInterval: .milliseconds(20)),
      clock: clock, logger: testLogger)
    try await store.putBlock(Block(data: [1, 2, 3]), ttl: nil)
    clock.advance(1)
    let loop = Task { await store.runMaintenance() }
    for _ in 0..<200 where try await store.space().totalBlocks > 0 { try await Task.sleep(for: .milliseconds(10)) }
    #expect(try await store.space().totalBlocks == 0)
    loop.cancel()
    await loop.value
    await store.close()
  }
}

extension RepoStore {
  /// `testingInt` with one block's CID bound.
  func testingInt(_ sql: String, _ block: Block) async throws -> Int {
    try await testingInt(
      sql.replacingOccurrences(of: "?", with: "X'\(block.cid.bytes.map { String(format: "%02x", $0) }.joined())'"))
  }
}
