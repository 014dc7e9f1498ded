/// A Poseidon2 Merkle authentication path: the sibling of each node from the leaf up (bottom first), with the zero
/// element where a node is the unpaired last node of its layer.
public struct Poseidon2Proof: Sendable, Hashable, Codable {
  /// Index of the proven leaf.
  public var index: Int
  /// Number of leaves in the tree.
  public var leafCount: Int
  /// Sibling path, bottom to top.
  public var path: [Fr]

  public init(index: Int, leafCount: Int, path: [Fr]) {
    self.index = index
    self.leafCount = leafCount
    self.path = path
  }

  /// The root obtained by hashing `leaf` up along the path (the bottom step uses the bottom-layer keys).
  /// Does not check the path length; use `verify` for that.
  public func reconstructRoot(leaf: Fr) -> Fr {
    Poseidon2Proof.reconstructRoot(leaf: leaf, index: index, leafCount: leafCount, path: path[...])
  }

  /// Reconstructs a root from a path slice (for combined block + slot paths).
  public static func reconstructRoot(leaf: Fr, index: Int, leafCount: Int, path: ArraySlice<Fr>) -> Fr {
    var h = leaf
    var j = index
    var m = leafCount
    var bottom = true
    for p in path {
      let pairKey = bottom ? Poseidon2Tree.Key.bottomLayer : Poseidon2Tree.Key.none
      if j & 1 == 1 {
        h = Poseidon2.compress(p, h, key: pairKey)
      } else if j == m - 1 {
        h = Poseidon2.compress(h, p, key: bottom ? Poseidon2Tree.Key.oddAndBottomLayer : Poseidon2Tree.Key.odd)
      } else {
        h = Poseidon2.compress(h, p, key: pairKey)
      }
      bottom = false
      j >>= 1
      m = (m + 1) >> 1
    }
    return h
  }

  /// `true` iff the index is in range, the path has the tree's depth and `leaf` hashes up to `root`.
  public func verify(leaf: Fr, root: Fr) -> Bool {
    guard leafCount >= 1, index >= 0, index < leafCount,
      path.count == Poseidon2Tree.depth(leafCount: leafCount)
    else { return false }
    return reconstructRoot(leaf: leaf) == root
  }
}
