import Testing

@testable import CodexErasure

@Suite struct IndexingStrategyTests {
  /// Upstream examples (tests/codex/testindexingstrategy.nim): range 0..12, 3 iterations.
  @Test func upstreamExamples() throws {
    let linear = try IndexingStrategy(.linear, first: 0, last: 12, iterations: 3)
    #expect(linear.step == 5)
    #expect(try (0..<3).map { try linear.indices($0) } == [Array(0...4), Array(5...9), Array(10...12)])
    let stepped = try IndexingStrategy(.stepped, first: 0, last: 12, iterations: 3)
    #expect(try (0..<3).map { try stepped.indices($0) } == [[0, 3, 6, 9, 12], [1, 4, 7, 10], [2, 5, 8, 11]])
  }

  @Test func paddingIndices() throws {
    let s = try IndexingStrategy(.stepped, first: 0, last: 9, iterations: 3, groupCount: 3, padBlockCount: 2)
    // last + (i + 1) + k·groupCount
    #expect(try s.indices(0) == [0, 3, 6, 9, 10, 13])
    #expect(try s.indices(2) == [2, 5, 8, 12, 15])
    let l = try IndexingStrategy(.linear, first: 0, last: 9, iterations: 3, groupCount: 3, padBlockCount: 1)
    #expect(try l.indices(1) == [4, 5, 6, 7, 11])
  }

  @Test func linearWithEmptyTailIteration() throws {
    // 0...4 in 4 iterations: step 2 → [0,1], [2,3], [4], [] (upstream yields an empty iterator).
    let l = try IndexingStrategy(.linear, first: 0, last: 4, iterations: 4)
    #expect(try (0..<4).map { try l.indices($0) } == [[0, 1], [2, 3], [4], []])
  }

  @Test func errors() {
    #expect(throws: LayoutError.self) { try IndexingStrategy(.linear, first: 5, last: 4, iterations: 1) }
    #expect(throws: LayoutError.self) { try IndexingStrategy(.linear, first: 0, last: 4, iterations: 0) }
    #expect(throws: LayoutError.self) { try IndexingStrategy(.stepped, first: 0, last: 4, iterations: -1) }
    #expect(throws: LayoutError.self) {
      try IndexingStrategy(.stepped, first: 0, last: 4, iterations: 1, padBlockCount: -1)
    }
    #expect(throws: LayoutError.self) {
      try IndexingStrategy(.stepped, first: 0, last: 4, iterations: 1, groupCount: 0, padBlockCount: 1)
    }
    #expect(throws: LayoutError.self) { try IndexingStrategy(.stepped, first: 0, last: Int.max, iterations: 1) }
    let s = try? IndexingStrategy(.stepped, first: 0, last: 4, iterations: 2)
    #expect(throws: LayoutError.self) { try s?.indices(2) }
    #expect(throws: LayoutError.self) { try s?.indices(-1) }
  }

  @Test func hugeRangesDoNotTrap() throws {
    let s = try IndexingStrategy(.stepped, first: Int.max - 10, last: Int.max - 1, iterations: 3)
    #expect(try s.indices(0) == [Int.max - 10, Int.max - 7, Int.max - 4, Int.max - 1])
    let p = try IndexingStrategy(
      .stepped, first: 0, last: Int.max - 2, iterations: Int.max / 2, groupCount: Int.max, padBlockCount: 2)
    #expect(throws: LayoutError.self) { try p.indices(0) }
  }
}

@Suite struct SteppedLayoutTests {
  /// B = 10, K = 3, M = 2: rounded 12, steps 4, total 20.
  @Test func smallExample() throws {
    let l = try SteppedLayout(originalBlocks: 10, dataShards: 3, parityShards: 2)
    #expect((l.rounded, l.steps, l.total) == (12, 4, 20))
    #expect(try l.dataIndices(step: 1) == [1, 5, 9])
    #expect(try l.dataIndices(step: 2) == [2, 6, 10])
    #expect(try l.groupIndices(step: 3) == [3, 7, 11, 15, 19])
    #expect(try l.parityIndex(step: 0, parity: 0) == 12)
    #expect(try l.parityIndex(step: 3, parity: 1) == 19)
    #expect(try l.leaf(9) == .data(index: 9))
    #expect(try l.leaf(10) == .padding)
    #expect(try l.leaf(11) == .padding)
    #expect(try l.leaf(13) == .parity(step: 1, parity: 0))
    #expect(try l.leaf(18) == .parity(step: 2, parity: 1))
    #expect(l.isPadding(10) && !l.isPadding(9) && !l.isPadding(12))
    let leaves = try l.leaves(
      original: (0..<10).map { "d\($0)" }, parity: (0..<4).map { s in (0..<2).map { "p\(s).\($0)" } },
      padding: "empty")
    #expect(leaves[10] == "empty" && leaves[11] == "empty")
    #expect(leaves[12...] == ["p0.0", "p1.0", "p2.0", "p3.0", "p0.1", "p1.1", "p2.1", "p3.1"])
  }

