/// A Codex Poseidon2 Merkle tree (`codex/merkletree/poseidon2.nim`): pairs are combined with the keyed
/// compression `Poseidon2.compress`, using key 1 on the bottom layer and 0 above; the last, unpaired node of a
/// layer is compressed with the zero element under key 3 (bottom) or 2 (above). A one-leaf tree's root is
/// `compress(leaf, 0, key: 3)`, so every tree has depth ≥ 1. All layers are kept so proofs can be produced.
public struct Poseidon2Tree: Sendable, Hashable {
  /// Domain-separation keys.
  public enum Key {
    /// Two children on a layer above the bottom.
    public static let none: Fr = 0
    /// Two leaves.
    public static let bottomLayer: Fr = 1
    /// The unpaired last node of a layer above the bottom.
    public static let odd: Fr = 2
    /// The unpaired last leaf of the bottom layer.
    public static let oddAndBottomLayer: Fr = 3
  }

  /// Layers from the leaves (index 0) to the root layer (one element).
  public let layers: [[Fr]]

  /// Builds the tree over `leaves`.
  /// - Throws: `MerkleError.noLeaves` for an empty list.
  public init(leaves: [Fr]) throws(MerkleError) {
    guard !leaves.isEmpty else { throw .noLeaves }
    var layers = [leaves]
    var current = leaves
    var bottom = true
    while bottom || current.count > 1 {
      current = Poseidon2Tree.parentLayer(current, bottom: bottom)
      layers.append(current)
      bottom = false
    }
    self.layers = layers
  }

  /// The root.
  public var root: Fr { layers[layers.count - 1][0] }
  /// The leaves.
  public var leaves: [Fr] { layers[0] }
  /// Number of leaves.
  public var leafCount: Int { layers[0].count }
  /// Number of compression layers (= proof path length).
  public var depth: Int { layers.count - 1 }

  /// Depth of a tree with `leafCount ≥ 1` leaves: `max(1, ceil(log2(leafCount)))`.
  public static func depth(leafCount: Int) -> Int {
    var depth = 1
    var m = (leafCount + 1) >> 1
    while m > 1 {
      m = (m + 1) >> 1
      depth += 1
    }
    return depth
  }

  /// The authentication path for leaf `index` (bottom to top; `0` where the sibling does not exist).
  /// - Throws: `MerkleError.indexOutOfRange`.
  public func proof(index: Int) throws(MerkleError) -> Poseidon2Proof {
    guard index >= 0 && index < leafCount else { throw .indexOutOfRange(index: index, leafCount: leafCount) }
    var path: [Fr] = []
    path.reserveCapacity(depth)
    var k = index
    for layer in layers.dropLast() {
      let j = k ^ 1
      path.append(j < layer.count ? layer[j] : .zero)
      k >>= 1
    }
    return Poseidon2Proof(index: index, leafCount: leafCount, path: path)
  }

  /// The root of the tree over `leaves`, computed without keeping the layers.
  /// - Throws: `MerkleError.noLeaves` for an empty list.
  public static func root(leaves: [Fr]) throws(MerkleError) -> Fr {
    guard !leaves.isEmpty else { throw .noLeaves }
    var current = parentLayer(leaves, bottom: true)
    while current.count > 1 { current = parentLayer(current, bottom: false) }
    return current[0]
  }

  /// The Merkle root of `FieldBytes.elements(bytes)` (never empty, so never throws).
  public static func root(bytes: [UInt8]) -> Fr {
    let elements = FieldBytes.elements(bytes)
    var current = parentLayer(elements, bottom: true)
    while current.count > 1 { current = parentLayer(current, bottom: false) }
    return current[0]
  }

  /// One layer up.
  static func parentLayer(_ xs: [Fr], bottom: Bool) -> [Fr] {
    let m = xs.count
    let pairKey = bottom ? Key.bottomLayer : Key.none
    let oddKey = bottom ? Key.oddAndBottomLayer : Key.odd
    return [Fr](unsafeUninitializedCapacity: (m + 1) / 2) { out, initialized in
      xs.withUnsafeBufferPointer { x in
        var first = 0
        if Poseidon2.usesIFMA && m >= 16 {
          // Eight compressions per batch-kernel call (one permutation per AVX-512 lane).
          var states = [Fr](repeating: pairKey, count: 24)
          var words = [UInt64](repeating: 0, count: 96)
          states.withUnsafeMutableBufferPointer { st in
            words.withUnsafeMutableBufferPointer { w in
              while first + 8 <= m / 2 {
                for lane in 0..<8 {
                  st[3 * lane] = x[2 * (first + lane)]
                  st[3 * lane + 1] = x[2 * (first + lane) + 1]
                  st[3 * lane + 2] = pairKey
                }
                Poseidon2.permuteBatch8(st, words: w)
                for lane in 0..<8 { out.initializeElement(at: first + lane, to: st[3 * lane]) }
                first += 8
              }
            }
          }
        }
        for i in first..<(m / 2) {
          out.initializeElement(at: i, to: Poseidon2.compress(x[2 * i], x[2 * i + 1], key: pairKey))
        }
        if m & 1 == 1 {
          out.initializeElement(at: m / 2, to: Poseidon2.compress(x[m - 1], .zero, key: oddKey))
        }
      }
      initialized = (m + 1) / 2
    }
  }
}
