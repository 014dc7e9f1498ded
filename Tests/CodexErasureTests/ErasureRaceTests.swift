import CodexFormats
import Multiformats
import Synchronization
import Testing

@testable import CodexErasure
@testable import CodexStore

/// A block store in front of a repo where some leaves never arrive (the read hangs until cancelled), some arrive
/// late, some are absent; it counts requests and requests still running.
final class RacingStore: BlockStore {
  let repo: RepoStore
  let hanging: Set<Int>
  let delayed: [Int: Duration]
  let absent: Set<Int>
  let requests = Mutex<[Int]>([])
  let running = Mutex(0)
  let cancelled = Mutex(0)
  /// Leaves recorded through this store: index → (block CID, proof).
  let leavesPut = Mutex<[Int: (Cid, CodexProof)]>([:])

  init(repo: RepoStore, hanging: Set<Int> = [], delayed: [Int: Duration] = [:], absent: Set<Int> = []) {
    self.repo = repo
    self.hanging = hanging
    self.delayed = delayed
    self.absent = absent
  }

  func getBlock(_ cid: Cid) async throws -> Block? { try await repo.getBlock(cid) }
  func getBlock(tree: Cid, index: Int) async throws -> (block: Block, proof: CodexProof)? {
    requests.withLock { $0.append(index) }
    running.withLock { $0 += 1 }
    defer { running.withLock { $0 -= 1 } }
    do {
      if hanging.contains(index) { try await Task.sleep(for: .seconds(3600)) }
      if let d = delayed[index] { try await Task.sleep(for: d) }
    } catch {
      cancelled.withLock { $0 += 1 }
      throw error
    }
    if absent.contains(index) { return nil }
    return try await repo.getBlock(tree: tree, index: index)
  }
  func hasBlock(_ cid: Cid) async throws -> Bool { try await repo.hasBlock(cid) }
  func hasBlock(tree: Cid, index: Int) async throws -> Bool { try await repo.hasBlock(tree: tree, index: index) }
  func putBlock(_ block: Block, ttl: Duration?) async throws { try await repo.putBlock(block, ttl: ttl) }
  func putLeaf(tree: Cid, index: Int, blockCid: Cid, proof: CodexProof) async throws {
    leavesPut.withLock { $0[index] = (blockCid, proof) }
    try await repo.putLeaf(tree: tree, index: index, blockCid: blockCid, proof: proof)
  }
  func deleteBlock(_ cid: Cid) async throws { try await repo.deleteBlock(cid) }

  func count(_ index: Int) -> Int { requests.withLock { $0.filter { $0 == index }.count } }
}

@Suite struct ErasureRaceTests {
  /// B = 10, K = 3, M = 2: 4 steps, 20 leaves. Group s = {s, s+4, s+8 | parity s+12, s+16}; leaves 10, 11 pad.
  static let bs = 512

  func protectedRepo(seed: UInt64) async throws -> (TempRepo, Manifest, [UInt8]) {
    let t = try TempRepo()
    let bytes = erasureTestBytes(10 * Self.bs - 33, seed: seed)
    let (plain, _) = try await t.storePlain(bytes, blockSize: Self.bs)
    let protected = try await ErasureEncoder(store: t.repo, logger: erasureTestLogger)
      .encode(plain, parameters: try ErasureParameters(dataShards: 3, parityShards: 2))
    return (t, protected, bytes)
  }

  /// Blocks that never arrive are not waited for: their groups are decoded from the first K blocks that do, slow
  /// blocks are overtaken, absent ones are asked for once, a group is decoded once for all its lost blocks, and no
  /// request outlives the read.
  @Test func streamingReadRacesGroupsInsteadOfWaiting() async throws {
    let (t, protected, bytes) = try await protectedRepo(seed: 30)
    let tree = protected.treeCid
    // Nobody has blocks 0, 1 and 4 (lost from the repo too, so they must be rebuilt): requests for them hang.
    for i in [0, 1, 4] { try await t.lose(tree: tree, index: i) }
    // Group 0 = {0, 4, 8 | 12, 16}: decoded once when block 0 is late; block 4 is served from that decode.
    // Group 1 = {1, 5, 9 | 13, 17}: 5, 9 and 13 are enough, 17 is never asked for.
    // Group 2 = {2, 6, pad | 14, 18}: 2 is absent (asked for once, never again).
    // Group 3 = {3, 7, pad | 15, 19}: 7 takes an hour; 3 and 15 overtake it, 19 is never asked for.
    let store = RacingStore(repo: t.repo, hanging: [0, 1, 4], delayed: [7: .seconds(3600)], absent: [2])
    let reader = try ProtectedDatasetReader(
      manifest: protected, store: store, logger: erasureTestLogger, firstTryTimeout: .milliseconds(300),
      hedgeDelay: .milliseconds(100))
    var out: [UInt8] = []
    try await reader.read(range: 0..<UInt64(bytes.count)) { out += $0 }
    #expect(out == bytes)
    #expect(store.running.withLock { $0 } == 0)
    #expect(store.cancelled.withLock { $0 } >= 4)  // first tries of 0, 1 and 7, the race's request for 4
    #expect(store.count(17) == 0 && store.count(19) == 0)
    #expect(store.count(2) == 1)
    // Block 4: one first try (read-ahead) and one request in group 0's race, both cancelled; no wait at its turn.
    #expect(store.count(4) <= 2)
    // Every rebuilt block was recorded as its leaf with a proof assembled from the read's proofs that verifies
    // against the protected tree, and is back in the repo.
    let put = store.leavesPut.withLock { $0 }
    #expect(Set(put.keys) == [0, 1, 2, 4, 7])
    for (i, (cid, proof)) in put {
      #expect(proof.index == i && proof.verify(leaf: cid.multihash, root: tree.multihash))
      let (block, stored) = try #require(try await t.repo.getBlock(tree: tree, index: i))
      #expect(proof == stored && cid == block.cid)
      #expect(block.data == Array(bytes[i * Self.bs..<(i + 1) * Self.bs]))
    }
    await t.close()
  }

