/// The block digest ("sponge-Merkle") tree: a block is cut into cells, each cell is hashed with the rate-2 sponge
/// over its field elements, and the cell hashes are the leaves of a Poseidon2 tree. With 2048-byte cells and a
/// 64 KiB block that is 32 leaves and depth 5; the root is the block's digest (multihash `0xCD11`).
public enum BlockDigest {
  /// The Codex cell size in bytes (`DefaultCellSize`).
  public static let defaultCellSize = 2048
  /// Field elements per default cell (`DefaultCellElms`).
  public static let defaultCellElements = 67

  /// Sponge hashes of the cells of `block`.
  /// - Throws: `MerkleError.invalidCellSize` or `.blockNotMultipleOfCellSize` unless the block is a non-empty
  ///   whole number of cells.
  public static func cellHashes(block: UnsafeRawBufferPointer, cellSize: Int = defaultCellSize) throws(MerkleError)
    -> [Fr]
  {
    guard cellSize > 0 else { throw .invalidCellSize(cellSize) }
    guard block.count > 0, block.count % cellSize == 0 else {
      throw .blockNotMultipleOfCellSize(blockSize: block.count, cellSize: cellSize)
    }
    let cells = block.count / cellSize
    return [Fr](unsafeUninitializedCapacity: cells) { out, initialized in
      var first = 0
      if Poseidon2.usesIFMA {
        // Eight cells at a time on the batch kernel (one permutation per AVX-512 lane).
        while first + 8 <= cells {
          let group = (first..<(first + 8)).map { c in
            UnsafeRawBufferPointer(rebasing: block[(c * cellSize)..<((c + 1) * cellSize)])
          }
          spongeDigests8(group, into: UnsafeMutableBufferPointer(rebasing: out[first..<(first + 8)]))
          first += 8
        }
      }
      for c in first..<cells {
        let cell = UnsafeRawBufferPointer(rebasing: block[(c * cellSize)..<((c + 1) * cellSize)])
        out.initializeElement(at: c, to: Poseidon2Sponge.digest(bytes: cell))
      }
      initialized = cells
    }
  }

  /// Sponge hashes of the cells of `block`.
  public static func cellHashes(block: [UInt8], cellSize: Int = defaultCellSize) throws(MerkleError) -> [Fr] {
    try block.withUnsafeBytes { buf in
      Result { () throws(MerkleError) in try cellHashes(block: buf, cellSize: cellSize) }
    }
    .get()
  }

  /// The block digest tree (leaves = cell hashes).
  public static func tree(block: [UInt8], cellSize: Int = defaultCellSize) throws(MerkleError) -> Poseidon2Tree {
    try Poseidon2Tree(leaves: cellHashes(block: block, cellSize: cellSize))
  }

  /// The block digest (root of the block digest tree).
  public static func digest(block: UnsafeRawBufferPointer, cellSize: Int = defaultCellSize) throws(MerkleError)
    -> Fr
  {
    try Poseidon2Tree.root(leaves: cellHashes(block: block, cellSize: cellSize))
  }

  /// The block digest (root of the block digest tree).
  public static func digest(block: [UInt8], cellSize: Int = defaultCellSize) throws(MerkleError) -> Fr {
    try block.withUnsafeBytes { buf in Result { () throws(MerkleError) in try digest(block: buf, cellSize: cellSize) } }
      .get()
  }

  /// `SpongeMerkle.digest(bytes, chunkSize)`: like `digest(block:)` but the last chunk may be short.
  /// - Throws: `MerkleError.invalidCellSize` for a non-positive chunk size, `.noLeaves` for empty input.
  public static func spongeMerkleDigest(bytes: [UInt8], chunkSize: Int) throws(MerkleError) -> Fr {
    guard chunkSize > 0 else { throw .invalidCellSize(chunkSize) }
    let leaves: [Fr] = bytes.withUnsafeBytes { buf in
      stride(from: 0, to: buf.count, by: chunkSize).map { start in
        Poseidon2Sponge.digest(bytes: UnsafeRawBufferPointer(rebasing: buf[start..<min(start + chunkSize, buf.count)]))
      }
    }
    return try Poseidon2Tree.root(leaves: leaves)
  }
}
