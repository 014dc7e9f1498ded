import Synchronization
import CodexFormats
import Multiformats
import Testing

@testable import CodexErasure
@testable import CodexStore

@Suite struct ErasureDecoderTests {
  /// B = 10, K = 3, M = 2: rounded 12, 4 steps, 20 leaves. Group s = {s, s+4, s+8 | parity s+12, s+16}.
  static let bs = 512

  func protectedRepo(seed: UInt64) async throws -> (TempRepo, Manifest, Manifest, [UInt8]) {
    let t = try TempRepo()
    let bytes = erasureTestBytes(10 * Self.bs - 33, seed: seed)
    let (plain, _) = try await t.storePlain(bytes, blockSize: Self.bs)
    let protected = try await ErasureEncoder(store: t.repo, logger: erasureTestLogger)
      .encode(plain, parameters: try ErasureParameters(dataShards: 3, parityShards: 2))
    #expect(protected.blocksCount == 20)
    return (t, plain, protected, bytes)
  }

  @Test func recoversUpToMLostBlocksPerGroup() async throws {
    let (t, plain, protected, bytes) = try await protectedRepo(seed: 10)
    // Group 0: two data; group 1: one data, one parity; group 2: both parity; group 3: data 3 and 7 (8+3 = 11 is
    // padding).
    for i in [0, 4, 1, 13, 14, 18, 3, 7] { try await t.lose(tree: protected.treeCid, index: i) }
    #expect(try await t.bytes(tree: plain.treeCid, blocks: 10, size: UInt64(bytes.count)) == nil)
    let decoded = try await ErasureDecoder(store: t.repo, logger: erasureTestLogger).decode(protected)
    #expect(decoded.treeCid == plain.treeCid)
    #expect(decoded.datasetSize == plain.datasetSize)
    #expect(decoded.filename == plain.filename && decoded.mimetype == plain.mimetype)
    #expect(!decoded.isProtected)
    #expect(try await t.bytes(tree: plain.treeCid, blocks: 10, size: UInt64(bytes.count)) == bytes)
    #expect(try await t.bytes(tree: protected.treeCid, blocks: 10, size: UInt64(bytes.count)) == bytes)
    await t.close()
  }

