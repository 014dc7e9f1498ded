import CodexFormats
import Foundation
import Multiformats
import Testing

@testable import CodexStore

/// Dataset deletes, upload aborts, crash recovery and the release of freed space work in steps of
/// `RepoConfig.rowsPerStep` rows (bounded memory for any dataset size). The steps must not change what they do:
/// the same scenario ends in the same state for every step size, including blocks whose references span steps.
@Suite struct SteppedCleanupTests {
  @Test(arguments: [1, 2, 3, 5, 4096])
  func deletesAbortsAndRecoveryInStepsEndTheSame(step: Int) async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let clock = TestClock()
    let zero = Block(data: [UInt8](repeating: 0, count: 65536))
    // `zero` is leaf 1, 6 and 12 of a: its references lie in different steps.
    let a = try TestDataset(count: 13, seed: 500, override: [1: zero, 6: zero, 12: zero])
    let b = try TestDataset(count: 6, seed: 501, override: [0: a.blocks[4], 1: a.blocks[5], 5: zero])
    let kept: SpaceInfo
    do {
      let store = try openStore(dir, clock: clock, rowsPerStep: step)
      try await a.upload(to: store)  // the per-block path (pending rows)
      let sb = try await store.beginUpload()  // the batch path (upload_batches rows)
      try await addInBatches(b.blocks, capacity: 4, to: sb)
      try await sb.commit(manifest: b.manifestBlock)

      // An aborted batch upload sharing one block with a: only what it created goes.
      let c = try TestDataset(count: 10, seed: 502, override: [3: a.blocks[7]])
      let beforeAbort = try await store.space()
      let sc = try await store.beginUpload()
      try await addInBatches(c.blocks, capacity: 3, to: sc)
      try await sc.flush()
      await sc.abort()
      #expect(try await store.space() == beforeAbort)
      for i in [0, 1, 2, 4, 9] { #expect(try await store.hasBlock(c.blocks[i].cid) == false) }
      #expect(try await store.hasBlock(a.blocks[7].cid))

      // Deleting a keeps b whole and removes exactly a's own blocks.
      try await store.deleteDataset(manifestCid: a.manifestCid)
      for i in 0..<6 { #expect(try await store.blockData(tree: b.treeCid, index: i) == b.blocks[i].data) }
      for i in [0, 2, 3, 7, 8, 9, 10, 11] { #expect(try await store.hasBlock(a.blocks[i].cid) == false) }
      kept = try await store.space()
      #expect(kept.totalBlocks == 6 + 1)  // b's 6 distinct blocks (zero among them) and its manifest
      #expect(kept.quotaUsedBytes == UInt64(6 * 65536 + b.manifestBlock.data.count))
      #expect(try await store.testingInt("SELECT refcount FROM blocks WHERE cid = ?", zero) == 1)
      #expect(try await store.testingInt("SELECT COUNT(*) FROM free_ranges") == 0)
      #expect(try await store.verify().isEmpty)

      // A crash with two uploads running, one per path; d reuses one of b's blocks.
      let d = try TestDataset(count: 7, seed: 503, override: [2: b.blocks[3]])
      let e = try TestDataset(count: 9, seed: 504)
      let sd = try await store.beginUpload()
      try await sd.add(d.blocks)
      let se = try await store.beginUpload()
      try await addInBatches(e.blocks, capacity: 2, to: se)
      try await se.flush()
      store.abandonForTesting()  // "SIGKILL": no abort, no clean close
      _ = (sd, se)
    }
    let store = try openStore(dir, clock: clock, rowsPerStep: step)
    #expect(try await store.space() == kept)
    for i in 0..<6 { #expect(try await store.blockData(tree: b.treeCid, index: i) == b.blocks[i].data) }
    #expect(try await store.verify().isEmpty)

    // Deleting b empties the repo.
    try await store.deleteDataset(manifestCid: b.manifestCid)
    var space = try await store.space()
    #expect(space.totalBlocks == 0)
    #expect(space.quotaUsedBytes == 0)

    // An expired dataset whose duplicate block's references span steps: the first step deletes the block (expired
    // blocks go even while referenced), later steps find it gone.
    let f = try TestDataset(count: 8, seed: 505, override: [0: zero, 5: zero, 7: zero])
    try await f.upload(to: store)
    clock.advance(5000)
    try await store.deleteDataset(manifestCid: f.manifestCid)
    space = try await store.space()
    #expect(space.totalBlocks == 0)
    #expect(space.quotaUsedBytes == 0)
    #expect(try await store.testingInt("SELECT COUNT(*) FROM leaves") == 0)
    #expect(try await store.testingInt("SELECT COUNT(*) FROM free_ranges") == 0)
    #expect(try await store.testingInt("SELECT COUNT(*) FROM upload_batches") == 0)
    #expect(try await store.testingInt("SELECT COUNT(*) FROM pending") == 0)
    #expect(try await store.verify().isEmpty)
    await store.close()
  }
}
