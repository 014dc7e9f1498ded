import CodexFormats
import Foundation
import Multiformats
import Testing

@testable import CodexProofs
@testable import CodexStore

@Suite("VerifiableBuilder")
struct VerifiableBuilderTests {
  static let blockSize = 64 * 1024

  @Test("building a verifiable manifest later makes the dataset's blocks live at least as long as it")
  func verifiableManifestDoesNotOutliveItsBlocks() async throws {
    final class Clock: CodexClock, @unchecked Sendable {
      var value: Int64 = 1_700_000_000
      func now() -> Int64 { value }
    }
    let clock = Clock()
    let temp = try SlotsTempRepo(clock: clock)
    let pool = ComputePool(threads: 2)
    defer { Task { await pool.shutdown() } }
    let protected = try await temp.storeProtected(
      slotsTestBytes(5 * Self.blockSize - 1000, seed: 9), blockSize: Self.blockSize)
    func expiry(_ cid: Cid) async throws -> Int {
      let hex = cid.bytes.map { String(format: "%02x", $0) }.joined()
      return try await temp.repo.testingInt("SELECT expiry FROM blocks WHERE cid = X'\(hex)'")
    }
    clock.value += 900
    let verifiable = try await VerifiableBuilder(store: temp.repo, pool: pool, logger: slotsTestLogger).build(
      protected)
    let manifestExpiry = try await expiry(verifiable.cid)
    for i in 0..<protected.blocksCount where i != 5 {  // 5 is the empty padding block
      let (block, _) = try #require(try await temp.repo.getBlock(tree: protected.treeCid, index: i))
      #expect(try await expiry(block.cid) >= manifestExpiry)
    }
    await temp.close()
  }

  @Test("a verifiable manifest built from a protected dataset round-trips and matches independently built slots")
  func buildRoundTrip() async throws {
    let temp = try SlotsTempRepo()
    let pool = ComputePool(threads: 2)
    defer { Task { await pool.shutdown() } }
    let bytes = slotsTestBytes(5 * Self.blockSize - 1000, seed: 7)
    let protected = try await temp.storeProtected(bytes, blockSize: Self.blockSize)
    #expect(protected.blocksCount == 9)  // 3 steps × (K 2 + M 1); leaf 5 is the empty padding block
    let leavesBefore = try await temp.leafRows()

    let builder = VerifiableBuilder(store: temp.repo, pool: pool, logger: slotsTestLogger, window: 3)
    let verifiable = try await builder.build(protected)
    let info = try #require(verifiable.erasure?.verification)
    #expect(info.slotRoots.count == 3)
    #expect(info.cellSize == 2048)
    #expect(info.strategy == .linear)
    #expect(verifiable.treeCid == protected.treeCid)
    #expect(verifiable.datasetSize == protected.datasetSize)
    #expect(verifiable.filename == protected.filename)
    #expect(verifiable.erasure?.originalTreeCid == protected.erasure?.originalTreeCid)

    // The stored manifest block decodes to the same manifest, byte for byte.
    let stored = try #require(try await temp.repo.getBlock(verifiable.cid))
    let decoded = try Manifest(block: stored)
    #expect(decoded == verifiable)
    #expect(decoded.encoded == verifiable.encoded)
    #expect(decoded.isVerifiable)

    // Independent rebuild: read each slot's blocks (Linear strategy), hash them with the pure SlotBuilder.
    let layout = try SlotLayout(blocksCount: 9, numSlots: 3, blockSize: Self.blockSize)
    #expect(layout.numSlotBlocks == 3 && layout.numPadSlotBlocks == 1)
    var roots: [Fr] = []
    for slot in 0..<3 {
      var blocks: [[UInt8]] = []
      for idx in try layout.blockIndices(slot: slot) {
        let data = try #require(try await temp.repo.blockData(tree: protected.treeCid, index: idx))
        blocks.append(data.isEmpty ? [UInt8](repeating: 0, count: Self.blockSize) : data)
      }
      let tree = try await SlotBuilder.slotTree(blocks: blocks, layout: layout)
      roots.append(tree.root)
      #expect(info.slotRoots[slot] == SlotCids.slotRootCid(tree.root))
      #expect(try await builder.rebuildSlotRoot(verifiable, slot: slot) == tree.root)
    }
    #expect(info.verifyRoot == SlotCids.verifyRootCid(try SlotBuilder.verifyTree(slotRoots: roots).root))

    // Leaf metadata: one row per slot-tree leaf (3 slots × 4 leaves).
    #expect(try await temp.leafRows() == leavesBefore + 12)

    // Building again from the verifiable manifest checks it and returns it unchanged (idempotent).
    #expect(try await builder.build(verifiable) == verifiable)
    #expect(try await temp.leafRows() == leavesBefore + 12)
    await temp.close()
  }

  @Test("a second store filled with downloaded blocks rebuilds every slot to the manifest's slot root")
  func secondStoreRebuildsSlots() async throws {
    let first = try SlotsTempRepo()
    let second = try SlotsTempRepo()
    let pool = ComputePool(threads: 2)
    defer { Task { await pool.shutdown() } }
    let protected = try await first.storeProtected(
      slotsTestBytes(4 * Self.blockSize + 17, seed: 11), blockSize: Self.blockSize)
    let verifiable = try await VerifiableBuilder(store: first.repo, pool: pool, logger: slotsTestLogger)
      .build(protected)
    let layout = try VerifiableBuilder.layout(of: verifiable)
    let host = VerifiableBuilder(store: second.repo, pool: pool, logger: slotsTestLogger)

    // Slot 1 only, as a host would fetch it.
    try await second.copy(tree: verifiable.treeCid, indices: try layout.blockIndices(slot: 1), from: first.repo)
    try await host.verifySlot(verifiable, slot: 1)
    await #expect { try await host.verifySlot(verifiable, slot: 0) } throws: { error in
      guard case .missingBlock(let tree, let index) = error as? VerifiableError else { return false }
      return tree == verifiable.treeCid && (0..<3).contains(index)  // blocks are fetched concurrently
    }

