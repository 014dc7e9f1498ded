import CStoreSupport
import CodexFormats
import Foundation
import Multiformats
import Synchronization
import Testing

@testable import CodexStore

/// The upload fast path: `BlockBatch`, `UploadSession.addLeaves` / `buildTree` / `commit(manifest:)`, and the
/// spilled streaming tree.
@Suite("RepoStore leaf batches")
struct LeafBatchTests {
  /// The streaming tree over a spill file equals `CodexTree`: root and every proof, for sizes around the odd-node
  /// rule and around the spill's 2048-digest chunk and window.
  @Test(arguments: [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 33, 100, 2047, 2048, 2049, 4097, 6145])
  func spilledTreeMatchesCodexTree(leafCount: Int) throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let flat = pseudoRandomBytes(32 * leafCount, seed: UInt64(leafCount))
    let spill = try LeafSpill(directory: dir.path)
    // Append in uneven pieces to cross the 64 KiB write buffer at odd places.
    var at = 0
    var piece = 1
    while at < leafCount {
      let n = min(piece, leafCount - at)
      flat[32 * at..<32 * (at + n)].withUnsafeBytes { try? spill.append($0) }
      at += n
      piece = piece * 3 + 1
    }
    #expect(spill.count == leafCount)
    let tree = try CodexTree(flatLeaves: flat)
    #expect(try spill.buildTree() == tree.root)
    var seen = 0
    try spill.forEachLeaf { i, leaf, proof in
      #expect(i == seen)
      #expect(leaf == tree.leaf(i))
      let expected = try tree.proof(for: i)
      #expect(proof.encoded == expected.encoded)
      seen += 1
    }
    #expect(seen == leafCount)
    // The commit's allocation-free walk gives the same leaves and byte-identical proof encodings.
    seen = 0
    try spill.forEachLeafEncoded { i, leaf, proof in
      #expect(i == seen)
      #expect(Array(leaf) == tree.leaf(i))
      let expected = try tree.proof(for: i)
      #expect(Array(proof) == expected.encoded)
      seen += 1
    }
    #expect(seen == leafCount)
    // Nothing is left in the directory: the file was unlinked when created.
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
  }

  @Test func spillWithoutLeavesRefusesToBuildATree() throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let spill = try LeafSpill(directory: dir.path)
    #expect(throws: StoreError.self) { try spill.buildTree() }
  }

  /// A batch hashes and pads like the chunker and `Block`.
  @Test func batchHashesAndPadsLikeBlocks() async throws {
    let data = pseudoRandomBytes(3 * 4096 + 100, seed: 5)
    let batch = BlockBatch(blockSize: 4096, capacity: 8)
    let taken = data.withUnsafeBytes { batch.append($0) }
    #expect(taken == data.count)
    #expect(batch.count == 3)
    batch.padLastBlock()
    #expect(batch.count == 4)
    await batch.hashAll()
    var chunker = Chunker(blockSize: 4096)
    var expected = chunker.feed(data)
    expected.append(chunker.finish()!)
    for i in 0..<4 {
      #expect(Array(batch.block(i)) == expected[i])
      #expect(batch.cid(i) == Block(data: expected[i]).cid)
    }
    // A full batch takes no more bytes.
    let big = pseudoRandomBytes(10 * 4096, seed: 6)
    batch.reset()
    #expect(big.withUnsafeBytes { batch.append($0) } == 8 * 4096)
    #expect(batch.isFull)
  }

  /// Every multi-block SHA-256 method (16 blocks per call in AVX-512 lanes, 2 per call with the SHA extensions, one
  /// at a time) gives swift-crypto's digests for every block, for batches that end inside a group, in a part of
  /// `hashAll`'s split, or on a group boundary; and for ranges that start inside a group. A method this CPU lacks
  /// falls back to one at a time, so every method is checked on every machine.
  @Test(arguments: [1, 2, 3, 5, 15, 16, 17, 31, 32, 33, 50])
  func multiBlockHashingMatchesSwiftCrypto(blocks: Int) async throws {
    let size = 4096
    let data = pseudoRandomBytes(blocks * size, seed: UInt64(100 + blocks))
    let batch = BlockBatch(blockSize: size, capacity: 64)
    #expect(data.withUnsafeBytes { batch.append($0) } == data.count)
    await batch.hashAll()
    for i in 0..<blocks {
      let block = Array(data[i * size..<(i + 1) * size])
      #expect(Array(batch.digest(i)) == SHA256Hashing.digest(block), "block \(i)")
      #expect(batch.crc(i) == block.withUnsafeBytes { BlockChecksum.crc32c($0) }, "block \(i)")
    }
    // Uneven ranges through each method give the same digests and checksums.
    let expected = (0..<blocks).map { Array(batch.digest($0)) }
    let crcs = (0..<blocks).map { batch.crc($0) }
    let cut = blocks / 3
    for method in SHA256Method.allCases {
      batch.hash(blocks: 0..<blocks, method: method)
      #expect((0..<blocks).map { Array(batch.digest($0)) } == expected, "\(method)")
      #expect((0..<blocks).map { batch.crc($0) } == crcs, "\(method)")
      batch.hash(blocks: cut..<blocks, method: method)
      batch.hash(blocks: 0..<cut, method: method)
      #expect((0..<blocks).map { Array(batch.digest($0)) } == expected, "\(method)")
      #expect((0..<blocks).map { batch.crc($0) } == crcs, "\(method)")
    }
  }

  /// The interleaved SHA-extensions routine gives FIPS 180-4's digests (swift-crypto's) for every message length
  /// from 0 to 200 bytes (one or two padding blocks, each way a length can end in a block) and for 64 KiB; the two
  /// messages of a pair do not affect each other. On a CPU without the SHA extensions it refuses and writes nothing.
  @Test func pairHashingMatchesSwiftCryptoForEveryTailLength() {
    let data = pseudoRandomBytes(2 * 65536, seed: 77)
    for length in Array(0...200) + [65535, 65536] {
      var outA = [UInt8](repeating: 0, count: 32)
      var outB = [UInt8](repeating: 0, count: 32)
      let status = data.withUnsafeBufferPointer { d in
        cstore_sha256_pair(d.baseAddress!, d.baseAddress! + 65536, length, &outA, &outB)
      }
      guard SHA256Method.pairs.isAvailable else {
        #expect(status == -1)
        #expect(outA.allSatisfy { $0 == 0 } && outB.allSatisfy { $0 == 0 })
        return
      }
      #expect(status == 0)
      #expect(outA == SHA256Hashing.digest(Array(data[0..<length])), "length \(length), first")
      #expect(outB == SHA256Hashing.digest(Array(data[65536..<65536 + length])), "length \(length), second")
    }
    // The two messages of one pair may be the same bytes.
    var outA = [UInt8](repeating: 0, count: 32)
    var outB = [UInt8](repeating: 1, count: 32)
    _ = data.withUnsafeBufferPointer { d in cstore_sha256_pair(d.baseAddress!, d.baseAddress!, 4096, &outA, &outB) }
    #expect(outA == outB)
    #expect(outA == SHA256Hashing.digest(Array(data[0..<4096])))
  }

  /// The C entry point refuses what it cannot do (and writes nothing) instead of hashing wrong.
  @Test func laneHashingRefusesBadArguments() throws {
    let data = pseudoRandomBytes(17 * 64, seed: 9)
    var out = [UInt8](repeating: 0, count: 17 * 32)
    data.withUnsafeBufferPointer { d in
      out.withUnsafeMutableBufferPointer { o in
        #expect(cstore_sha256_lanes(d.baseAddress, 64, 64, 0, o.baseAddress) == -1)
        #expect(cstore_sha256_lanes(d.baseAddress, 64, 64, 17, o.baseAddress) == -1)
        #expect(cstore_sha256_lanes(d.baseAddress, 64, 60, 1, o.baseAddress) == -1)
      }
    }
    #expect(out.allSatisfy { $0 == 0 })
    guard SHA256Method.lanes.isAvailable else { return }
    // 64-byte messages (one data block and the padding block), packed with no gap.
    data.withUnsafeBufferPointer { d in
      out.withUnsafeMutableBufferPointer { o in
        #expect(cstore_sha256_lanes(d.baseAddress, 64, 64, 16, o.baseAddress) == 0)
      }
    }
    for i in 0..<16 {
      #expect(Array(out[32 * i..<32 * i + 32]) == SHA256Hashing.digest(Array(data[64 * i..<64 * i + 64])))
    }
  }

  /// Batches with duplicate blocks (inside one batch and across batches) and a block another dataset already
  /// stores commit to the same leaves, proofs and quota as the per-block path.
  @Test func leafBatchesCommitLikeTheBlockPath() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let store = try openStore(dir)
    let other = try TestDataset(count: 3, seed: 70)
    try await other.upload(to: store)
    let zero = Block(data: [UInt8](repeating: 0, count: 65536))
    let ds = try TestDataset(count: 11, seed: 71, override: [2: zero, 3: zero, 7: zero, 9: other.blocks[1]])
    let session = try await store.beginUpload()
    try await addInBatches(ds.blocks, capacity: 4, to: session)
    try await session.flush()
    #expect(session.leafCount == 11)
    #expect(try await store.manifests().count == 1)
    #expect(try session.buildTree() == ds.treeCid)
    try await session.commit(manifest: ds.manifestBlock)
    #expect(Set(try await store.manifests().map(\.cid)) == [other.manifestCid, ds.manifestCid])
    for i in 0..<11 {
      let got = try #require(try await store.getBlock(tree: ds.treeCid, index: i))
      #expect(got.block == ds.blocks[i])
      let expected = try ds.tree.proof(for: i)
      #expect(got.proof == expected)
    }
    // 3 + 11 blocks, of which zero is stored once and other.blocks[1] is shared: 3 + 8 distinct.
    let space = try await store.space()
    #expect(space.totalBlocks == 3 + 8 + 2)  // + both manifests
    #expect(try await store.testingInt("SELECT refcount FROM blocks WHERE cid = ?", zero) == 3)
    #expect(try await store.testingInt("SELECT refcount FROM blocks WHERE cid = ?", other.blocks[1]) == 2)
    #expect(try await store.testingInt("SELECT COUNT(*) FROM pending") == 0)
    #expect(try await store.verify().isEmpty)
    // Deleting the other dataset keeps this one whole.
    try await store.deleteDataset(manifestCid: other.manifestCid)
    for i in 0..<11 { #expect(try await store.getBlock(tree: ds.treeCid, index: i)?.block == ds.blocks[i]) }
    #expect(try await store.verify().isEmpty)
    await store.close()
    // And it is all there after reopening.
    let again = try openStore(dir)
    #expect(try await again.getBlock(tree: ds.treeCid, index: 10)?.block == ds.blocks[10])
    #expect(try await again.verify().isEmpty)
    await again.close()
  }

  /// Two uploads of the same content, committed one after the other: the second finds every leaf row there, adds
  /// no reference and still ends its hold on the blocks it created, so they are counted once and go away with the
  /// dataset.
  @Test func secondCommitOfTheSameDatasetAddsNoReference() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let store = try openStore(dir)
    let ds = try TestDataset(count: 6, seed: 76)
    let first = try await store.beginUpload()
    let second = try await store.beginUpload()
    // The second upload creates the blocks (its hold), the first finds them stored; the first commits first.
    try await addInBatches(ds.blocks, capacity: 4, to: second)
    try await addInBatches(ds.blocks, capacity: 4, to: first)
    try await first.commit(manifest: ds.manifestBlock)
    try await second.commit(manifest: ds.manifestBlock)
    for block in ds.blocks {
      #expect(try await store.testingInt("SELECT refcount FROM blocks WHERE cid = ?", block) == 1)
      #expect(
        try await store.testingInt("SELECT COUNT(*) FROM blocks WHERE cid = ? AND upload IS NOT NULL", block) == 0)
    }
    #expect(try await store.testingInt("SELECT COUNT(*) FROM pending") == 0)
    #expect(try await store.testingInt("SELECT COUNT(*) FROM upload_batches") == 0)
    #expect(try await store.verify().isEmpty)
    try await store.deleteDataset(manifestCid: ds.manifestCid)
    #expect(try await store.space().quotaUsedBytes == 0)
    await store.close()
  }

  /// The commit of an upload leaves its WAL checkpoint to a writer task that runs after it (the client does not
  /// wait for the copy into the database file): with an auto-checkpoint threshold the commit passes, the database
  /// file has not grown when the commit is done and grows when the deferred checkpoint ran; the connection's
  /// threshold is restored. (A SIGKILL right after the commit is one of `SigkillTests`' crash points.)
  @Test func uploadCommitDefersTheWALCheckpoint() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let dbPath = dir.path + "/repo.sqlite"
    let sizeAtCommit = Mutex<Int?>(nil)
    let config = RepoConfig(
      directory: dir.path, quotaMaxBytes: 1 << 30, blockTTL: .seconds(1000),
      faultHook: { point in
        guard point == "upload-committed" else { return }
        let size = try? FileManager.default.attributesOfItem(atPath: dbPath)[.size] as? Int
        sizeAtCommit.withLock { $0 = size }
      })
    let store = try RepoStore(config: config, clock: TestClock(), logger: testLogger)
    // 4 pages: the commit's leaf rows pass it (and every batch's rows are checkpointed before the commit).
    try await store.testingExecute("PRAGMA wal_autocheckpoint = 4")
    let ds = try TestDataset(count: 150, seed: 77, blockSize: 4096)
    let session = try await store.beginUpload()
    try await addInBatches(ds.blocks, capacity: 64, to: session)
    try await session.commit(manifest: ds.manifestBlock)
    let atCommit = try #require(sizeAtCommit.withLock { $0 })
    await store.deferredCheckpoint.withLock { $0 }?.value
    let after = try #require(try FileManager.default.attributesOfItem(atPath: dbPath)[.size] as? Int)
    #expect(after > atCommit)
    #expect(try await store.testingWriterInt("PRAGMA wal_autocheckpoint") == 4)
    #expect(try await store.getBlock(tree: ds.treeCid, index: 149)?.block == ds.blocks[149])
    #expect(try await store.verify().isEmpty)
    await store.close()
  }

  /// The writer connection gets the larger page cache (`RepoStore.writerCacheKiB`), the readers SQLite's default.
  @Test func writerConnectionHasTheLargerPageCache() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let store = try openStore(dir)
    #expect(try await store.testingWriterInt("PRAGMA cache_size") == RepoStore.writerCacheKiB)
    #expect(try await store.testingInt("PRAGMA cache_size") == -2000)
    await store.close()
  }

  @Test func abortAfterLeafBatchesLeavesNoTrace() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let store = try openStore(dir)
    let before = try await store.space()
    let ds = try TestDataset(count: 9, seed: 72)
    let session = try await store.beginUpload()
    try await addInBatches(ds.blocks, capacity: 4, to: session)
    // The last batch's rows (and quota) are in once it was flushed (it is pipelined until then).
    #expect(try await store.space().quotaUsedBytes == before.quotaUsedBytes + 8 * 65536)
    try await session.flush()
    #expect(try await store.space().quotaUsedBytes == before.quotaUsedBytes + 9 * 65536)
    await session.abort()
    #expect(try await store.space() == before)
    #expect(try await store.hasBlock(ds.blocks[0].cid) == false)
    await #expect(throws: StoreError.self) { try await session.commit(manifest: ds.manifestBlock) }
    #expect(try await store.verify().isEmpty)
    await store.close()
  }

  @Test func commitRefusesAManifestOfAnotherTree() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let store = try openStore(dir)
    let ds = try TestDataset(count: 3, seed: 73)
    let wrong = try TestDataset(count: 2, seed: 74)
    let session = try await store.beginUpload()
    try await addInBatches(ds.blocks, capacity: 2, to: session)
    await #expect(throws: StoreError.self) { try await session.commit(manifest: wrong.manifestBlock) }
    #expect(try await store.manifests().isEmpty)
    // The session is still open and can commit the right manifest.
    try await session.commit(manifest: ds.manifestBlock)
    #expect(try await store.manifests().map(\.cid) == [ds.manifestCid])
    await store.close()
  }

  @Test func leafBatchOverQuotaWritesNothing() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let store = try openStore(dir, quota: 5 * 65536)
    let ds = try TestDataset(count: 8, seed: 75)
    let session = try await store.beginUpload()
    try await addInBatches(Array(ds.blocks.prefix(4)), capacity: 4, to: session)
    _ = try await store.verify()  // a writer turn: the first batch's pipelined write has ended
    let sizes = packSizes(dir)
    await #expect(throws: StoreError.self) {
      try await addInBatches(Array(ds.blocks.suffix(4)), capacity: 4, to: session)
    }
    #expect(packSizes(dir) == sizes)
    #expect(try await store.space().quotaUsedBytes == 4 * 65536)
    // A failed add leaves only abort.
    #expect(throws: StoreError.self) { try session.buildTree() }
    await session.abort()
    #expect(try await store.space().quotaUsedBytes == 0)
    await store.close()
  }

  /// A batch whose blocks are all new stays held by the store after `addLeaves` (its write overlaps the next
  /// batch's) and is released by the session's next `addLeaves`, by the commit, or by any other writer turn; the
  /// dataset is the same as without the overlap.
  @Test func pipelinedBatchIsHeldUntilTheNextTurn() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let store = try openStore(dir)
    let ds = try TestDataset(count: 6, seed: 78)
    let session = try await store.beginUpload()
    let batches = (0..<3).map { _ in BlockBatch(blockSize: 65536, capacity: 2) }
    for (k, batch) in batches.enumerated() {
      for b in ds.blocks[2 * k..<2 * k + 2] { _ = b.data.withUnsafeBytes { batch.append($0) } }
      await batch.hashAll()
      try await session.addLeaves(batch)
      #expect(batch.isHeld, "batch \(k)")
      if k > 0 { #expect(!batches[k - 1].isHeld, "batch \(k - 1)") }
    }
    // Its rows are not there yet: counted once the next writer turn completed it.
    #expect(session.leafCount == 4)
    #expect(try await store.space().totalBlocks == 4)
    #expect(throws: StoreError.self) { try session.buildTree() }  // not before flush()
    // Any writer turn completes it.
    #expect(try await store.testingWriterInt("SELECT COUNT(*) FROM blocks") == 6)
    #expect(session.leafCount == 6)
    #expect(!batches[2].isHeld)
    await batches[2].released()
    batches[2].reset()
    try await session.commit(manifest: ds.manifestBlock)
    for i in 0..<6 { #expect(try await store.getBlock(tree: ds.treeCid, index: i)?.block == ds.blocks[i]) }
    #expect(try await store.space().quotaUsedBytes == UInt64(6 * 65536 + ds.manifestBlock.data.count))
    #expect(try await store.verify().isEmpty)
    await store.close()
  }

  /// A held batch is released when the store closes; what was added is rolled back at the next open like any
  /// unfinished upload.
  @Test func closeWithAPipelinedBatchLeavesNothing() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let ds = try TestDataset(count: 4, seed: 79)
    do {
      let store = try openStore(dir)
      let session = try await store.beginUpload()
      let batch = BlockBatch(blockSize: 65536, capacity: 4)
      for b in ds.blocks { _ = b.data.withUnsafeBytes { batch.append($0) } }
      await batch.hashAll()
      try await session.addLeaves(batch)
      await store.close()
      #expect(!batch.isHeld)
      _ = session
    }
    do {
      let store = try openStore(dir)
      let session = try await store.beginUpload()
      try await addInBatches(ds.blocks, capacity: 2, to: session)
      store.abandonForTesting()  // "SIGKILL" with the last batch pipelined
      _ = session
    }
    let store = try openStore(dir)
    #expect(try await store.testingInt("SELECT COUNT(*) FROM blocks") == 0)
    #expect(try await store.space().quotaUsedBytes == 0)
    #expect(try await store.verify().isEmpty)
    await store.close()
  }

  /// A pack write that fails after `addLeaves` returned surfaces at the session's next `addLeaves` or `commit`,
  /// or, when another writer turn completed the batch, at the session's next call; the failed batch and the one
  /// placed after it are rolled back, the other writer's turn goes on, and the abort leaves the store as before.
  @Test(arguments: ["next add", "commit", "other turn"])
  func failedPipelinedWriteSurfacesLater(where: String) async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let store = try openStore(dir)
    let other = Block(data: pseudoRandomBytes(65536, seed: 801))
    let ds = try TestDataset(count: 6, seed: 80)
    let session = try await store.beginUpload()
    try await addInBatches(Array(ds.blocks.prefix(2)), capacity: 2, to: session)
    _ = try await store.testingWriterInt("SELECT 1")  // completes the first batch: its write ran before the failure
    // The second batch's write fails (whenever its thread runs it); the call returns before it ended.
    store.packs.failNextWritesForTesting.store(1, ordering: .relaxed)
    try await addInBatches(Array(ds.blocks[2..<4]), capacity: 2, to: session)
    // Wait until it did fail (bounded), so the cases below do not race it.
    for _ in 0..<500 where store.packs.injectedWriteFailures.load(ordering: .relaxed) == 0 {
      try await Task.sleep(for: .milliseconds(10))
    }
    try #require(store.packs.injectedWriteFailures.load(ordering: .relaxed) == 1)
    switch `where` {
    case "next add":
      await #expect(throws: StoreError.self) {
        try await addInBatches(Array(ds.blocks[4..<6]), capacity: 2, to: session)
      }
    case "commit":
      await #expect(throws: StoreError.self) { try await session.commit(manifest: ds.manifestBlock) }
    default:
      try await store.putBlock(other, ttl: nil)
      #expect(try await store.getBlock(other.cid) == other)
      await #expect(throws: StoreError.self) {
        try await addInBatches(Array(ds.blocks[4..<6]), capacity: 2, to: session)
      }
    }
    await session.abort()
    #expect(try await store.manifests().isEmpty)
    let expected: UInt64 = `where` == "other turn" ? 65536 : 0
    #expect(try await store.space().quotaUsedBytes == expected)
    #expect(try await store.testingInt("SELECT COUNT(*) FROM blocks") == (expected == 0 ? 0 : 1))
    #expect(try await store.verify().isEmpty)
    // The store goes on: the same dataset uploads and reads back.
    let again = try await store.beginUpload()
    try await addInBatches(ds.blocks, capacity: 2, to: again)
    try await again.commit(manifest: ds.manifestBlock)
    for i in 0..<6 { #expect(try await store.getBlock(tree: ds.treeCid, index: i)?.block == ds.blocks[i]) }
    #expect(try await store.verify().isEmpty)
    await store.close()
    let reopened = try openStore(dir)
    #expect(try await reopened.getBlock(tree: ds.treeCid, index: 5)?.block == ds.blocks[5])
    #expect(try await reopened.verify().isEmpty)
    await reopened.close()
  }

  /// The quota counts a pipelined batch's bytes before its rows are in: a batch that would pass the quota together
  /// with it is refused, the pipelined one is still committed, and the abort gives everything back.
  @Test func quotaCountsThePipelinedBatch() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let store = try openStore(dir, quota: 3 * 65536)
    let ds = try TestDataset(count: 4, seed: 81)
    let session = try await store.beginUpload()
    try await addInBatches(Array(ds.blocks.prefix(2)), capacity: 2, to: session)
    await #expect(throws: StoreError.quotaExceeded(needed: 2 * 65536, available: 65536)) {
      try await addInBatches(Array(ds.blocks.suffix(2)), capacity: 2, to: session)
    }
    #expect(try await store.space().quotaUsedBytes == 2 * 65536)
    await session.abort()
    #expect(try await store.space().quotaUsedBytes == 0)
    #expect(try await store.verify().isEmpty)
    await store.close()
  }
}
