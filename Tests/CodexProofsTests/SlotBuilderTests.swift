import Testing

import CodexProofs

@Suite struct SlotBuilderTests {
  @Test func layoutQuantities() throws {
    // K + M = 5 slots, 3 steps of 64 KiB blocks: 96 cells → 128, one pad block per slot.
    let layout = try SlotLayout(blocksCount: 15, numSlots: 5, blockSize: 65536)
    #expect(layout.numSlotBlocks == 3)
    #expect(layout.numBlockCells == 32)
    #expect(layout.numSlotCells == 96)
    #expect(layout.pow2SlotCells == 128)
    #expect(layout.numPadSlotBlocks == 1)
    #expect(layout.numSlotBlocksTotal == 4)
    #expect(layout.slotBytes == 262_144)
    #expect(try layout.blockIndices(slot: 1) == 3..<6)
    #expect(try layout.positions(slot: 4) == [.block(12), .block(13), .block(14), .pad])
    // Already a power of two: no padding.
    let even = try SlotLayout(blocksCount: 12, numSlots: 3, blockSize: 65536)
    #expect(even.pow2SlotCells == 128 && even.numPadSlotBlocks == 0 && even.numSlotBlocksTotal == 4)
    // One block per slot.
    let single = try SlotLayout(blocksCount: 2, numSlots: 2, blockSize: 65536)
    #expect(single.pow2SlotCells == 32 && single.numSlotBlocksTotal == 1)
    #expect([0, 1, 2, 3, 5, 17, 1024, 1025].map(SlotLayout.nextPowerOfTwo) == [1, 1, 2, 4, 8, 32, 1024, 2048])
  }

  @Test func asyncBuilderErrors() async throws {
    let layout = try SlotLayout(blocksCount: 4, numSlots: 2, blockSize: 4096)
    await #expect(throws: SlotLayoutError.wrongDigestCount(expected: 2, actual: 1)) {
      try await SlotBuilder.slotTree(blocks: [[UInt8](repeating: 0, count: 4096)], layout: layout)
    }
    await #expect(throws: MerkleError.blockNotMultipleOfCellSize(blockSize: 100, cellSize: 2048)) {
      try await SlotBuilder.slotTree(
        blocks: [[UInt8](repeating: 0, count: 4096), [UInt8](repeating: 1, count: 100)], layout: layout)
    }
  }

  @Test func layoutErrors() throws {
    #expect(throws: SlotLayoutError.blocksNotDivisibleBySlots(blocksCount: 10, slots: 3)) {
      try SlotLayout(blocksCount: 10, numSlots: 3, blockSize: 65536)
    }
    #expect(throws: SlotLayoutError.blockNotMultipleOfCellSize(blockSize: 3000, cellSize: 2048)) {
      try SlotLayout(blocksCount: 4, numSlots: 2, blockSize: 3000)
    }
    #expect(throws: SlotLayoutError.nonPositive("numSlots", 0)) {
      try SlotLayout(blocksCount: 4, numSlots: 0, blockSize: 65536)
    }
    let layout = try SlotLayout(blocksCount: 4, numSlots: 2, blockSize: 65536)
    #expect(throws: SlotLayoutError.slotOutOfRange(slot: 2, slots: 2)) { try layout.blockIndices(slot: 2) }
    #expect(throws: SlotLayoutError.wrongDigestCount(expected: 2, actual: 1)) {
      try SlotBuilder.slotTree(blockDigests: [1], layout: layout)
    }
  }

  @Test func paddedSlotsBuildAndSamplesVerify() async throws {
    // 3 slots × 3 blocks of 8 KiB (4 cells): 12 cells → 16, one zero pad block per slot.
    let layout = try SlotLayout(blocksCount: 9, numSlots: 3, blockSize: 8192)
    #expect(layout.numPadSlotBlocks == 1)
    var rng = SplitMix64(state: 21)
    let dataset: [[UInt8]] = (0..<9).map { _ in (0..<8192).map { _ in UInt8.random(in: 0...255, using: &rng) } }
    let digests = try await SlotBuilder.blockDigests(of: dataset, maxConcurrency: 2)
    #expect(digests == (try dataset.map { try BlockDigest.digest(block: $0) }))

    let zero = try SlotBuilder.zeroBlockDigest(blockSize: 8192)
    #expect(zero == (try BlockDigest.digest(block: [UInt8](repeating: 0, count: 8192))))
    var slotTrees: [Poseidon2Tree] = []
    for slot in 0..<3 {
      let indices = try layout.blockIndices(slot: slot)
      let tree = try SlotBuilder.slotTree(blockDigests: Array(digests[indices]), layout: layout)
      #expect(tree.leafCount == 4)
      #expect(tree.leaves[3] == zero)
      #expect(
        try SlotBuilder.verifySlot(blockDigests: Array(digests[indices]), layout: layout, expectedRoot: tree.root))
      slotTrees.append(tree)
    }
    #expect(
      !(try SlotBuilder.verifySlot(blockDigests: Array(digests[0..<3]), layout: layout, expectedRoot: slotTrees[1].root))
    )
    let verifyTree = try SlotBuilder.verifyTree(slotRoots: slotTrees.map(\.root))

    // Sample every slot with many samples so pad positions are hit too; all must verify.
    var padSamples = 0
    for slot in 0..<3 {
      let positions = try layout.positions(slot: slot)
      let input = try ProofInputBuilder.makeInput(
        entropy: Fr(UInt64(1000 + slot)), slotIndex: slot, datasetTree: verifyTree, slotTree: slotTrees[slot],
        blockSize: layout.blockSize, samples: 12
      ) { position in
        switch positions[position] {
        case .block(let index): return dataset[index]
        case .pad: return [UInt8](repeating: 0, count: layout.blockSize)
        }
      }
      #expect(input.cellsPerSlot == layout.pow2SlotCells)
      try SampleVerifier.verify(input, datasetRoot: verifyTree.root, sampleCount: 12)
      padSamples += input.samples.filter { $0.cellIndex >= layout.numSlotCells }.count
    }
    #expect(padSamples > 0)
  }
}
