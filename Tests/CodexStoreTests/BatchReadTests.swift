import CodexFormats
import Foundation
import Multiformats
import Testing

@testable import CodexStore

@Suite("Batched reads and staged pack writes")
struct BatchReadTests {
  @Test func packRangesComeBackInRequestOrderWhetherAdjacentOrNot() throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let packs = PackFiles(directory: dir.path)
    defer { packs.closeAll() }
    try packs.open(1)
    try packs.open(2)
    // Pack 1: three back-to-back aligned blocks (one short), a gap, then a fourth. Pack 2: one block.
    let a = pseudoRandomBytes(65536, seed: 1)
    let b = pseudoRandomBytes(5000, seed: 2)
    let c = pseudoRandomBytes(65536, seed: 3)
    let d = pseudoRandomBytes(4096, seed: 4)
    let e = pseudoRandomBytes(70000, seed: 5)
    try packs.write(pack: 1, offset: 0, bytes: a)
    try packs.write(pack: 1, offset: 65536, bytes: b)
    try packs.write(pack: 1, offset: 65536 + 8192, bytes: c)
    try packs.write(pack: 1, offset: 1 << 20, bytes: d)
    try packs.write(pack: 2, offset: 4096, bytes: e)
    let ranges: [(pack: Int64, offset: UInt64, count: Int)] = [
      (1, 1 << 20, 4096), (2, 4096, 70000), (1, 65536 + 8192, 65536), (1, 0, 65536), (1, 65536, 5000),
      (1, 0, 65536),  // asked twice
    ]
    let got = packs.lock.withReadLock { try? packs.read(ranges) }
    #expect(got == [d, e, c, a, b, a])
    #expect(packs.lock.withReadLock { try? packs.read([]) } == [])
  }

  @Test func aRangePastTheEndOfItsPackIsReportedAsMissing() throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let packs = PackFiles(directory: dir.path)
    defer { packs.closeAll() }
    try packs.open(1)
    try packs.write(pack: 1, offset: 0, bytes: pseudoRandomBytes(65536, seed: 1))
    #expect(throws: StoreError.self) {
      try packs.lock.withReadLock { () throws(StoreError) in
        _ = try packs.read([(1, 0, 65536), (1, 65536, 65536)])
      }
    }
  }

  @Test func getBlocksMatchesGetBlockForEveryLeafAndNilForMissingOnes() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let store = try openStore(dir)
    var override: [Int: Block] = [3: Block(data: [])]  // a padding leaf: the empty CID
    override[5] = Block(data: pseudoRandomBytes(1000, seed: 77))  // small: stored inline
    let set = try TestDataset(count: 40, seed: 9, override: override)
    try await set.upload(to: store)
    let indices = [39, 0, 1, 2, 3, 4, 5, 6, 20, 21, 22, 2, 40, 1000]
    let got = try await store.getBlocks(tree: set.treeCid, indices: indices)
    #expect(got.count == indices.count)
    for (i, index) in indices.enumerated() {
      let one = try await store.getBlock(tree: set.treeCid, index: index)
      #expect(got[i]?.block == one?.block, "leaf \(index)")
      #expect(got[i]?.proof == one?.proof, "leaf \(index)")
      if index < 40 {
        #expect(got[i]?.block.data == set.blocks[index].data, "leaf \(index)")
      } else {
        #expect(got[i] == nil)
      }
    }
    // Lent without copies: the same blocks, and the stored proofs as `CodexProof.encoded`.
    let lent = try await Self.lent(store, tree: set.treeCid, indices: indices)
    #expect(lent.count == indices.count)
    for (i, index) in indices.enumerated() {
      #expect(lent[i]?.block == got[i]?.block, "leaf \(index)")
      #expect(lent[i]?.proof == got[i]?.proof.encoded, "leaf \(index)")
    }
    await store.close()
  }

  @Test func lentProofsAreCanonicalEvenWhenStoredOtherwiseAndAnUndecodableOneFailsTheReadAsInGetBlocks() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let store = try openStore(dir)
    let set = try TestDataset(count: 6, seed: 23)
    try await set.upload(to: store)
    // Leaf 1's proof stored with an overlong varint for its index (08 12 10 81 00 ...): it decodes to the same
    // proof, which must go out as `encoded`, as getBlocks would send it.
    let proof = try set.tree.proof(for: 1).encoded
    #expect(Array(proof[2...3]) == [0x10, 0x01])
    let overlong = Array(proof[..<3]) + [0x81, 0x00] + Array(proof[4...])
    try await store.testingExecute(
      "UPDATE leaves SET proof = ? WHERE tree = ? AND idx = 1", blobs: [overlong, set.treeCid.bytes])
    let lent = try await Self.lent(store, tree: set.treeCid, indices: Array(0..<6))
    let got = try await store.getBlocks(tree: set.treeCid, indices: Array(0..<6))
    for i in 0..<6 {
      #expect(lent[i]?.proof == got[i]?.proof.encoded, "leaf \(i)")
      #expect(lent[i]?.block == set.blocks[i], "leaf \(i)")
    }
    #expect(lent[1]?.proof == proof)
    try await store.testingExecute(
      "UPDATE leaves SET proof = ? WHERE tree = ? AND idx = 2", blobs: [[0x08], set.treeCid.bytes])
    await #expect(throws: StoreError.self) { _ = try await store.getBlocks(tree: set.treeCid, indices: [2]) }
    await #expect(throws: StoreError.self) { _ = try await Self.lent(store, tree: set.treeCid, indices: [2]) }
    await store.close()
  }

  /// `withBlocks` with each lent leaf copied out.
  static func lent(_ store: RepoStore, tree: Cid, indices: [Int]) async throws -> [(block: Block, proof: [UInt8])?] {
    try await store.withBlocks(tree: tree, indices: indices) { leaves in
      leaves.map { $0.map { (Block(unchecked: $0.cid, data: [UInt8]($0.data)), $0.proof) } }
    }
  }

  @Test func aBlockCutOffItsPackDoesNotHideItsNeighbours() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let store = try openStore(dir)
    let set = try TestDataset(count: 8, seed: 41)
    try await set.upload(to: store)
    // Cut the pack in the middle of the last block (as a lost tail after a crash of the file system would).
    let pack = try await store.testingInt("SELECT MAX(pack) FROM blocks")
    let pos = try await store.testingInt("SELECT MAX(pos) FROM blocks")
    #expect(truncate(store.packs.path(Int64(pack)), off_t(pos + 1000)) == 0)
    let got = try await store.getBlocks(tree: set.treeCid, indices: Array(0..<8))
    let missing = got.indices.filter { got[$0] == nil }
    #expect(missing.count == 1)
    for i in got.indices where got[i] != nil { #expect(got[i]?.block == set.blocks[i]) }
    let lent = try await Self.lent(store, tree: set.treeCid, indices: Array(0..<8))
    #expect(lent.indices.filter { lent[$0] == nil } == missing)
    for i in lent.indices where lent[i] != nil { #expect(lent[i]?.block == set.blocks[i]) }
    await store.close()
  }

  @Test func blocksPutInBatchesReadBackAcrossPackRotation() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    // Small packs: a batch that does not fit rotates to a new pack; odd sizes leave aligned gaps.
    let store = try openStore(dir, packLimit: 1 << 20)
    var blocks: [Block] = []
    for i in 0..<60 { blocks.append(Block(data: pseudoRandomBytes(i % 3 == 0 ? 65536 : 30000 + i, seed: UInt64(i)))) }
    for start in stride(from: 0, to: blocks.count, by: 13) {
      try await store.putBlocks(Array(blocks[start..<min(start + 13, blocks.count)]), ttl: nil)
    }
    for b in blocks { #expect(try await store.getBlock(b.cid) == b) }
    await store.close()
    let reopened = try openStore(dir, packLimit: 1 << 20)
    for b in blocks { #expect(try await reopened.getBlock(b.cid) == b) }
    #expect(try await reopened.verify().isEmpty)
    await reopened.close()
  }

  @Test func crc32cMatchesTheRfc3720Vectors() {
    #expect(BlockChecksum.crc32c([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
    #expect(BlockChecksum.crc32c([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
    #expect(BlockChecksum.crc32c((0..<32).map { UInt8($0) }) == 0x46DD_794E)
    #expect(BlockChecksum.crc32c((0..<32).reversed().map { UInt8($0) }) == 0x113F_DB5C)
    #expect(BlockChecksum.crc32c(Array("123456789".utf8)) == 0xE306_9283)  // 8-byte steps and a tail
    #expect(BlockChecksum.crc32c([]) == 0)
  }

  /// Inputs of 12 KiB and more go through three interleaved crc32 chains joined with zero-append operators: they
  /// give the bit-at-a-time CRC-32C for lengths around the 12 KiB chunks and the 8-byte steps, at odd offsets.
  @Test(arguments: [12287, 12288, 12289, 24576, 24583, 65536, 65537, 100_003])
  func crc32cOfLongInputsMatchesTheBitwiseDefinition(length: Int) {
    let data = pseudoRandomBytes(length + 3, seed: UInt64(length))
    func bitwise(_ bytes: ArraySlice<UInt8>) -> UInt32 {
      var crc: UInt32 = 0xFFFF_FFFF
      for byte in bytes {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = (crc >> 1) ^ (0x82F6_3B78 & (0 &- (crc & 1))) }
      }
      return ~crc
    }
    for offset in 0..<3 {
      let slice = data[offset..<offset + length]
      #expect(BlockChecksum.crc32c(Array(slice)) == bitwise(slice), "offset \(offset)")
    }
  }

  /// Flips one byte of leaf `index`'s block in its pack file.
  static func flipByte(of index: Int, tree: Cid, in store: RepoStore, dir: TempDir) async throws {
    let hex = tree.bytes.map { String(format: "%02x", $0) }.joined()
    let leaf = "FROM leaves l JOIN blocks b ON b.cid = l.block WHERE l.tree = X'\(hex)' AND l.idx = \(index)"
    let pack = try await store.testingInt("SELECT b.pack \(leaf)")
    let pos = try await store.testingInt("SELECT b.pos \(leaf)")
    let path = store.packs.path(Int64(pack))
    let fd = open(path, O_RDWR)
    #expect(fd >= 0)
    defer { close(fd) }
    var byte: UInt8 = 0
    #expect(pread(fd, &byte, 1, off_t(pos + 1000)) == 1)
    byte ^= 0x40
    #expect(pwrite(fd, &byte, 1, off_t(pos + 1000)) == 1)
    #expect(fsync(fd) == 0)
  }

  @Test func getBlocksLeavesOutABlockWhoseBytesRottedOnDiskByChecksumOrByCid() async throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    let store = try openStore(dir)
    let set = try TestDataset(count: 12, seed: 31)
    try await set.upload(to: store)  // upload path: checksums from the batch
    let fetched = try TestDataset(count: 6, seed: 32)
    try await store.putBlocks(fetched.blocks, ttl: nil)  // putBlocks path: checksums computed on write
    try await store.putLeaves(
      tree: fetched.treeCid, leaves: try fetched.leaves().enumerated().map { ($0.offset, $0.element.0, $0.element.1) })
    #expect(try await store.testingInt("SELECT COUNT(*) FROM blocks WHERE crc IS NULL AND size = 65536") == 0)

    try await Self.flipByte(of: 4, tree: set.treeCid, in: store, dir: dir)
    let got = try await store.getBlocks(tree: set.treeCid, indices: Array(0..<12))
    #expect(got[4] == nil)
    for i in 0..<12 where i != 4 { #expect(got[i]?.block == set.blocks[i]) }
    let lent = try await Self.lent(store, tree: set.treeCid, indices: Array(0..<12))
    #expect(lent[4] == nil)
    for i in 0..<12 where i != 4 { #expect(lent[i]?.block == set.blocks[i]) }
    // The plain read paths check the checksum too: damaged bytes read as absent (a REST download, erasure
    // coding and slot building must not use them; the network store fetches a good copy instead).
    #expect(try await store.getBlock(tree: set.treeCid, index: 4) == nil)

    // A block stored before checksums (crc NULL) is checked against its CID instead.
    try await store.testingExecute("UPDATE blocks SET crc = NULL")
    try await Self.flipByte(of: 2, tree: fetched.treeCid, in: store, dir: dir)
    let old = try await store.getBlocks(tree: fetched.treeCid, indices: Array(0..<6))
    #expect(old[2] == nil)
    for i in 0..<6 where i != 2 { #expect(old[i]?.block == fetched.blocks[i]) }
    let oldLent = try await Self.lent(store, tree: fetched.treeCid, indices: Array(0..<6))
    #expect(oldLent[2] == nil)
    for i in 0..<6 where i != 2 { #expect(oldLent[i]?.block == fetched.blocks[i]) }
    await store.close()
  }
}

@Suite("Many-block SHA-256")
struct BlockDigestsTests {
  @Test func digestsMatchOneAtATimeHashingForMixedSizesWithEveryMethod() {
    // 20 blocks of 64 KiB (a group of 16 and 4 left over), 9 of 4 KiB (one group of 9), odd sizes, an empty block.
    var blocks: [[UInt8]] = []
    for i in 0..<20 { blocks.append(pseudoRandomBytes(65536, seed: UInt64(100 + i))) }
    for i in 0..<9 { blocks.append(pseudoRandomBytes(4096, seed: UInt64(200 + i))) }
    blocks += [
      pseudoRandomBytes(1000, seed: 1), [], pseudoRandomBytes(65535, seed: 2), pseudoRandomBytes(128, seed: 3),
    ]
    // Mix the sizes: 7 and the count (33) are coprime, so i -> 7i mod 33 visits every block once.
    blocks = blocks.indices.map { blocks[(7 * $0) % blocks.count] }
    let expected = blocks.map { SHA256Hashing.digest($0) }
    // A method this CPU lacks falls back to one block at a time: every one gives the same digests.
    for method in SHA256Method.allCases {
      #expect(BlockDigests.sha256(blocks, method: method) == expected, "\(method)")
    }
    #expect(BlockDigests.sha256([]) == [])
  }
}

extension PackFiles {
  /// The bytes of `readSpans(ranges)`, copied out (the caller holds `lock`).
  fileprivate func read(_ ranges: [(pack: Int64, offset: UInt64, count: Int)]) throws(StoreError) -> [[UInt8]] {
    let (owners, spans) = try readSpans(ranges)
    return withExtendedLifetime(owners) { spans.map { [UInt8]($0) } }
  }
}