  /// `recoverGroup` takes any K blocks: with two data blocks hanging it uses the parity, and cancels the rest.
  @Test func groupRecoveryNeedsOnlyKBlocks() async throws {
    let (t, protected, bytes) = try await protectedRepo(seed: 31)
    let store = RacingStore(repo: t.repo, hanging: [0, 8])
    let decoder = ErasureDecoder(store: store, logger: erasureTestLogger, hedgeDelay: .milliseconds(50))
    let group = try await decoder.recoverGroup(protected, step: 0)
    #expect(group.recovered == [0, 2])
    #expect(group.blocks.map { $0!.data } == [0, 4, 8].map { Array(bytes[$0 * Self.bs..<($0 + 1) * Self.bs]) })
    #expect(store.running.withLock { $0 } == 0)
    #expect(store.cancelled.withLock { $0 } == 2)
    // Known-missing leaves are not asked for again; too few blocks left is unrecoverable at once.
    let again = RacingStore(repo: t.repo, hanging: [4])
    let (layout, _) = try ErasureStoreAccess.layout(of: protected)
    await #expect(throws: ErasureCodingError.unrecoverable(step: 0, available: 2, required: 3)) {
      _ = try await ErasureDecoder(store: again, logger: erasureTestLogger, hedgeDelay: .milliseconds(50))
        .recoverGroup(
          tree: protected.treeCid, blockSize: Self.bs, layout: layout, step: 0, missing: [0, 8, 12], slow: [4])
    }
    #expect(again.count(0) == 0 && again.count(8) == 0 && again.count(12) == 0)
    #expect(again.running.withLock { $0 } == 0)
    await t.close()
  }

  /// Proofs assembled from other leaves' proofs equal the tree's own; a wrong leaf is refused; unknown nodes give
  /// no proof.
  @Test func proofBookAssemblesProofs() throws {
    for count in [1, 2, 5, 12, 17] {
      let leaves = (0..<count).map { i in erasureTestBytes(32, seed: UInt64(100 + i)) }
      let tree = try CodexTree(leaves: leaves)
      let empty = ProofBook(tree: tree.rootCid, leafCount: count)
      #expect(empty.depth == tree.depth)
      for target in 0..<count {
        var all = empty
        for j in 0..<count where j != target { all.add(leaf: leaves[j], proof: try tree.proof(for: j)) }
        var books = [all]
        if target ^ 1 < count {
          var sibling = empty
          sibling.add(leaf: leaves[target ^ 1], proof: try tree.proof(for: target ^ 1))
          books.append(sibling)
        }
        for book in books {
          guard case .success(let p)? = book.proof(for: target, leaf: leaves[target]) else {
            Issue.record("no proof for leaf \(target) of \(count)")
            continue
          }
          #expect(p == (try tree.proof(for: target)))
          if case .success? = book.proof(for: target, leaf: erasureTestBytes(32, seed: 7)) {
            Issue.record("a wrong leaf was accepted")
          }
        }
        if count > 2 {
          #expect(empty.proof(for: target, leaf: leaves[target]) == nil)
          // A recovered sibling's digest completes the bottom level.
          var far = empty
          let other = target < count / 2 ? count - 1 : 0
          far.add(leaf: leaves[other], proof: try tree.proof(for: other))
          if target ^ 1 < count, (target >> 1) != (other >> 1) {
            let got = far.proof(for: target, leaf: leaves[target], extra: [target ^ 1: leaves[target ^ 1]])
            if case .failure? = got {
              Issue.record("a right sibling digest was refused")
            }
          }
        }
      }
    }
  }
}
