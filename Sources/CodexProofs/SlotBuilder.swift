/// Slot and verify roots from block digests (nim-codex `Poseidon2Builder`, the hashing part): pure functions, plus
/// async wrappers that hash blocks in parallel off the caller's executor. Fetching blocks is the caller's job.
public enum SlotBuilder {
  /// The digest of an all-zero block (used for pad positions and empty-CID blocks).
  public static func zeroBlockDigest(blockSize: Int, cellSize: Int = BlockDigest.defaultCellSize)
    throws(MerkleError) -> Fr
  {
    try BlockDigest.digest(block: [UInt8](repeating: 0, count: max(0, blockSize)), cellSize: cellSize)
  }

  /// The slot tree over the digests of the slot's real blocks (in position order), padded with zero-block digests
  /// to `layout.numSlotBlocksTotal` leaves.
  /// - Throws: `SlotLayoutError.wrongDigestCount` unless there are `layout.numSlotBlocks` digests.
  public static func slotTree(blockDigests: [Fr], layout: SlotLayout) throws -> Poseidon2Tree {
    guard blockDigests.count == layout.numSlotBlocks else {
      throw SlotLayoutError.wrongDigestCount(expected: layout.numSlotBlocks, actual: blockDigests.count)
    }
    let pad = try zeroBlockDigest(blockSize: layout.blockSize, cellSize: layout.cellSize)
    return try Poseidon2Tree(leaves: blockDigests + [Fr](repeating: pad, count: layout.numPadSlotBlocks))
  }

  /// The verify tree over all slot roots, in slot order; its root is the manifest's `verifyRoot`.
  public static func verifyTree(slotRoots: [Fr]) throws(MerkleError) -> Poseidon2Tree {
    try Poseidon2Tree(leaves: slotRoots)
  }

  /// `true` iff the slot rebuilt from `blockDigests` has root `expectedRoot` (the host's check before filling a slot).
  public static func verifySlot(blockDigests: [Fr], layout: SlotLayout, expectedRoot: Fr) throws -> Bool {
    try slotTree(blockDigests: blockDigests, layout: layout).root == expectedRoot
  }

  /// The slot tree of a slot's real blocks (in position order; an empty-CID block must be passed as all zeros),
  /// hashing the blocks concurrently. Equivalent to `slotTree(blockDigests:layout:)` over their digests.
  /// - Throws: `SlotLayoutError.wrongDigestCount` for the wrong number of blocks, `MerkleError` for a block that is
  ///   not a whole number of cells.
  public static func slotTree(blocks: [[UInt8]], layout: SlotLayout, maxConcurrency: Int = 8) async throws
    -> Poseidon2Tree
  {
    guard blocks.count == layout.numSlotBlocks else {
      throw SlotLayoutError.wrongDigestCount(expected: layout.numSlotBlocks, actual: blocks.count)
    }
    let digests = try await blockDigests(of: blocks, cellSize: layout.cellSize, maxConcurrency: maxConcurrency)
    return try slotTree(blockDigests: digests, layout: layout)
  }

  /// Block digests of `blocks`, computed concurrently on the global executor (at most `maxConcurrency` at a time),
  /// returned in input order.
  public static func blockDigests(
    of blocks: [[UInt8]], cellSize: Int = BlockDigest.defaultCellSize, maxConcurrency: Int = 8
  ) async throws -> [Fr] {
    var out = [Fr](repeating: .zero, count: blocks.count)
    try await withThrowingTaskGroup(of: (Int, Fr).self) { group in
      var next = 0
      func submit() {
        let i = next
        let block = blocks[i]
        group.addTask { (i, try BlockDigest.digest(block: block, cellSize: cellSize)) }
        next += 1
      }
      while next < blocks.count && next < max(1, maxConcurrency) { submit() }
      while let (i, digest) = try await group.next() {
        out[i] = digest
        if next < blocks.count { submit() }
      }
    }
    return out
  }
}