  @Test func moreThanMLostIsUnrecoverable() async throws {
    let (t, _, protected, _) = try await protectedRepo(seed: 11)
    for i in [2, 6, 14] { try await t.lose(tree: protected.treeCid, index: i) }  // group 2: 2 data + 1 parity
    let before = try await t.repo.space().totalBlocks
    await #expect(throws: ErasureCodingError.unrecoverable(step: 2, available: 2, required: 3)) {
      try await ErasureDecoder(store: t.repo, logger: erasureTestLogger).decode(protected)
    }
    // Nothing recovered by earlier groups stays behind without leaves (here nothing was missing there).
    #expect(try await t.repo.space().totalBlocks == before)
    await t.close()
  }

  @Test func refusesPlainAndInconsistentManifests() async throws {
    let (t, plain, protected, _) = try await protectedRepo(seed: 12)
    let decoder = ErasureDecoder(store: t.repo, logger: erasureTestLogger)
    await #expect(throws: ErasureCodingError.notProtected) { try await decoder.decode(plain) }
    var wrong = protected
    wrong.datasetSize += UInt64(Self.bs)
    await #expect(throws: ErasureCodingError.self) { try await decoder.decode(wrong) }
    var lying = protected
    lying.erasure!.originalTreeCid = Codex.treeCid(root: [UInt8](repeating: 7, count: 32))
    try await t.lose(tree: protected.treeCid, index: 5)
    await #expect(throws: ErasureCodingError.self) { try await decoder.decode(lying) }
    // The unverified recovered block was removed again; the honest manifest still decodes.
    #expect(try await t.repo.hasBlock(tree: protected.treeCid, index: 5) == false)
    try await decoder.decode(protected)
    #expect(try await t.repo.hasBlock(tree: protected.treeCid, index: 5))
    await t.close()
  }

  @Test func repairRestoresDataAndParity() async throws {
    let (t, plain, protected, bytes) = try await protectedRepo(seed: 13)
    for i in [8, 12, 9, 17, 19] { try await t.lose(tree: protected.treeCid, index: i) }
    try await ErasureDecoder(store: t.repo, logger: erasureTestLogger).repair(protected)
    for i in 0..<20 { #expect(try await t.repo.hasBlock(tree: protected.treeCid, index: i), "leaf \(i)") }
    #expect(try await t.bytes(tree: plain.treeCid, blocks: 10, size: UInt64(bytes.count)) == bytes)

    var other = protected
    other.treeCid = Codex.treeCid(root: [UInt8](repeating: 1, count: 32))
    try await t.lose(tree: protected.treeCid, index: 0)
    // Leaves are looked up under the manifest's tree: a wrong tree has none, so nothing can be read.
    await #expect(throws: ErasureCodingError.self) {
      try await ErasureDecoder(store: t.repo, logger: erasureTestLogger).repair(other)
    }
    await t.close()
  }

  @Test func streamingReadReconstructsLostBlocks() async throws {
    let (t, _, protected, bytes) = try await protectedRepo(seed: 14)
    for i in [0, 4, 5, 9, 2] { try await t.lose(tree: protected.treeCid, index: i) }
    let reader = try ProtectedDatasetReader(manifest: protected, store: t.repo, logger: erasureTestLogger)
    #expect(reader.contentLength == UInt64(bytes.count))
    var out: [UInt8] = []
    try await reader.read(range: 0..<UInt64(bytes.count)) { out += $0 }
    #expect(out == bytes)
    // A range inside lost blocks.
    try await t.lose(tree: protected.treeCid, index: 6)
    var part: [UInt8] = []
    let range: Range<UInt64> = UInt64(Self.bs * 6 - 10)..<UInt64(Self.bs * 7 + 3)
    try await reader.read(range: range) { part += $0 }
    #expect(part == Array(bytes[Int(range.lowerBound)..<Int(range.upperBound)]))
    await #expect(throws: ErasureCodingError.self) {
      try await reader.read(range: 0..<UInt64(bytes.count + 1)) { _ in }
    }
    await t.close()
  }

  /// A repo whose writes fail for lack of room, as a full quota or disk makes them.
  final class FullStore: BlockStore {
    let repo: RepoStore
    let puts = Mutex(0)
    init(repo: RepoStore) { self.repo = repo }
    func getBlock(_ cid: Cid) async throws -> Block? { try await repo.getBlock(cid) }
    func getBlock(tree: Cid, index: Int) async throws -> (block: Block, proof: CodexProof)? {
      try await repo.getBlock(tree: tree, index: index)
    }
    func hasBlock(_ cid: Cid) async throws -> Bool { try await repo.hasBlock(cid) }
    func hasBlock(tree: Cid, index: Int) async throws -> Bool { try await repo.hasBlock(tree: tree, index: index) }
    func putBlock(_ block: Block, ttl: Duration?) async throws {
      puts.withLock { $0 += 1 }
      throw StoreError.quotaExceeded(needed: UInt64(block.data.count), available: 0)
    }
    func putLeaf(tree: Cid, index: Int, blockCid: Cid, proof: CodexProof) async throws {
      Issue.record("a leaf was recorded for a block that could not be stored")
    }
    func deleteBlock(_ cid: Cid) async throws { try await repo.deleteBlock(cid) }
  }

  @Test func streamingReadWithNoRoomToKeepRebuiltBlocksStillStreamsThem() async throws {
    let (t, _, protected, bytes) = try await protectedRepo(seed: 16)
    for i in [0, 4, 5, 9, 2] { try await t.lose(tree: protected.treeCid, index: i) }
    let full = FullStore(repo: t.repo)
    let reader = try ProtectedDatasetReader(manifest: protected, store: full, logger: erasureTestLogger)
    var out: [UInt8] = []
    try await reader.read(range: 0..<UInt64(bytes.count)) { out += $0 }
    #expect(out == bytes)
    // It tried once, then stopped trying; nothing was kept.
    #expect(full.puts.withLock { $0 } == 1)
    for i in [0, 4, 5, 9, 2] { #expect(try await t.repo.hasBlock(tree: protected.treeCid, index: i) == false) }
    await t.close()
  }

  @Test func streamingReadFailsWhenAGroupIsGone() async throws {
    let (t, _, protected, bytes) = try await protectedRepo(seed: 15)
    for i in [1, 5, 9] { try await t.lose(tree: protected.treeCid, index: i) }
    let reader = try ProtectedDatasetReader(manifest: protected, store: t.repo, logger: erasureTestLogger)
    var sent = 0
    await #expect(throws: ErasureCodingError.unrecoverable(step: 1, available: 2, required: 3)) {
      try await reader.read(range: 0..<UInt64(bytes.count)) { sent += $0.count }
    }
    #expect(sent == Self.bs)  // block 0 went out before block 1 was found missing
    await t.close()
  }
}
