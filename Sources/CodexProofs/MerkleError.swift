/// Why a Poseidon2 Merkle tree, proof or block digest could not be computed.
public enum MerkleError: Error, Equatable, Sendable, CustomStringConvertible {
  /// A tree needs at least one leaf.
  case noLeaves
  /// A leaf index outside `0 ..< leafCount`.
  case indexOutOfRange(index: Int, leafCount: Int)
  /// A proof path whose length does not match the tree depth.
  case wrongPathLength(expected: Int, actual: Int)
  /// The cell (chunk) size must be positive.
  case invalidCellSize(Int)
  /// A block must be a non-empty whole number of cells.
  case blockNotMultipleOfCellSize(blockSize: Int, cellSize: Int)

  public var description: String {
    switch self {
    case .noLeaves: return "a Merkle tree needs at least one leaf"
    case .indexOutOfRange(let index, let count): return "leaf index \(index) out of range 0..<\(count)"
    case .wrongPathLength(let expected, let actual):
      return "Merkle path has \(actual) entries, the tree depth is \(expected)"
    case .invalidCellSize(let size): return "cell size must be positive, got \(size)"
    case .blockNotMultipleOfCellSize(let blockSize, let cellSize):
      return "block of \(blockSize) bytes is not a non-empty multiple of the \(cellSize)-byte cell size"
    }
  }
}
