import Crypto
import Multiformats

/// The SHA-256 dataset Merkle tree (`formats.md` §4.1, §4.3).
///
/// Leaves are 32-byte block digests. Pairs on the bottom layer are compressed with key 1, above with key 0; an
/// unpaired last node is compressed with 32 zero bytes and key 3 (bottom) or 2. A one-leaf tree's root is
/// `compress(leaf, ZERO, 3)`. Layers are kept as flat byte buffers so a million-leaf tree is one allocation per
/// layer.
public struct CodexTree: Sendable {
  /// Domain-separation keys.
  public enum Key: UInt8, Sendable {
    case none = 0, bottomLayer = 1, odd = 2, oddAndBottomLayer = 3
  }

  public static let digestSize = 32
  static let zero = [UInt8](repeating: 0, count: 32)

  /// Every layer, bottom first; layer `i` holds `layerSizes[i]` digests of 32 bytes back to back.
  let layers: [[UInt8]]
  /// The number of leaves.
  public let leafCount: Int

  /// Builds the tree.
  /// - Throws: `FormatError.invalidTree` with no leaves or a leaf that is not 32 bytes.
  public init(leaves: [[UInt8]]) throws(FormatError) {
    guard !leaves.isEmpty else { throw .invalidTree("a tree needs at least one leaf") }
    var flat: [UInt8] = []
    flat.reserveCapacity(leaves.count * 32)
    for leaf in leaves {
      guard leaf.count == 32 else { throw .invalidTree("leaves must be 32-byte digests, got \(leaf.count) bytes") }
      flat += leaf
    }
    try self.init(flatLeaves: flat)
  }

  /// Builds the tree from leaves laid back to back (`32 × n` bytes).
  public init(flatLeaves: [UInt8]) throws(FormatError) {
    guard !flatLeaves.isEmpty, flatLeaves.count % 32 == 0 else {
      throw .invalidTree("leaf bytes must be a non-zero multiple of 32, got \(flatLeaves.count)")
    }
    leafCount = flatLeaves.count / 32
    var layers = [flatLeaves]
    var bottom = true
    while true {
      let current = layers[layers.count - 1]
      let m = current.count / 32
      if !bottom && m == 1 { break }
      var parent = [UInt8](repeating: 0, count: (m + 1) / 2 * 32)
      current.withUnsafeBytes { src in
        parent.withUnsafeMutableBytes { dst in
          for i in 0..<(m / 2) {
            CodexTree.compress(
              src.baseAddress! + 64 * i, src.baseAddress! + 64 * i + 32, key: bottom ? 1 : 0,
              into: dst.baseAddress! + 32 * i)
          }
          if m % 2 == 1 {
            CodexTree.zero.withUnsafeBytes { z in
              CodexTree.compress(
                src.baseAddress! + 32 * (m - 1), z.baseAddress!, key: bottom ? 3 : 2,
                into: dst.baseAddress! + 32 * (m / 2))
            }
          }
        }
      }
      layers.append(parent)
      bottom = false
    }
    self.layers = layers
  }

  /// The root digest.
  public var root: [UInt8] { layers[layers.count - 1] }

  /// The root as a `codex-root` CID.
  public var rootCid: Cid { Codex.treeCid(root: root) }

  /// Number of layers below the root (a one-leaf tree has depth 1).
  public var depth: Int { layers.count - 1 }

  /// Leaf `index` (32 bytes).
  public func leaf(_ index: Int) -> [UInt8] { Array(layers[0][32 * index..<32 * index + 32]) }

  /// The proof for leaf `index`.
  public func proof(for index: Int) throws(FormatError) -> CodexProof {
    guard index >= 0 && index < leafCount else {
      throw .invalidTree("leaf index \(index) out of range 0..<\(leafCount)")
    }
    var path: [[UInt8]] = []
    var k = index
    for layer in layers.dropLast() {
      let j = k ^ 1
      path.append(j < layer.count / 32 ? Array(layer[32 * j..<32 * j + 32]) : CodexTree.zero)
      k >>= 1
    }
    return CodexProof(mcodec: .sha2_256, index: index, leafCount: leafCount, path: path)
  }

  /// `SHA-256(x ‖ y ‖ key)`.
  public static func compress(_ x: [UInt8], _ y: [UInt8], key: UInt8) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: 32)
    x.withUnsafeBytes { xb in
      y.withUnsafeBytes { yb in
        out.withUnsafeMutableBytes { ob in
          compress(xb.baseAddress!, yb.baseAddress!, key: key, into: ob.baseAddress!)
        }
      }
    }
    return out
  }

  @inline(__always)
  static func compress(
    _ x: UnsafeRawPointer, _ y: UnsafeRawPointer, key: UInt8, into out: UnsafeMutableRawPointer
  ) {
    var hasher = SHA256()
    hasher.update(bufferPointer: UnsafeRawBufferPointer(start: x, count: 32))
    hasher.update(bufferPointer: UnsafeRawBufferPointer(start: y, count: 32))
    withUnsafeBytes(of: key) { hasher.update(bufferPointer: $0) }
    let digest = hasher.finalize()
    digest.withUnsafeBytes { out.copyMemory(from: $0.baseAddress!, byteCount: 32) }
  }
}