  /// REST defaults (K = 2, M = 1) with an odd block count: the last group pairs a block with padding.
  @Test func restDefaultsOddCount() throws {
    let l = try SteppedLayout(originalBlocks: 5, dataShards: 2, parityShards: 1)
    #expect((l.rounded, l.steps, l.total) == (6, 3, 9))
    #expect(try l.dataIndices(step: 2) == [2, 5])
    #expect(try l.leaf(5) == .padding)
    #expect(try l.parityIndex(step: 2, parity: 0) == 8)
  }

  /// Random layouts: groups partition the leaf space, match the stepped strategy over the protected range,
  /// and parity/padding classification agrees with the formulas.
  @Test func randomLayoutsAreConsistent() throws {
    var rng = SplitMix(seed: 11)
    for _ in 0..<200 {
      let k = Int.random(in: 1...20, using: &rng)
      let m = Int.random(in: 1...k, using: &rng)
      let b = Int.random(in: k...200, using: &rng)
      let l = try SteppedLayout(originalBlocks: b, dataShards: k, parityShards: m)
      #expect(l.rounded % k == 0 && l.rounded >= b && l.rounded - b < k)
      #expect(l.total == l.rounded + l.steps * m)
      let strategy = try IndexingStrategy(.stepped, first: 0, last: l.total - 1, iterations: l.steps)
      var seen = [Int](repeating: 0, count: l.total)
      for s in 0..<l.steps {
        let group = try l.groupIndices(step: s)
        #expect(group == (try strategy.indices(s)))
        #expect(Array(group.prefix(k)) == (try l.dataIndices(step: s)))
        #expect(group.prefix(k).allSatisfy { $0 < l.rounded })
        for j in 0..<m {
          let p = try l.parityIndex(step: s, parity: j)
          #expect(p == l.rounded + s + j * l.steps && p == group[k + j])
          #expect(try l.leaf(p) == .parity(step: s, parity: j))
        }
        for (pos, idx) in group.enumerated() {
          seen[idx] += 1
          let loc = try l.locate(idx)
          #expect(loc.step == s && loc.position == pos)
        }
      }
      #expect(seen.allSatisfy { $0 == 1 })
    }
  }

  @Test func errors() {
    #expect(throws: LayoutError.insufficientBlocks(blocks: 2, required: 3)) {
      try SteppedLayout(originalBlocks: 2, dataShards: 3, parityShards: 1)
    }
    #expect(throws: LayoutError.self) { try SteppedLayout(originalBlocks: 10, dataShards: 2, parityShards: 3) }
    #expect(throws: LayoutError.self) { try SteppedLayout(originalBlocks: 10, dataShards: 0, parityShards: 0) }
    #expect(throws: LayoutError.self) { try SteppedLayout(originalBlocks: 10, dataShards: 3, parityShards: 0) }
    #expect(throws: LayoutError.self) { try SteppedLayout(originalBlocks: Int.max, dataShards: 3, parityShards: 3) }
    let l = try? SteppedLayout(originalBlocks: 10, dataShards: 3, parityShards: 2)
    #expect(throws: LayoutError.self) { try l?.parityIndex(step: 4, parity: 0) }
    #expect(throws: LayoutError.self) { try l?.parityIndex(step: 0, parity: 2) }
    #expect(throws: LayoutError.self) { try l?.leaf(20) }
    #expect(throws: LayoutError.self) { try l?.leaf(-1) }
    #expect(throws: LayoutError.self) { try l?.leaves(original: [1, 2], parity: [], padding: 0) }
    #expect(SteppedLayout.minimumDatasetSize(dataShards: 3, blockSize: 65536) == 196608)
  }
}
