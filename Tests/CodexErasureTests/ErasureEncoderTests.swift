import CodexFormats
import Multiformats
import Testing

@testable import CodexErasure
@testable import CodexStore

@Suite struct ErasureEncoderTests {
  /// 5 blocks with the REST defaults (K = 2, M = 1): rounded 6, 3 steps, 9 leaves; padding at 5; parity at 6, 7, 8
  /// is the XOR of blocks (0, 3), (1, 4) and (2, padding) — the last equals block 2 and shares its CID.
  @Test func protectsWithTheSteppedLayout() async throws {
    let t = try TempRepo()
    let bs = 1024
    let bytes = erasureTestBytes(4 * bs + 100, seed: 1)
    let (plain, blocks) = try await t.storePlain(bytes, blockSize: bs)
    let encoder = ErasureEncoder(store: t.repo, logger: erasureTestLogger)
    let protected = try await encoder.encode(plain, parameters: .defaults)

    let info = try #require(protected.erasure)
    #expect(info.ecK == 2 && info.ecM == 1 && info.strategy == .stepped)
    #expect(info.originalTreeCid == plain.treeCid)
    #expect(info.originalDatasetSize == UInt64(bytes.count))
    #expect(protected.datasetSize == UInt64(9 * bs))
    #expect(protected.blocksCount == 9 && protected.originalBlocksCount == 5 && protected.steps == 3)
    #expect(protected.filename == "data.bin" && protected.mimetype == "application/x-test")
    #expect(protected.blockSize == bs)

    var leaves: [Cid] = []
    for i in 0..<9 {
      let (block, proof) = try #require(try await t.repo.getBlock(tree: protected.treeCid, index: i))
      #expect(proof.index == i && proof.leafCount == 9)
      #expect(proof.verify(leaf: block.cid.multihash, root: protected.treeCid.multihash))
      leaves.append(block.cid)
    }
    #expect(Array(leaves[0..<5]) == blocks.map(\.cid))
    #expect(leaves[5] == Codex.emptyBlockCid)
    func xor(_ a: [UInt8], _ b: [UInt8]) -> [UInt8] { zip(a, b).map { $0 ^ $1 } }
    #expect(leaves[6] == Block(data: xor(blocks[0].data, blocks[3].data)).cid)
    #expect(leaves[7] == Block(data: xor(blocks[1].data, blocks[4].data)).cid)
    #expect(leaves[8] == blocks[2].cid)
    let tree = try CodexTree(leaves: leaves.map(\.multihash.digest))
    #expect(tree.rootCid == protected.treeCid)

    // One block at two leaves of the protected tree plus one of the plain tree: three references.
    #expect(try await t.refcount(blocks[2].cid) == 3)
    #expect(try await t.refcount(blocks[0].cid) == 2)
    #expect(try await t.refcount(leaves[6]) == 1)

    // The stored manifest round-trips.
    let stored = try #require(try await t.repo.getBlock(protected.cid))
    #expect(try Manifest(block: stored) == protected)
    await t.close()
  }

