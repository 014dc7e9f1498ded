import CodexFormats
import Multiformats
import Synchronization
import Testing

@testable import CodexErasure
@testable import CodexStore

/// A block store in front of a repo that hides some leaves, fails on others, corrupts proofs of others, and
/// counts reads: stands in for a network store (no batch writes).
final class FlakyStore: BlockStore {
  let repo: RepoStore
  let hidden: Set<Int>
  let failing: Set<Int>
  let badProof: Set<Int>
  let reads = Mutex<[Int]>([])

  init(repo: RepoStore, hidden: Set<Int> = [], failing: Set<Int> = [], badProof: Set<Int> = []) {
    self.repo = repo
    self.hidden = hidden
    self.failing = failing
    self.badProof = badProof
  }

  struct Unreachable: Error {}

  func getBlock(_ cid: Cid) async throws -> Block? { try await repo.getBlock(cid) }
  func getBlock(tree: Cid, index: Int) async throws -> (block: Block, proof: CodexProof)? {
    reads.withLock { $0.append(index) }
    if failing.contains(index) { throw Unreachable() }
    if hidden.contains(index) { return nil }
    guard let (block, proof) = try await repo.getBlock(tree: tree, index: index) else { return nil }
    if badProof.contains(index) {
      return (
        block, CodexProof(mcodec: proof.mcodec, index: index, leafCount: proof.leafCount, path: proof.path.reversed())
      )
    }
    return (block, proof)
  }
  func hasBlock(_ cid: Cid) async throws -> Bool { try await repo.hasBlock(cid) }
  func hasBlock(tree: Cid, index: Int) async throws -> Bool { try await repo.hasBlock(tree: tree, index: index) }
  func putBlock(_ block: Block, ttl: Duration?) async throws { try await repo.putBlock(block, ttl: ttl) }
  func putLeaf(tree: Cid, index: Int, blockCid: Cid, proof: CodexProof) async throws {
    try await repo.putLeaf(tree: tree, index: index, blockCid: blockCid, proof: proof)
  }
  func deleteBlock(_ cid: Cid) async throws { try await repo.deleteBlock(cid) }
}

@Suite struct ErasureAnyStoreTests {
  /// B = 8, K = 4, M = 2: rounded 8, 2 steps, 12 leaves; group s = {s, s+2, s+4, s+6 | s+8, s+10}.
  @Test func decodesThroughAnyStoreAndSkipsBadBlocks() async throws {
    let t = try TempRepo()
    let bs = 256
    let bytes = erasureTestBytes(8 * bs, seed: 20)
    let (plain, _) = try await t.storePlain(bytes, blockSize: bs)
    let protected = try await ErasureEncoder(store: t.repo, logger: erasureTestLogger)
      .encode(plain, parameters: try ErasureParameters(dataShards: 4, parityShards: 2))
    #expect(protected.blocksCount == 12)
    // Group 0: data 0 hidden, data 2 fails; group 1: data 3 has a bad proof; parity 9 hidden.
    let flaky = FlakyStore(repo: t.repo, hidden: [0, 9], failing: [2], badProof: [3])
    let group0 = try await ErasureDecoder(store: flaky, logger: erasureTestLogger).recoverGroup(protected, step: 0)
    #expect(group0.recovered == [0, 1])
    #expect(group0.blocks.map { $0!.data } == [0, 2, 4, 6].map { Array(bytes[$0 * bs..<($0 + 1) * bs]) })
    let group1 = try await ErasureDecoder(store: flaky, logger: erasureTestLogger).recoverGroup(protected, step: 1)
    #expect(group1.recovered == [1])
    #expect(group1.blocks[1]!.data == Array(bytes[3 * bs..<4 * bs]))
    // Group 1 needed one parity and 9 is hidden: 11 was read.
    #expect(flaky.reads.withLock { $0.contains(11) })

    // The whole stream through the flaky store, and the same through a plain (unbatched) store.
    let reader = try ProtectedDatasetReader(manifest: protected, store: flaky, logger: erasureTestLogger)
    var out: [UInt8] = []
    try await reader.read(range: 0..<UInt64(bytes.count)) { out += $0 }
    #expect(out == bytes)

    // Without losses, decoding reads no parity at all.
    let clean = FlakyStore(repo: t.repo)
    try await ErasureDecoder(store: clean, logger: erasureTestLogger).decode(protected)
    #expect(clean.reads.withLock { $0.allSatisfy { $0 < 8 } })

    // Encoding through a store without batch writes gives the same manifest.
    let again = try await ErasureEncoder(store: clean, logger: erasureTestLogger)
      .encode(plain, parameters: try ErasureParameters(dataShards: 4, parityShards: 2))
    #expect(again == protected)
    await t.close()
  }
}
