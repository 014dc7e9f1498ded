/// Builds storage-proof inputs from slot data held in memory (the prover side of `SampleVerifier`). Pure and
/// synchronous: the caller fetches the sampled blocks (e.g. from a `BlockStore`) and hands them in.
public enum ProofInputBuilder {
  /// The sample for `cellIndex`, given the bytes of the block that holds it and the slot tree.
  /// - Parameters:
  ///   - block: the slot block at position `cellIndex / cellsPerBlock` (all zeros for a pad position).
  ///   - slotTree: the slot tree (leaves = block digests, a power-of-two count).
  /// - Throws: `SamplerError` if the block size, cell size or index do not fit the slot tree.
  public static func sample(
    cellIndex: Int, block: [UInt8], slotTree: Poseidon2Tree, cellSize: Int = BlockDigest.defaultCellSize
  ) throws(SamplerError) -> CellSample {
    do {
      let blockTree = try BlockDigest.tree(block: block, cellSize: cellSize)
      let perBlock = blockTree.leafCount
      let cellInBlock = cellIndex % perBlock
      let blockProof = try blockTree.proof(index: cellInBlock)
      let slotProof = try slotTree.proof(index: cellIndex / perBlock)
      let cell = Array(block[(cellInBlock * cellSize)..<((cellInBlock + 1) * cellSize)])
      return CellSample(
        cellIndex: cellIndex, cellData: FieldBytes.elements(cell), merklePath: blockProof.path + slotProof.path)
    } catch {
      throw .merkle(error)
    }
  }

  /// A complete proof input for `slotIndex`.
  /// - Parameters:
  ///   - entropy: from `Sampler.entropy(challenge:)`.
  ///   - datasetTree: the verify tree over all slot roots.
  ///   - slotTree: the proven slot's tree (power-of-two leaves).
  ///   - blockSize: bytes per block; a multiple of `cellSize`.
  ///   - samples: number of cells to sample.
  ///   - block: returns the bytes of the slot block at a position (`0 ..< slotTree.leafCount`).
  public static func makeInput(
    entropy: Fr, slotIndex: Int, datasetTree: Poseidon2Tree, slotTree: Poseidon2Tree, blockSize: Int,
    cellSize: Int = BlockDigest.defaultCellSize, samples: Int = Sampler.defaultSampleCount,
    block: (Int) throws -> [UInt8]
  ) throws -> ProofInput {
    guard cellSize > 0 else { throw SamplerError.merkle(.invalidCellSize(cellSize)) }
    guard blockSize > 0, blockSize % cellSize == 0 else {
      throw SamplerError.merkle(.blockNotMultipleOfCellSize(blockSize: blockSize, cellSize: cellSize))
    }
    let perBlock = blockSize / cellSize
    let cellsPerSlot = slotTree.leafCount * perBlock
    let datasetProof: Poseidon2Proof
    do { datasetProof = try datasetTree.proof(index: slotIndex) } catch {
      throw SamplerError.slotIndexOutOfRange(index: slotIndex, slots: datasetTree.leafCount)
    }
    let indices = try Sampler.cellIndices(
      entropy: entropy, slotRoot: slotTree.root, cellCount: cellsPerSlot, samples: samples)
    var out: [CellSample] = []
    for index in indices {
      let bytes = try block(index / perBlock)
      guard bytes.count == blockSize else {
        throw SamplerError.wrongBlockSize(expected: blockSize, actual: bytes.count)
      }
      out.append(try sample(cellIndex: index, block: bytes, slotTree: slotTree, cellSize: cellSize))
    }
    return ProofInput(
      entropy: entropy, datasetRoot: datasetTree.root, slotIndex: slotIndex, slotRoot: slotTree.root,
      cellsPerSlot: cellsPerSlot, slotsPerDataset: datasetTree.leafCount, cellsPerBlock: perBlock,
      slotProof: datasetProof.path, samples: out)
  }
}
