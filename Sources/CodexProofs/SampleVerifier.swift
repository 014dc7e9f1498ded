/// Why a set of samples does not prove possession of the slot.
public enum SampleVerificationError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The input's dataset root differs from the one the verifier trusts.
  case datasetRootMismatch
  /// The slot proof does not lead from the slot root to the dataset root.
  case slotNotInDataset
  /// The input has the wrong number of samples.
  case wrongSampleCount(expected: Int, actual: Int)
  /// A sample is not at the index the entropy and slot root select.
  case cellIndexMismatch(sample: Int, expected: Int, actual: Int)
  /// A sample's cell data and path do not lead to the slot root.
  case cellPathMismatch(sample: Int)
  /// Sizes are inconsistent (cell count, slot index, path length).
  case malformed(String)

  public var description: String {
    switch self {
    case .datasetRootMismatch: return "proof input names a different dataset root"
    case .slotNotInDataset: return "slot proof does not reconstruct the dataset root"
    case .wrongSampleCount(let expected, let actual): return "expected \(expected) samples, got \(actual)"
    case .cellIndexMismatch(let sample, let expected, let actual):
      return "sample \(sample) is cell \(actual), the challenge selects cell \(expected)"
    case .cellPathMismatch(let sample):
      return "sample \(sample): cell data and Merkle path do not reconstruct the slot root"
    case .malformed(let why): return "malformed proof input: \(why)"
    }
  }
}

/// Checks a set of sampled cells against a dataset root without a SNARK: the same statement the storage-proof
/// circuit proves (slot in dataset, indices derived from the entropy, each cell hashing up to the slot root).
public enum SampleVerifier {
  /// Verifies `input`; throws the first failure found.
  /// - Parameters:
  ///   - datasetRoot: the trusted dataset (verify) root; `nil` trusts `input.datasetRoot`.
  ///   - sampleCount: the required number of samples; `nil` accepts any positive number.
  public static func verify(_ input: ProofInput, datasetRoot: Fr? = nil, sampleCount: Int? = nil)
    throws(SampleVerificationError)
  {
    if let root = datasetRoot, root != input.datasetRoot { throw .datasetRootMismatch }
    guard input.slotsPerDataset >= 1, input.slotIndex >= 0, input.slotIndex < input.slotsPerDataset else {
      throw .malformed("slot index \(input.slotIndex) outside 0..<\(input.slotsPerDataset)")
    }
    let slotProof = Poseidon2Proof(index: input.slotIndex, leafCount: input.slotsPerDataset, path: input.slotProof)
    guard slotProof.verify(leaf: input.slotRoot, root: input.datasetRoot) else { throw .slotNotInDataset }

    let perBlock = input.cellsPerBlock
    guard perBlock >= 1, perBlock & (perBlock - 1) == 0, input.cellsPerSlot >= perBlock,
      input.cellsPerSlot % perBlock == 0
    else { throw .malformed("cells per block \(perBlock) does not divide cells per slot \(input.cellsPerSlot)") }
    let samples = input.samples
    if let expected = sampleCount, expected != samples.count {
      throw .wrongSampleCount(expected: expected, actual: samples.count)
    }
    guard !samples.isEmpty else { throw .wrongSampleCount(expected: sampleCount ?? 1, actual: 0) }
    let indices: [Int]
    do {
      indices = try Sampler.cellIndices(
        entropy: input.entropy, slotRoot: input.slotRoot, cellCount: input.cellsPerSlot, samples: samples.count)
    } catch { throw .malformed(error.description) }

    let blocksPerSlot = input.cellsPerSlot / perBlock
    let blockDepth = Poseidon2Tree.depth(leafCount: perBlock)
    let slotDepth = Poseidon2Tree.depth(leafCount: blocksPerSlot)
    for (k, sample) in samples.enumerated() {
      guard sample.cellIndex == indices[k] else {
        throw .cellIndexMismatch(sample: k, expected: indices[k], actual: sample.cellIndex)
      }
      guard sample.merklePath.count == blockDepth + slotDepth else { throw .cellPathMismatch(sample: k) }
      let leaf = Poseidon2Sponge.digest(sample.cellData)
      let blockRoot = Poseidon2Proof.reconstructRoot(
        leaf: leaf, index: sample.cellIndex % perBlock, leafCount: perBlock,
        path: sample.merklePath[0..<blockDepth])
      let root = Poseidon2Proof.reconstructRoot(
        leaf: blockRoot, index: sample.cellIndex / perBlock, leafCount: blocksPerSlot,
        path: sample.merklePath[blockDepth...])
      guard root == input.slotRoot else { throw .cellPathMismatch(sample: k) }
    }
  }

  /// Verifies a padded circuit input (indices re-derived from its entropy and slot root).
  public static func verify(_ input: CircuitInput, datasetRoot: Fr? = nil, sampleCount: Int? = nil)
    throws(SampleVerificationError)
  {
    let unpadded: ProofInput
    do { unpadded = try input.proofInput() } catch { throw .malformed(error.description) }
    try verify(unpadded, datasetRoot: datasetRoot, sampleCount: sampleCount)
  }
}
