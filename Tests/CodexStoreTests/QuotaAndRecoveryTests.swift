import CodexFormats
import Foundation
import Multiformats
import Synchronization
import Testing

@testable import CodexStore

@Suite("RepoStore quota and recovery")
struct QuotaAndRecoveryTests {
  @Test func quotaRefusalLeavesNoTrace() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let store = try openStore(dir, quota: 5 * 65536)
    let fits = (0..<4).map { Block(data: pseudoRandomBytes(65536, seed: 200 + UInt64($0))) }
    try await store.putBlocks(fits)
    let space = try await store.space()
    let files = packSizes(dir)
    let tooMany = (0..<2).map { Block(data: pseudoRandomBytes(65536, seed: 210 + UInt64($0))) }
    await #expect(throws: StoreError.quotaExceeded(needed: 2 * 65536, available: 65536)) {
      try await store.putBlocks(tooMany)
    }
    let session = try await store.beginUpload()
    await #expect(throws: StoreError.self) { try await session.add(tooMany) }
    #expect(try await store.space() == space)
    #expect(packSizes(dir) == files)
    for b in tooMany { #expect(try await store.hasBlock(b.cid) == false) }
    // Exactly filling the quota is allowed; one more byte is not.
    try await session.add([tooMany[0]])
    #expect(try await store.space().quotaUsedBytes == 5 * 65536)
    await #expect(throws: StoreError.quotaExceeded(needed: 1, available: 0)) {
      try await store.putBlock(Block(data: [7]), ttl: nil)
    }
    await session.abort()
    #expect(try await store.space() == space)
    #expect(try await store.verify().isEmpty)
    await store.close()
  }

  @Test("an upload session leaves its hold free: a batch that fits only in it is refused, on both paths")
  func uploadSessionLeavesItsHoldFree() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let store = try openStore(dir, quota: 8 * 65536)
    let hold = Mutex(QuotaHold(bytes: 5 * 65536, downloads: 1))
    let session = try await store.beginUpload(leaving: { hold.withLock { $0 } })
    let blocks = (0..<4).map { Block(data: pseudoRandomBytes(65536, seed: 220 + UInt64($0))) }
    // 8 blocks of quota, 5 held: 3 fit.
    await #expect(
      throws: StoreError.quotaHeld(
        needed: 4 * 65536, available: 8 * 65536, hold: QuotaHold(bytes: 5 * 65536, downloads: 1))
    ) {
      try await session.add(blocks)
    }
    try await addInBatches(Array(blocks[0..<3]), capacity: 3, to: session)
    try await session.flush()
    let batch = BlockBatch(blockSize: 65536, capacity: 1)
    _ = blocks[3].data.withUnsafeBytes { batch.append($0) }
    await batch.hashAll()
    await #expect(
      throws: StoreError.quotaHeld(needed: 65536, available: 5 * 65536, hold: QuotaHold(bytes: 5 * 65536, downloads: 1))
    ) {
      try await session.addLeaves(batch)
    }
    #expect(try await store.space().quotaUsedBytes == 3 * 65536)
    // Others' writes are not held back (a download's own blocks), and a smaller hold lets the upload go on.
    try await store.putBlock(Block(data: pseudoRandomBytes(65536, seed: 230)), ttl: nil)
    hold.withLock { $0.bytes = 65536 }
    let next = try await store.beginUpload(leaving: { hold.withLock { $0 } })
    try await next.add([blocks[3]])
    #expect(try await store.space().quotaUsedBytes == 5 * 65536)
    await session.abort()
    await next.abort()
    #expect(try await store.verify().isEmpty)
    await store.close()
  }

  @Test func reserveAndRelease() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let store = try openStore(dir, quota: 3 * 65536)
    try await store.reserve(bytes: 2 * 65536)
    #expect(try await store.space().quotaReservedBytes == 2 * 65536)
    try await store.putBlock(Block(data: pseudoRandomBytes(65536, seed: 1)), ttl: nil)
    await #expect(throws: StoreError.quotaExceeded(needed: 65536, available: 0)) {
      try await store.putBlock(Block(data: pseudoRandomBytes(65536, seed: 2)), ttl: nil)
    }
    await #expect(throws: StoreError.quotaExceeded(needed: 1, available: 0)) { try await store.reserve(bytes: 1) }
    await #expect(throws: StoreError.self) { try await store.release(bytes: 2 * 65536 + 1) }
    try await store.release(bytes: 65536)
    try await store.putBlock(Block(data: pseudoRandomBytes(65536, seed: 2)), ttl: nil)
    let space = try await store.space()
    #expect(space.quotaReservedBytes == 65536)
    #expect(space.quotaUsedBytes == 2 * 65536)
    await store.close()
  }

  @Test func crashBeforeCommitRollsBackAtOpen() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let kept = try TestDataset(count: 3, seed: 301)
    let unfinished = try TestDataset(count: 5, seed: 302, override: [0: kept.blocks[0]])
    let spaceBefore: SpaceInfo
    do {
      let store = try openStore(dir)
      try await kept.upload(to: store)
      spaceBefore = try await store.space()
      let session = try await store.beginUpload()
      try await session.add(unfinished.blocks)
      #expect(try await store.space().totalBlocks == spaceBefore.totalBlocks + 4)
      store.abandonForTesting()  // "SIGKILL": no abort, no clean close
      _ = session
    }
    let store = try openStore(dir)
    #expect(try await store.space() == spaceBefore)
    for b in unfinished.blocks.dropFirst() { #expect(try await store.hasBlock(b.cid) == false) }
    for i in 0..<3 { #expect(try await store.blockData(tree: kept.treeCid, index: i) == kept.blocks[i].data) }
    #expect(try await store.verify().isEmpty)
    await store.close()
  }

  @Test func garbageTailOfAPackIsCutAtOpen() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let blocks = (0..<3).map { Block(data: pseudoRandomBytes(65536, seed: 400 + UInt64($0))) }
    do {
      let store = try openStore(dir)
      try await store.putBlocks(blocks)
      await store.close()
    }
    let sizes = packSizes(dir)
    let (name, size) = try #require(sizes.first)
    // An interrupted write: bytes beyond the committed length.
    let handle = try #require(FileHandle(forWritingAtPath: dir.path + "/packs/" + name))
    handle.seekToEndOfFile()
    handle.write(Data(pseudoRandomBytes(100_000, seed: 9)))
    try handle.close()
    // And an orphan pack from a rotation that never committed.
    #expect(FileManager.default.createFile(atPath: dir.path + "/packs/000099.pack", contents: Data([1, 2, 3])))
    let store = try openStore(dir)
    #expect(packSizes(dir) == [name: size])
    for b in blocks { #expect(try await store.getBlock(b.cid) == b) }
    let more = Block(data: pseudoRandomBytes(65536, seed: 410))
    try await store.putBlock(more, ttl: nil)
    #expect(try await store.getBlock(more.cid) == more)
    #expect(try await store.verify().isEmpty)
    await store.close()
  }

  @Test func unreleasedFreeRangesArePunchedAtOpen() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let blocks = (0..<8).map { Block(data: pseudoRandomBytes(65536, seed: 500 + UInt64($0))) }
    do {
      let store = try openStore(dir)
      try await store.putBlocks(blocks)
      // A delete whose transaction committed but whose punching never ran.
      try await store.testingExecute("INSERT INTO free_ranges (pack, pos, length) SELECT pack, pos, 65536 FROM blocks")
      try await store.testingExecute("DELETE FROM blocks")
      try await store.testingExecute("UPDATE quota SET used = 0, blocks = 0")
      store.abandonForTesting()
    }
    let full = packBytesOnDisk(dir)
    let store = try openStore(dir)
    if holePunchingWorks(dir) { #expect(packBytesOnDisk(dir) + 8 * 65536 <= full) }
    #expect(try await store.testingInt("SELECT COUNT(*) FROM free_ranges") == 0)
    #expect(try await store.verify().isEmpty)
    await store.close()
  }

  @Test func lostBytesAreReportedAndRestoredByPut() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let blocks = (0..<2).map { Block(data: pseudoRandomBytes(65536, seed: 600 + UInt64($0))) }
    do {
      let store = try openStore(dir)
      try await store.putBlocks(blocks)
      await store.close()
    }
    // Someone cut the pack file short: the second block's bytes are gone.
    let name = try #require(packSizes(dir).keys.first)
    #expect(truncate(dir.path + "/packs/" + name, 65536) == 0)
    let store = try openStore(dir)
    #expect(try await store.getBlock(blocks[0].cid) == blocks[0])
    await #expect(throws: StoreError.self) { _ = try await store.getBlock(blocks[1].cid) }
    try await store.putBlock(blocks[1], ttl: nil)
    #expect(try await store.getBlock(blocks[1].cid) == blocks[1])
    await store.close()
  }

  @Test func repoOfANewerVersionIsRefused() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    do {
      let store = try openStore(dir)
      try await store.testingExecute("INSERT INTO grdb_migrations (identifier) VALUES ('v999-from-the-future')")
      await store.close()
    }
    #expect(throws: StoreError.self) { _ = try openStore(dir) }
  }

  @Test func corruptMetadataGivesTypedErrors() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let store = try openStore(dir)
    let ds = try TestDataset(count: 4, seed: 700)
    try await ds.upload(to: store)
    for i in 0..<200 {
      let garbage = pseudoRandomBytes(i % 40, seed: UInt64(i))
      let idx = i % 4
      switch i % 4 {
      case 0: try await store.testingExecute("UPDATE leaves SET proof = ? WHERE idx = \(idx)", blobs: [garbage])
      case 1: try await store.testingExecute("UPDATE leaves SET block = ? WHERE idx = \(idx)", blobs: [garbage])
      case 2:
        try await store.testingExecute(
          "UPDATE blocks SET data = ? WHERE codec = \(Multicodec.codexManifest.rawValue)", blobs: [garbage])
      default: try await store.testingExecute("UPDATE blocks SET pos = pos + 1000000 WHERE rowid = 1")
      }
      for j in 0..<4 {
        do { _ = try await store.getBlock(tree: ds.treeCid, index: j) } catch is StoreError {}
        do { _ = try await store.blockData(tree: ds.treeCid, index: j) } catch is StoreError {}
        do { _ = try await store.hasBlock(tree: ds.treeCid, index: j) } catch is StoreError {}
      }
      do { _ = try await store.manifests() } catch is StoreError {}
      do { _ = try await store.verify() } catch is StoreError {}
    }
    // The specific case: undecodable proof bytes.
    try await store.testingExecute(
      "UPDATE leaves SET proof = ?, block = ? WHERE idx = 0", blobs: [[0xff, 0xff], ds.blocks[0].cid.bytes])
    try await store.testingExecute("UPDATE blocks SET pos = pos - 1000000 * 50 WHERE rowid = 1")
    await #expect(throws: StoreError.self) { _ = try await store.getBlock(tree: ds.treeCid, index: 0) }
    try await store.deleteDataset(manifestCid: ds.manifestCid)
    await store.close()
  }
}
