import CodexFormats
import Foundation
import Testing

@testable import CodexStore

/// A block that maintenance deleted while leaf rows still named it (it expired, `formats.md` §7 #7) and that is
/// stored again must count those rows: deleting another dataset sharing the block must not delete it from under
/// the dataset stored again. Found by the node soak test: a 1-byte file uploaded again after it expired lost its
/// block when a 65,537-byte file whose padded last block is the same was deleted.
@Suite("RepoStore references of expired blocks")
struct DanglingReferenceTests {
  enum Path: String, CaseIterable { case fastPath, generic }

  /// Uploads `ds` through the upload fast path (`addLeaves`, as REST uploads do) or `add` + leaf commit.
  func upload(_ ds: TestDataset, to store: RepoStore, _ path: Path) async throws {
    switch path {
    case .generic:
      try await ds.upload(to: store)
    case .fastPath:
      let session = try await store.beginUpload()
      try await addInBatches(ds.blocks, capacity: 4, to: session)
      try await session.commit(manifest: ds.manifestBlock)
    }
  }

  @Test(
    "a block stored again after it expired keeps the dataset whole when a dataset sharing it is deleted",
    arguments: Path.allCases)
  func blockStoredAgainCountsItsLeafRows(path: Path) async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let clock = TestClock()
    let store = try openStore(dir, clock: clock)
    let small = try TestDataset(count: 1, seed: 301)
    let sharing = try TestDataset(count: 2, seed: 302, override: [1: small.blocks[0]])
    try await upload(small, to: store, path)
    // Only the block expires (an expired manifest's dataset would go whole, leaf rows included).
    try await store.testingExecute(
      "UPDATE blocks SET expiry = expiry + 5000 WHERE cid = ?", blobs: [small.manifestBlock.cid.bytes])
    clock.advance(1001)  // the TTL in tests is 1000 s
    #expect(try await store.runMaintenanceCycle() == 1)  // the block, although its leaf row still names it
    #expect(try await store.testingInt("SELECT COUNT(*) FROM dangling_refs") == 1)
    try await upload(small, to: store, path)
    #expect(try await store.testingInt("SELECT COUNT(*) FROM dangling_refs") == 0)
    try await upload(sharing, to: store, path)
    try await store.deleteDataset(manifestCid: sharing.manifestCid)
    #expect(try await store.blockData(tree: small.treeCid, index: 0) == small.blocks[0].data)
    #expect(try await store.verify().isEmpty)
    // Deleting it now deletes the block: nothing else names it.
    try await store.deleteDataset(manifestCid: small.manifestCid)
    #expect(try await store.space().totalBlocks == 0)
    #expect(try await store.verify().isEmpty)
    await store.close()
  }

  @Test("deleting a dataset whose block is gone drops the dangling reference; storing the block then counts none")
  func deletingADatasetWithADeletedBlockDropsItsDanglingReference() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let clock = TestClock()
    let store = try openStore(dir, clock: clock)
    let ds = try TestDataset(count: 2, seed: 303)
    try await ds.upload(to: store)
    // The manifest and the first block live on, the second block expires (maintenance deletes it although a leaf
    // row names it).
    try await store.testingExecute(
      "UPDATE blocks SET expiry = expiry + 5000 WHERE cid != ?", blobs: [ds.blocks[1].cid.bytes])
    clock.advance(1001)
    #expect(try await store.runMaintenanceCycle() == 1)
    #expect(try await store.verify() == ["manifest \(ds.manifestCid): 1 of 2 leaves missing"])
    try await store.deleteDataset(manifestCid: ds.manifestCid)
    #expect(try await store.testingInt("SELECT COUNT(*) FROM dangling_refs") == 0)
    try await store.putBlock(ds.blocks[1], ttl: nil)
    #expect(try await store.testingInt("SELECT MAX(refcount) FROM blocks") == 0)
    #expect(try await store.verify().isEmpty)
    await store.close()
  }

  @Test("verify reports reference counts that differ from the leaf rows, and the v4 recount repairs them")
  func verifyReportsAndRecountRepairsWrongReferenceCounts() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let store = try openStore(dir)
    let a = try TestDataset(count: 3, seed: 304)
    let b = try TestDataset(count: 2, seed: 305, override: [0: a.blocks[0]])
    try await a.upload(to: store)
    try await b.upload(to: store)
    #expect(try await store.testingInt("SELECT refcount FROM blocks WHERE cid = ?", a.blocks[0]) == 2)
    // What a repo of an earlier version could hold: an undercount, and a dangling count for a block that is stored.
    try await store.testingExecute("UPDATE blocks SET refcount = 0 WHERE cid = ?", blobs: [a.blocks[0].cid.bytes])
    try await store.testingExecute(
      "INSERT INTO dangling_refs (cid, refs) VALUES (?, 1)", blobs: [a.blocks[1].cid.bytes])
    #expect(
      try await store.verify() == [
        "1 blocks count other references than the leaf rows naming them",
        "1 deleted blocks count other dangling references than the leaf rows naming them",
      ])
    #expect(try await store.testingRecountReferences() == 2)
    #expect(try await store.testingInt("SELECT refcount FROM blocks WHERE cid = ?", a.blocks[0]) == 2)
    #expect(try await store.verify().isEmpty)
    await store.close()
  }

  @Test("opening a repo of schema v3 recounts its references (the v4 migration)")
  func migrationRecountsAV3Repo() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let a = try TestDataset(count: 3, seed: 306)
    do {
      let store = try openStore(dir)
      try await a.upload(to: store)
      // Back to v3 with an undercount, as the bug left it.
      try await store.testingExecute("DROP TABLE dangling_refs")
      try await store.testingExecute("DELETE FROM grdb_migrations WHERE identifier = 'v4'")
      try await store.testingExecute("UPDATE blocks SET refcount = 0 WHERE cid = ?", blobs: [a.blocks[1].cid.bytes])
      await store.close()
    }
    let store = try openStore(dir)
    #expect(try await store.testingInt("SELECT refcount FROM blocks WHERE cid = ?", a.blocks[1]) == 1)
    #expect(try await store.verify().isEmpty)
    await store.close()
  }
}
