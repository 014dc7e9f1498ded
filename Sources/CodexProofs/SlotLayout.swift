/// Why a dataset cannot be cut into slots.
public enum SlotLayoutError: Error, Equatable, Sendable, CustomStringConvertible {
  /// Counts and sizes must be positive.
  case nonPositive(String, Int)
  /// `blocksCount` must be a multiple of the number of slots.
  case blocksNotDivisibleBySlots(blocksCount: Int, slots: Int)
  /// `blockSize` must be a multiple of `cellSize`.
  case blockNotMultipleOfCellSize(blockSize: Int, cellSize: Int)
  /// The slot index is outside the dataset.
  case slotOutOfRange(slot: Int, slots: Int)
  /// A slot needs exactly one digest per real block.
  case wrongDigestCount(expected: Int, actual: Int)

  public var description: String {
    switch self {
    case .nonPositive(let what, let value): return "\(what) must be positive, got \(value)"
    case .blocksNotDivisibleBySlots(let blocks, let slots):
      return "\(blocks) blocks cannot be split evenly into \(slots) slots"
    case .blockNotMultipleOfCellSize(let blockSize, let cellSize):
      return "block size \(blockSize) is not a multiple of the cell size \(cellSize)"
    case .slotOutOfRange(let slot, let slots): return "slot \(slot) out of range 0..<\(slots)"
    case .wrongDigestCount(let expected, let actual):
      return "slot has \(expected) blocks but \(actual) block digests were given"
    }
  }
}

/// The geometry of a verifiable dataset (nim-codex `slots/builder`): how a protected manifest's blocks are cut into
/// `numSlots` slots with the Linear strategy, and how each slot is padded with zero blocks to a power-of-two number
/// of cells.
public struct SlotLayout: Sendable, Hashable {
  /// Blocks in the protected dataset (`steps · (K + M)`).
  public let blocksCount: Int
  /// Slots (`K + M`).
  public let numSlots: Int
  /// Bytes per block.
  public let blockSize: Int
  /// Bytes per cell (2048 in Codex).
  public let cellSize: Int

  /// - Throws: `SlotLayoutError` unless all values are positive, `blocksCount` divides evenly into slots and
  ///   blocks are whole cells.
  public init(blocksCount: Int, numSlots: Int, blockSize: Int, cellSize: Int = BlockDigest.defaultCellSize)
    throws(SlotLayoutError)
  {
    guard blocksCount > 0 else { throw .nonPositive("blocksCount", blocksCount) }
    guard numSlots > 0 else { throw .nonPositive("numSlots", numSlots) }
    guard blockSize > 0 else { throw .nonPositive("blockSize", blockSize) }
    guard cellSize > 0 else { throw .nonPositive("cellSize", cellSize) }
    guard blocksCount % numSlots == 0 else {
      throw .blocksNotDivisibleBySlots(blocksCount: blocksCount, slots: numSlots)
    }
    guard blockSize % cellSize == 0 else { throw .blockNotMultipleOfCellSize(blockSize: blockSize, cellSize: cellSize) }
    self.blocksCount = blocksCount
    self.numSlots = numSlots
    self.blockSize = blockSize
    self.cellSize = cellSize
  }

  /// Real (non-pad) blocks per slot.
  public var numSlotBlocks: Int { blocksCount / numSlots }
  /// Cells per block.
  public var numBlockCells: Int { blockSize / cellSize }
  /// Cells in a slot's real blocks.
  public var numSlotCells: Int { numSlotBlocks * numBlockCells }
  /// Cells per slot after padding: the next power of two ≥ `numSlotCells` (the sampler's `N`).
  public var pow2SlotCells: Int { SlotLayout.nextPowerOfTwo(numSlotCells) }
  /// Zero blocks appended to each slot.
  public var numPadSlotBlocks: Int { pow2SlotCells / numBlockCells - numSlotBlocks }
  /// Blocks per slot including padding (the slot tree's leaf count).
  public var numSlotBlocksTotal: Int { numSlotBlocks + numPadSlotBlocks }
  /// Bytes per slot including padding (`StorageAsk.slotSize`).
  public var slotBytes: Int { blockSize * numSlotBlocksTotal }

  /// Protected-tree indices of the slot's real blocks (Linear strategy): `slot·numSlotBlocks ..< (slot+1)·numSlotBlocks`.
  public func blockIndices(slot: Int) throws(SlotLayoutError) -> Range<Int> {
    guard slot >= 0, slot < numSlots else { throw .slotOutOfRange(slot: slot, slots: numSlots) }
    return (slot * numSlotBlocks)..<((slot + 1) * numSlotBlocks)
  }

  /// What fills a slot position.
  public enum Position: Sendable, Hashable {
    /// The protected-tree block at this index.
    case block(Int)
    /// An all-zero pad block.
    case pad
  }

  /// The slot's positions in order: its real blocks, then `numPadSlotBlocks` pads.
  public func positions(slot: Int) throws(SlotLayoutError) -> [Position] {
    try blockIndices(slot: slot).map { Position.block($0) }
      + [Position](repeating: .pad, count: numPadSlotBlocks)
  }

  /// The smallest power of two ≥ `n` (1 for `n ≤ 1`).
  public static func nextPowerOfTwo(_ n: Int) -> Int {
    guard n > 1 else { return 1 }
    return 1 << (Int.bitWidth - (n - 1).leadingZeroBitCount)
  }
}
