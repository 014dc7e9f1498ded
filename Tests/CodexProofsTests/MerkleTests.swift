import Testing

import CodexProofs

@Suite struct MerkleTests {
  @Test func rootsOverFieldElements() throws {
    let json = try Vectors.json("poseidon2.json")
    let merkle = try #require(json["merkle"] as? [String: Any])
    let fe = try #require(merkle["field_elements"] as? [String: Any])
    let roots = try #require(fe["roots"] as? [String]).map(fr)
    #expect(roots.count == 40)
    for (i, expected) in roots.enumerated() {
      let n = i + 1
      let leaves = (1...n).map { Fr(UInt64($0)) }
      #expect(try Poseidon2Tree.root(leaves: leaves) == expected, "n = \(n)")
      let tree = try Poseidon2Tree(leaves: leaves)
      #expect(tree.root == expected)
      #expect(tree.depth == Poseidon2Tree.depth(leafCount: n))
    }
  }

  @Test func rootOverTwoToTheSeventeenElements() throws {
    let json = try Vectors.json("poseidon2.json")
    let merkle = try #require(json["merkle"] as? [String: Any])
    let expected = try #require(merkle["field_elements_1_to_2pow17_root_le_hex"] as? String)
    let leaves = (1...(1 << 17)).map { Fr(UInt64($0)) }
    #expect(try Poseidon2Tree.root(leaves: leaves).bytes == hexBytes(expected))
  }

  @Test func rootsOverBytes() throws {
    let json = try Vectors.json("poseidon2.json")
    let merkle = try #require(json["merkle"] as? [String: Any])
    let bs = try #require(merkle["byte_sequences"] as? [String: Any])
    let roots = try #require(bs["roots"] as? [String]).map(fr)
    #expect(roots.count == 81)
    for (n, expected) in roots.enumerated() {
      let bytes = n == 0 ? [] : (1...n).map { UInt8($0) }
      #expect(Poseidon2Tree.root(bytes: bytes) == expected, "n = \(n)")
    }
    let b80 = try #require(merkle["bytes_1_to_80_root_le_hex"] as? String)
    #expect(Poseidon2Tree.root(bytes: (1...80).map { UInt8($0) }).bytes == hexBytes(b80))
    let empty = try #require(merkle["empty_bytes_root_le_hex"] as? String)
    #expect(Poseidon2Tree.root(bytes: []).bytes == hexBytes(empty))
  }

  @Test func proofsVerifyForEveryLeaf() throws {
    for n in [1, 2, 3, 5, 7, 8, 13] {
      let leaves = (0..<n).map { Fr(UInt64($0 * 7 + 3)) }
      let tree = try Poseidon2Tree(leaves: leaves)
      for i in 0..<n {
        let proof = try tree.proof(index: i)
        #expect(proof.path.count == tree.depth)
        #expect(proof.verify(leaf: leaves[i], root: tree.root), "n = \(n), i = \(i)")
        #expect(!proof.verify(leaf: leaves[i] + .one, root: tree.root))
        if n > 1 {
          var moved = proof
          moved.index = (i + 1) % n
          #expect(!moved.verify(leaf: leaves[i], root: tree.root))
        }
        var short = proof
        short.path.removeLast()
        #expect(!short.verify(leaf: leaves[i], root: tree.root))
      }
    }
  }

  @Test func errors() throws {
    #expect(throws: MerkleError.noLeaves) { try Poseidon2Tree(leaves: []) }
    #expect(throws: MerkleError.noLeaves) { try Poseidon2Tree.root(leaves: []) }
    let tree = try Poseidon2Tree(leaves: [1, 2, 3])
    #expect(throws: MerkleError.indexOutOfRange(index: 3, leafCount: 3)) { try tree.proof(index: 3) }
    #expect(throws: MerkleError.indexOutOfRange(index: -1, leafCount: 3)) { try tree.proof(index: -1) }
  }

  @Test func blockDigestTree() throws {
    let block = (0..<65536).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
    let cells = try BlockDigest.cellHashes(block: block)
    #expect(cells.count == 32)
    #expect(cells[5] == Poseidon2Sponge.digest(bytes: Array(block[(5 * 2048)..<(6 * 2048)])))
    let tree = try BlockDigest.tree(block: block)
    #expect(tree.depth == 5)
    #expect(try BlockDigest.digest(block: block) == tree.root)
    #expect(try BlockDigest.spongeMerkleDigest(bytes: block, chunkSize: 2048) == tree.root)
    // A short last chunk is allowed only for the sponge-Merkle digest.
    let short = Array(block[0..<5000])
    let expected = try Poseidon2Tree.root(leaves: [
      Poseidon2Sponge.digest(bytes: Array(short[0..<2048])), Poseidon2Sponge.digest(bytes: Array(short[2048..<4096])),
      Poseidon2Sponge.digest(bytes: Array(short[4096...])),
    ])
    #expect(try BlockDigest.spongeMerkleDigest(bytes: short, chunkSize: 2048) == expected)
  }

  @Test func blockDigestRejectsWrongCellSizes() {
    #expect(throws: MerkleError.blockNotMultipleOfCellSize(blockSize: 5000, cellSize: 2048)) {
      try BlockDigest.digest(block: [UInt8](repeating: 0, count: 5000))
    }
    #expect(throws: MerkleError.blockNotMultipleOfCellSize(blockSize: 0, cellSize: 2048)) {
      try BlockDigest.digest(block: [])
    }
    #expect(throws: MerkleError.invalidCellSize(0)) { try BlockDigest.digest(block: [0, 0], cellSize: 0) }
    #expect(throws: MerkleError.invalidCellSize(-4)) { try BlockDigest.cellHashes(block: [0, 0], cellSize: -4) }
    #expect(throws: MerkleError.noLeaves) { try BlockDigest.spongeMerkleDigest(bytes: [], chunkSize: 2048) }
  }
}
