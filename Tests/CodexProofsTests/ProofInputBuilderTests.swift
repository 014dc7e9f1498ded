import Testing

import CodexProofs

/// A small synthetic dataset: `slots` slots of `blocks` blocks (power of two) of `blockSize` bytes.
struct SyntheticDataset {
  let blockSize: Int
  let slotBlocks: [[[UInt8]]]
  let slotTrees: [Poseidon2Tree]
  let datasetTree: Poseidon2Tree

  init(slots: Int, blocks: Int, blockSize: Int, seed: UInt64) throws {
    var rng = SplitMix64(state: seed)
    self.blockSize = blockSize
    slotBlocks = (0..<slots).map { _ in
      (0..<blocks).map { _ in (0..<blockSize).map { _ in UInt8.random(in: 0...255, using: &rng) } }
    }
    slotTrees = try slotBlocks.map { blocks in
      try Poseidon2Tree(leaves: blocks.map { try BlockDigest.digest(block: $0) })
    }
    datasetTree = try Poseidon2Tree(leaves: slotTrees.map(\.root))
  }

  func input(entropy: Fr, slot: Int, samples: Int = 5) throws -> ProofInput {
    try ProofInputBuilder.makeInput(
      entropy: entropy, slotIndex: slot, datasetTree: datasetTree, slotTrees[slot], blockSize: blockSize,
      samples: samples
    ) { slotBlocks[slot][$0] }
  }
}

extension ProofInputBuilder {
  fileprivate static func makeInput(
    entropy: Fr, slotIndex: Int, datasetTree: Poseidon2Tree, _ slotTree: Poseidon2Tree, blockSize: Int, samples: Int,
    block: (Int) throws -> [UInt8]
  ) throws -> ProofInput {
    try makeInput(
      entropy: entropy, slotIndex: slotIndex, datasetTree: datasetTree, slotTree: slotTree, blockSize: blockSize,
      samples: samples, block: block)
  }
}

@Suite struct ProofInputBuilderTests {
  @Test func builtInputVerifiesAndCellByteChangesAreCaught() throws {
    // 3 slots × 4 blocks of 4 cells (8 KiB blocks) keep the debug build fast.
    let data = try SyntheticDataset(slots: 3, blocks: 4, blockSize: 8192, seed: 11)
    let entropy = try Sampler.entropy(challenge: (0..<32).map { UInt8($0 * 3) })
    for slot in 0..<3 {
      let input = try data.input(entropy: entropy, slot: slot)
      #expect(input.cellsPerSlot == 16 && input.cellsPerBlock == 4)
      try SampleVerifier.verify(input, datasetRoot: data.datasetTree.root, sampleCount: 5)

      // Flip one byte of the first sampled cell and re-derive its elements.
      let index = input.samples[0].cellIndex
      var block = data.slotBlocks[slot][index / 4]
      block[(index % 4) * 2048 + 100] ^= 0x40
      var tampered = input
      tampered.samples[0].cellData = FieldBytes.elements(block[((index % 4) * 2048)..<((index % 4 + 1) * 2048)])
      #expect(throws: SampleVerificationError.cellPathMismatch(sample: 0)) { try SampleVerifier.verify(tampered) }

      // A genuine sample of another cell in the sampled position is rejected for its index.
      var swapped = input
      let other = (index + 1) % 16
      swapped.samples[0] = try ProofInputBuilder.sample(
        cellIndex: other, block: data.slotBlocks[slot][other / 4], slotTree: data.slotTrees[slot])
      #expect(throws: SampleVerificationError.cellIndexMismatch(sample: 0, expected: index, actual: other)) {
        try SampleVerifier.verify(swapped)
      }

      // Another challenge selects other cells.
      var otherEntropy = input
      otherEntropy.entropy += .one
      #expect(throws: SampleVerificationError.self) { try SampleVerifier.verify(otherEntropy) }
    }
  }

  @Test func paddedCircuitInputFromDefaultBlocks() throws {
    // Two 64 KiB blocks per slot → 64 cells: exercises the circuit-shaped input (32 cells per block, 67 elements).
    let data = try SyntheticDataset(slots: 2, blocks: 2, blockSize: 65536, seed: 3)
    let input = try data.input(entropy: 99, slot: 1, samples: 2)
    let circuit = try CircuitInput(input)
    #expect(circuit.merklePaths.allSatisfy { $0.count == 32 })
    #expect(circuit.slotProof.count == 8)
    #expect(circuit.cellData.allSatisfy { $0.count == 67 })
    try SampleVerifier.verify(circuit, datasetRoot: data.datasetTree.root, sampleCount: 2)
    #expect(try circuit.proofInput() == input)
  }

  @Test func builderErrors() throws {
    let data = try SyntheticDataset(slots: 2, blocks: 2, blockSize: 4096, seed: 5)
    #expect(throws: SamplerError.slotIndexOutOfRange(index: 2, slots: 2)) {
      try ProofInputBuilder.makeInput(
        entropy: 1, slotIndex: 2, datasetTree: data.datasetTree, slotTree: data.slotTrees[0], blockSize: 4096
      ) { data.slotBlocks[0][$0] }
    }
    #expect(throws: SamplerError.wrongBlockSize(expected: 4096, actual: 10)) {
      try ProofInputBuilder.makeInput(
        entropy: 1, slotIndex: 0, datasetTree: data.datasetTree, slotTree: data.slotTrees[0], blockSize: 4096
      ) { _ in [UInt8](repeating: 0, count: 10) }
    }
    #expect(throws: CircuitInputError.unsupportedCellsPerBlock(2)) {
      try CircuitInput(try data.input(entropy: 1, slot: 0))
    }
  }
}
