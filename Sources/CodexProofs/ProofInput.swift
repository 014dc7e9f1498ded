/// One sampled cell: its index in the slot, its 67 field elements and the combined Merkle path (block-tree path of
/// `cellIndex mod cellsPerBlock` followed by the slot-tree path of `cellIndex / cellsPerBlock`).
public struct CellSample: Sendable, Hashable, Codable {
  /// Index of the cell within the slot.
  public var cellIndex: Int
  /// `FieldBytes.elements` of the cell's bytes.
  public var cellData: [Fr]
  /// Block-tree path then slot-tree path, bottom to top, unpadded.
  public var merklePath: [Fr]

  public init(cellIndex: Int, cellData: [Fr], merklePath: [Fr]) {
    self.cellIndex = cellIndex
    self.cellData = cellData
    self.merklePath = merklePath
  }
}

/// Everything a storage proof states, unpadded: the public values (entropy, dataset root, slot index), the slot's
/// place in the dataset and the sampled cells. `CircuitInput` is its zero-padded circom form.
public struct ProofInput: Sendable, Hashable, Codable {
  /// Entropy derived from the challenge (`Sampler.entropy`).
  public var entropy: Fr
  /// The verify root (root of the tree over all slot roots).
  public var datasetRoot: Fr
  /// The proven slot.
  public var slotIndex: Int
  /// The slot's root.
  public var slotRoot: Fr
  /// Cells per slot, a power of two (`pow2SlotCells`).
  public var cellsPerSlot: Int
  /// Number of slots in the dataset.
  public var slotsPerDataset: Int
  /// Cells per block (32 for 64 KiB blocks of 2048-byte cells; the circuit's block tree depth is 5).
  public var cellsPerBlock: Int
  /// Verify-tree path of `slotIndex`, unpadded.
  public var slotProof: [Fr]
  /// The samples, in counter order.
  public var samples: [CellSample]

  public init(
    entropy: Fr, datasetRoot: Fr, slotIndex: Int, slotRoot: Fr, cellsPerSlot: Int, slotsPerDataset: Int,
    cellsPerBlock: Int = 32, slotProof: [Fr], samples: [CellSample]
  ) {
    self.entropy = entropy
    self.datasetRoot = datasetRoot
    self.slotIndex = slotIndex
    self.slotRoot = slotRoot
    self.cellsPerSlot = cellsPerSlot
    self.slotsPerDataset = slotsPerDataset
    self.cellsPerBlock = cellsPerBlock
    self.slotProof = slotProof
    self.samples = samples
  }

  /// The public signals in circuit order `[entropy, dataSetRoot, slotIndex]`.
  public var publicSignals: [Fr] { [entropy, datasetRoot, Fr(UInt64(max(0, slotIndex)))] }
}
