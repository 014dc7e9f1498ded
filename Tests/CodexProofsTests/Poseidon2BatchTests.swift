import Testing

@testable import CodexProofs

@Suite("Poseidon2 batch (AVX-512 IFMA) kernel")
struct Poseidon2BatchTests {
  /// Edge elements: 0, 1, 2, p − 1, p − 2, p − 3, and values that land on 0 or p − 1 after the first constant.
  static let edges: [Fr] = {
    let minusOne = Fr.zero - .one
    let i0 = Poseidon2Constants.internal[0]
    let e0 = Poseidon2Constants.external[0]
    return [.zero, .one, Fr(2), minusOne, minusOne - .one, minusOne - Fr(2), -e0, minusOne - e0, -i0, minusOne - i0]
  }()

  /// About 400 states: every (edge, edge, edge) triple of the first six edges, the rest mixed with random values.
  static func states() -> [Fr] {
    var rng = SplitMix64(state: 0x1F3A)
    var out: [Fr] = []
    for x in edges.prefix(6) { for y in edges.prefix(6) { for z in edges.prefix(6) { out += [x, y, z] } } }
    for i in 0..<100 { out += [edges[i % edges.count], randomFr(&rng), edges[(i / 3) % edges.count]] }
    while out.count < 400 * 3 {
      // Products spread values over the whole field (randomFr stays below 2^253).
      out += [randomFr(&rng) * randomFr(&rng), randomFr(&rng) * randomFr(&rng), randomFr(&rng) + randomFr(&rng)]
    }
    return out
  }

  /// The scalar kernel on state `state` of a flat array of states.
  static func permuteScalar(_ v: inout [Fr], state s: Int) {
    var (a, b, c) = (v[3 * s], v[3 * s + 1], v[3 * s + 2])
    Poseidon2.permute(&a, &b, &c)
    (v[3 * s], v[3 * s + 1], v[3 * s + 2]) = (a, b, c)
  }

  @Test("the IFMA kernel runs on x86-64 CPUs that have it (CI machines do)")
  func availability() {
    var states = [Fr](repeating: .one, count: 24)
    let ran = Poseidon2.permuteBatch8IFMA(&states)
    #expect(ran == Poseidon2.usesIFMA)
    if !ran { #expect(states.allSatisfy { $0 == .one }) }
  }

  @Test("eight IFMA lanes equal the scalar kernel on ~400 edge and random states")
  func ifmaMatchesScalar() throws {
    guard Poseidon2.usesIFMA else {
      print("skipped: this CPU has no AVX-512 IFMA, so the batch kernel falls back to the scalar one")
      return
    }
    let all = Self.states()
    var checked = 0
    for group in stride(from: 0, to: all.count - 23, by: 24) {
      var batch = Array(all[group..<(group + 24)])
      var expected = batch
      for s in 0..<8 { Self.permuteScalar(&expected, state: s) }
      #expect(Poseidon2.permuteBatch8IFMA(&batch))
      for s in 0..<8 {
        #expect(batch[3 * s] == expected[3 * s], "state \(group / 3 + s) x")
        #expect(batch[3 * s + 1] == expected[3 * s + 1], "state \(group / 3 + s) y")
        #expect(batch[3 * s + 2] == expected[3 * s + 2], "state \(group / 3 + s) z")
      }
      checked += 8
    }
    #expect(checked >= 400)
  }

  @Test("the poseidon2.json permutation vector in every lane (and through permuteBatch)")
  func knownAnswerInEveryLane() throws {
    let json = try Vectors.json("poseidon2.json")
    let perm = try #require(json["permutation"] as? [String: Any])
    let input = try #require(perm["input"] as? [String]).map(fr)
    let output = try #require(perm["output"] as? [String]).map(fr)
    for lane in 0..<8 {
      // The vector in one lane, other lanes busy with different states.
      var batch = (0..<24).map { Fr(UInt64($0 * 7 + 1)) }
      batch[3 * lane] = input[0]
      batch[3 * lane + 1] = input[1]
      batch[3 * lane + 2] = input[2]
      if Poseidon2.usesIFMA {
        var ifma = batch
        #expect(Poseidon2.permuteBatch8IFMA(&ifma))
        #expect(Array(ifma[(3 * lane)..<(3 * lane + 3)]) == output, "IFMA lane \(lane)")
      }
      Poseidon2.permuteBatch(&batch)
      #expect(Array(batch[(3 * lane)..<(3 * lane + 3)]) == output, "permuteBatch lane \(lane)")
    }
  }

  @Test("permuteBatch equals permute for counts that are not multiples of eight")
  func batchWithRemainder() {
    let all = Self.states()
    for count in [0, 1, 7, 8, 9, 17, 30] {
      var batch = Array(all.prefix(3 * count))
      var expected = batch
      for s in 0..<count { Self.permuteScalar(&expected, state: s) }
      Poseidon2.permuteBatch(&batch)
      #expect(batch == expected, "count \(count)")
    }
  }

  @Test("block cell hashes (eight cells per batch call) equal one sponge per cell, for several cell sizes and counts")
  func cellHashesMatchSponge() throws {
    var rng = SplitMix64(state: 77)
    for (cellSize, cells) in [(2048, 32), (2048, 21), (64, 9), (62, 16), (31, 8), (1, 17)] {
      let block = (0..<(cellSize * cells)).map { _ in UInt8.random(in: 0...255, using: &rng) }
      let hashes = try BlockDigest.cellHashes(block: block, cellSize: cellSize)
      let expected = block.withUnsafeBytes { buf in
        (0..<cells).map { c in
          Poseidon2Sponge.digest(bytes: UnsafeRawBufferPointer(rebasing: buf[(c * cellSize)..<((c + 1) * cellSize)]))
        }
      }
      #expect(hashes == expected, "cell size \(cellSize), \(cells) cells")
    }
  }

  @Test("Merkle roots (layers compressed eight pairs per batch call) equal one compression at a time")
  func treeLayersMatchScalar() throws {
    var rng = SplitMix64(state: 99)
    for count in [1, 2, 15, 16, 17, 31, 33, 100, 257] {
      let leaves = (0..<count).map { _ in randomFr(&rng) }
      let expected = merkleRoot(leaves) { Poseidon2.permute(&$0, &$1, &$2) }
      #expect(try Poseidon2Tree.root(leaves: leaves) == expected, "\(count) leaves")
      #expect(try Poseidon2Tree(leaves: leaves).root == expected, "\(count) leaves (tree)")
    }
  }
}
