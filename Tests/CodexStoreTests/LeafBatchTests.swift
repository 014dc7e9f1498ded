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

  /// The multi-lane SHA-256 (16 blocks per call where the CPU has AVX-512) gives swift-crypto's digests for every
  /// block, for batches that end inside a group of 16, in a part of `hashAll`'s split, or on a group boundary; and
  /// for ranges that start inside a group.
  @Test(arguments: [1, 5, 15, 16, 17, 31, 32, 33, 50])
  func laneHashingMatchesSwiftCrypto(blocks: Int) async throws {
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
    // Uneven ranges through the lanes, then the one-at-a-time path, give the same digests and checksums.
    let expected = (0..<blocks).map { Array(batch.digest($0)) }
    let crcs = (0..<blocks).map { batch.crc($0) }
    let cut = blocks / 3
    batch.hash(blocks: 0..<blocks, useLanes: true)
    #expect((0..<blocks).map { Array(batch.digest($0)) } == expected)
    #expect((0..<blocks).map { batch.crc($0) } == crcs)
    batch.hash(blocks: cut..<blocks, useLanes: true)
    batch.hash(blocks: 0..<cut, useLanes: true)
    #expect((0..<blocks).map { Array(batch.digest($0)) } == expected)
    #expect((0..<blocks).map { batch.crc($0) } == crcs)
    batch.hash(blocks: 0..<blocks, useLanes: false)
    #expect((0..<blocks).map { Array(batch.digest($0)) } == expected)
    #expect((0..<blocks).map { batch.crc($0) } == crcs)
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
    guard BlockBatch.lanesAvailable else { return }
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

  /// Fills batches of `capacity` blocks from `blocks` (whole blocks) and adds them to `session`.
  func addInBatches(_ blocks: [Block], capacity: Int, to session: UploadSession) async throws {
    var i = 0
    while i < blocks.count {
      let batch = BlockBatch(blockSize: blocks[0].data.count, capacity: capacity)
      for b in blocks[i..<min(i + capacity, blocks.count)] { _ = b.data.withUnsafeBytes { batch.append($0) } }
      i += batch.count
      await batch.hashAll()
      try await session.addLeaves(batch)
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
}
