import CodexFormats
import Multiformats

/// The nodes of one dataset tree learnt from checked proofs, so that proofs can be assembled for leaves that were
/// recovered by erasure decoding (and never came with a proof of their own).
///
/// Every node recorded comes from a leaf whose proof verified against the root, so it is a node of the real tree.
/// A proof assembled from them (plus, at the bottom level, digests of other recovered leaves) is accepted only when
/// it verifies against the root; then, by collision resistance, every digest on its path is right too.
struct ProofBook: Sendable {
  /// The tree's leaf count.
  let leafCount: Int
  /// The tree's root digest (SHA-256).
  let root: [UInt8]
  /// Levels below the root (a proof's path length).
  let depth: Int
  /// Known nodes per level: position → digest.
  private var levels: [[Int: [UInt8]]]

  init(tree: Cid, leafCount: Int) {
    self.leafCount = leafCount
    self.root = tree.multihash.digest
    var d = 0
    var m = leafCount
    repeat {
      m = (m + 1) >> 1
      d += 1
    } while m > 1
    depth = d
    levels = Array(repeating: [:], count: d + 1)
  }

  /// Records the nodes along a checked proof of leaf `digest` (the caller has verified it against `root`).
  mutating func add(leaf digest: [UInt8], proof: CodexProof) {
    guard proof.leafCount == leafCount, proof.path.count == depth, proof.index >= 0, proof.index < leafCount
    else { return }
    var h = digest
    var j = proof.index
    var m = leafCount
    levels[0][j] = h
    for (l, p) in proof.path.enumerated() {
      let key: UInt8 = l == 0 ? 1 : 0
      if j & 1 == 1 {
        levels[l][j ^ 1] = p
        h = CodexTree.compress(p, h, key: key)
      } else if j == m - 1 {
        h = CodexTree.compress(h, p, key: key + 2)
      } else {
        levels[l][j ^ 1] = p
        h = CodexTree.compress(h, p, key: key)
      }
      j >>= 1
      m = (m + 1) >> 1
      levels[l + 1][j] = h
    }
  }

  /// A proof for leaf `index` whose bytes hash to `digest`, assembled from known nodes (and, for the bottom
  /// sibling, from `extra`: digests of other recovered leaves, index → digest), if it verifies against the root.
  /// - Returns: nil when a node is unknown; `.failure` when the assembled proof does not verify (the leaf or an
  ///   `extra` digest it used is wrong).
  func proof(for index: Int, leaf digest: [UInt8], extra: [Int: [UInt8]] = [:]) -> Result<CodexProof, Mismatch>? {
    guard index >= 0, index < leafCount else { return nil }
    var path: [[UInt8]] = []
    path.reserveCapacity(depth)
    var j = index
    var m = leafCount
    for l in 0..<depth {
      let s = j ^ 1
      if s >= m {
        path.append([UInt8](repeating: 0, count: 32))
      } else if let node = levels[l][s] ?? (l == 0 ? extra[s] : nil) {
        path.append(node)
      } else {
        return nil
      }
      j >>= 1
      m = (m + 1) >> 1
    }
    let proof = CodexProof(mcodec: .sha2_256, index: index, leafCount: leafCount, path: path)
    guard let computed = try? proof.reconstructRoot(leaf: digest), computed == root else {
      return .failure(Mismatch())
    }
    return .success(proof)
  }

  /// An assembled proof did not lead to the root.
  struct Mismatch: Error, Equatable {}
}