    // Every slot once all blocks are there.
    try await second.copy(tree: verifiable.treeCid, indices: 0..<layout.blocksCount, from: first.repo)
    for slot in 0..<layout.numSlots { try await host.verifySlot(verifiable, slot: slot) }

    // A wrong block in the host's store is caught.
    let idx = try layout.blockIndices(slot: 2).lowerBound
    let (_, proof) = try #require(try await second.repo.getBlock(tree: verifiable.treeCid, index: idx))
    let bogus = Block(data: slotsTestBytes(Self.blockSize, seed: 99))
    try await second.repo.putBlock(bogus, ttl: nil)
    try await second.repo.testingExecute("DELETE FROM leaves WHERE idx = \(idx)")
    try await second.repo.putLeaf(tree: verifiable.treeCid, index: idx, blockCid: bogus.cid, proof: proof)
    await #expect {
      try await host.verifySlot(verifiable, slot: 2)
    } throws: { error in
      guard case .slotRootMismatch(let slot, _, _) = error as? VerifiableError else { return false }
      return slot == 2
    }
    await first.close()
    await second.close()
  }

  @Test("bad input: plain, inconsistent and tampered manifests give typed errors")
  func badInput() async throws {
    let temp = try SlotsTempRepo()
    let pool = ComputePool(threads: 1)
    defer { Task { await pool.shutdown() } }
    let builder = VerifiableBuilder(store: temp.repo, pool: pool, logger: slotsTestLogger)
    let plain = try await temp.storePlain(slotsTestBytes(3 * Self.blockSize, seed: 3), blockSize: Self.blockSize)
    await #expect(throws: VerifiableError.notProtected) { try await builder.build(plain) }

    let protected = try await temp.storeProtected(
      slotsTestBytes(3 * Self.blockSize, seed: 5), blockSize: Self.blockSize)

    // Block count that is not steps × (K + M).
    var wrongCount = protected
    wrongCount.datasetSize += UInt64(Self.blockSize)
    await #expect { try await builder.build(wrongCount) } throws: { error in
      if case .invalidManifest = error as? VerifiableError { return true }
      return false
    }
    // Dataset size that is not whole blocks.
    var ragged = protected
    ragged.datasetSize -= 1
    await #expect { try await builder.build(ragged) } throws: { error in
      if case .invalidManifest = error as? VerifiableError { return true }
      return false
    }
    // No parity.
    var noParity = protected
    noParity.erasure?.ecM = 0
    noParity.erasure?.ecK = 6  // 1 step × (6 + 0) = 6 blocks: consistent counts, but no parity
    await #expect { try await builder.build(noParity) } throws: { error in
      if case .invalidManifest = error as? VerifiableError { return true }
      return false
    }
    // A cell size that does not divide the block size.
    var oddCells = try await builder.build(protected)
    oddCells.erasure?.verification?.cellSize = 3000
    await #expect { try await builder.build(oddCells) } throws: { error in
      if case .invalidManifest = error as? VerifiableError { return true }
      return false
    }
    // A tree the store does not have.
    var unknownTree = protected
    unknownTree.treeCid = Codex.treeCid(root: [UInt8](repeating: 0xAB, count: 32))
    await #expect { try await builder.build(unknownTree) } throws: { error in
      guard case .missingBlock(let tree, _) = error as? VerifiableError else { return false }
      return tree == unknownTree.treeCid
    }
    // Verifiable, but the verify root was tampered with.
    let verifiable = try await builder.build(protected)
    var tampered = verifiable
    let fakeRoot = SlotCids.verifyRootCid(Fr(12345))
    tampered.erasure?.verification?.verifyRoot = fakeRoot
    await #expect(
      throws: VerifiableError.verifyRootMismatch(
        expected: fakeRoot, actual: verifiable.erasure!.verification!.verifyRoot)
    ) {
      try await builder.build(tampered)
    }
    await #expect { try await builder.verifySlot(tampered, slot: 0) } throws: { error in
      if case .invalidRoot = error as? VerifiableError { return true }
      return false
    }
    // A slot root that is not a slot-root CID.
    var wrongCodec = verifiable
    wrongCodec.erasure?.verification?.slotRoots[0] = verifiable.treeCid
    await #expect { try await builder.verifySlot(wrongCodec, slot: 0) } throws: { error in
      if case .invalidRoot = error as? VerifiableError { return true }
      return false
    }
    await #expect(throws: VerifiableError.invalidLayout(.slotOutOfRange(slot: 3, slots: 3))) {
      try await builder.verifySlot(verifiable, slot: 3)
    }
    await temp.close()
  }

  @Test("compute pool runs jobs, returns their results and passes typed errors through")
  func computePool() async throws {
    let pool = ComputePool(threads: 2)
    let results = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
      for i in 0..<64 { group.addTask { (i, try await pool.run { () throws(MerkleError) in i * i }) } }
      var out = [Int](repeating: -1, count: 64)
      for try await (i, v) in group { out[i] = v }
      return out
    }
    #expect(results == (0..<64).map { $0 * $0 })
    #expect(pool.threads == 2)
    await #expect(throws: MerkleError.noLeaves) {
      try await pool.run { () throws(MerkleError) -> Fr in try Poseidon2Tree.root(leaves: []) }
    }
    await pool.shutdown()
    // After shutdown jobs still complete.
    #expect(await pool.run { 41 + 1 } == 42)
  }
}