  /// K = 3, M = 2 (GF(2^8)): parity at `rounded + s + j·steps` equals Leopard over the group's blocks.
  @Test("protecting an older dataset makes its blocks live at least as long as the protected manifest")
  func protectedManifestDoesNotOutliveItsBlocks() async throws {
    final class Clock: CodexClock, @unchecked Sendable {
      var value: Int64 = 1_700_000_000
      func now() -> Int64 { value }
    }
    let clock = Clock()
    let t = try TempRepo(clock: clock)
    let bs = 1024
    let (plain, blocks) = try await t.storePlain(erasureTestBytes(4 * bs + 100, seed: 5), blockSize: bs)
    func expiry(_ cid: Cid) async throws -> Int {
      let hex = cid.bytes.map { String(format: "%02x", $0) }.joined()
      return try await t.repo.testingInt("SELECT expiry FROM blocks WHERE cid = X'\(hex)'")
    }
    let uploaded = try await expiry(blocks[0].cid)
    clock.value += 600  // protected ten minutes after the upload
    let protected = try await ErasureEncoder(store: t.repo, logger: erasureTestLogger).encode(
      plain, parameters: .defaults)
    let manifestExpiry = try await expiry(protected.cid)
    #expect(manifestExpiry == uploaded + 600)
    for b in blocks { #expect(try await expiry(b.cid) >= manifestExpiry) }
    // Past the upload's TTL only the plain manifest goes; the protected dataset stays whole.
    clock.value = Int64(uploaded) + 1
    #expect(try await t.repo.runMaintenanceCycle() == 1)
    #expect(try await t.repo.manifests().map(\.cid) == [protected.cid])
    for i in 0..<protected.blocksCount where i != 5 {  // 5 is padding
      #expect(try await t.repo.hasBlock(tree: protected.treeCid, index: i))
    }
    await t.close()
  }

  @Test func parityMatchesTheCodecPerGroup() async throws {
    let t = try TempRepo()
    let bs = 512
    let (plain, blocks) = try await t.storePlain(erasureTestBytes(7 * bs, seed: 2), blockSize: bs)
    let protected = try await ErasureEncoder(store: t.repo, logger: erasureTestLogger)
      .encode(plain, parameters: try ErasureParameters(nodes: 5, tolerance: 2))
    // B = 7, rounded = 9, steps = 3, total = 15.
    #expect(protected.blocksCount == 15)
    let codec = try LeopardCodec(dataShards: 3, parityShards: 2)
    let zero = [UInt8](repeating: 0, count: bs)
    for s in 0..<3 {
      let data = (0..<3).map { p in s + 3 * p < 7 ? blocks[s + 3 * p].data : zero }
      let parity = try codec.encode(data)
      for j in 0..<2 {
        let (block, _) = try #require(try await t.repo.getBlock(tree: protected.treeCid, index: 9 + s + 3 * j))
        #expect(block.data == parity[j])
      }
    }
    for i in 7..<9 {
      let (block, _) = try #require(try await t.repo.getBlock(tree: protected.treeCid, index: i))
      #expect(block.cid == Codex.emptyBlockCid)
    }
    // Protecting the same dataset again is deterministic.
    let again = try await ErasureEncoder(store: t.repo, logger: erasureTestLogger)
      .encode(plain, parameters: try ErasureParameters(nodes: 5, tolerance: 2))
    #expect(again == protected)
    await t.close()
  }

  @Test func refusesBadParameters() async throws {
    #expect(throws: ErasureCodingError.self) { try ErasureParameters(nodes: 3, tolerance: 0) }
    #expect(throws: ErasureCodingError.self) { try ErasureParameters(nodes: 3, tolerance: 2) }  // K = 1
    #expect(throws: ErasureCodingError.self) { try ErasureParameters(nodes: 5, tolerance: 3) }  // K < M
    #expect(throws: ErasureCodingError.self) { try ErasureParameters(nodes: 2, tolerance: 3) }
    #expect(throws: ErasureCodingError.self) { try ErasureParameters(nodes: -1, tolerance: -5) }
    #expect(throws: ErasureCodingError.self) { try ErasureParameters(dataShards: 60000, parityShards: 6000) }
    let ok = try ErasureParameters(nodes: 10, tolerance: 4)
    #expect(ok.dataShards == 6 && ok.parityShards == 4)

    let t = try TempRepo()
    let (plain, _) = try await t.storePlain(erasureTestBytes(3 * 256, seed: 3), blockSize: 256)
    let encoder = ErasureEncoder(store: t.repo, logger: erasureTestLogger)
    await #expect(throws: ErasureCodingError.datasetTooSmall(blocks: 3, minimumBytes: 4 * 256)) {
      try await encoder.encode(plain, parameters: try ErasureParameters(nodes: 6, tolerance: 2))
    }
    let protected = try await encoder.encode(plain, parameters: .defaults)
    await #expect(throws: ErasureCodingError.alreadyProtected) {
      try await encoder.encode(protected, parameters: .defaults)
    }
    // A block size Leopard cannot use.
    let (odd, _) = try await t.storePlain(erasureTestBytes(300, seed: 4), blockSize: 100)
    await #expect(throws: ErasureCodingError.codec(.invalidShardSize(100))) {
      try await encoder.encode(odd, parameters: .defaults)
    }
    await t.close()
  }

  @Test func missingPlainBlockIsATypedErrorAndLeavesNoParity() async throws {
    let t = try TempRepo()
    let bs = 256
    let (plain, blocks) = try await t.storePlain(erasureTestBytes(6 * bs, seed: 5), blockSize: bs)
    try await t.lose(blocks[5].cid)
    let before = try await t.repo.space().totalBlocks
    await #expect(throws: ErasureCodingError.missingBlock(tree: plain.treeCid, index: 5)) {
      try await ErasureEncoder(store: t.repo, logger: erasureTestLogger).encode(plain, parameters: .defaults)
    }
    #expect(try await t.repo.space().totalBlocks == before)
    await t.close()
  }

  /// Real block size on the GF(2^8) path, with the codec on several threads.
  @Test func protectsFullSizeBlocks() async throws {
    let t = try TempRepo()
    let bytes = erasureTestBytes(9 * 65536 - 7, seed: 6)
    let (plain, _) = try await t.storePlain(bytes, blockSize: 65536)
    let protected = try await ErasureEncoder(store: t.repo, logger: erasureTestLogger, concurrency: 2)
      .encode(plain, parameters: try ErasureParameters(dataShards: 4, parityShards: 2))
    // B = 9, rounded = 12, steps = 3, total = 18.
    #expect(protected.datasetSize == 18 * 65536)
    #expect(try await t.bytes(tree: protected.treeCid, blocks: 9, size: UInt64(bytes.count)) == bytes)
    await t.close()
  }
}
