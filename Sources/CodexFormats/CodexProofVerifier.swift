import Multiformats

/// Checks many inclusion proofs against one SHA-256 Codex tree root, hashing each inner node once when several
/// proofs pass through it with the same inputs. Proofs of neighbouring leaves (a block-exchange message carries runs
/// of consecutive leaves) share all but their lowest levels, so a run of 20 costs ~30 compressions instead of ~280.
///
/// Contract: `verify(_:leaf:)` answers exactly what `CodexProof.verify(leaf:root:)` answers for the same inputs. A
/// node is reused only when its two children and key are byte-identical to an earlier computation at the same
/// position, so a wrong or forged proof never borrows a result it did not earn. Memory grows with the distinct
/// nodes seen; use one verifier per batch (e.g. per message).
public struct CodexProofVerifier: Sendable {
  /// The tree root proofs are checked against.
  public let root: Multihash
  private var memo: [NodeKey: Node] = [:]

  private struct NodeKey: Hashable {
    let level: Int
    let index: Int
  }

  private struct Node {
    let input: [UInt8]
    let output: [UInt8]
  }

  public init(root: Multihash) {
    self.root = root
  }

  /// True if `leaf` is at `proof.index` of the tree whose root is `root` (same rules as `CodexProof.verify`).
  public mutating func verify(_ proof: CodexProof, leaf: Multihash) -> Bool {
    guard proof.mcodec == .sha2_256, leaf.code == proof.mcodec, root.code == proof.mcodec else {
      return proof.verify(leaf: leaf, root: root)
    }
    var input = [UInt8]()
    input.reserveCapacity(65)
    let computed = try? proof.foldPath(leaf: leaf.digest) { level, parent, left, right, key in
      input.removeAll(keepingCapacity: true)
      input.append(contentsOf: left)
      input.append(contentsOf: right)
      input.append(key)
      let at = NodeKey(level: level, index: parent)
      if let known = memo[at], known.input == input { return known.output }
      let output = SHA256Hashing.digest(input)
      memo[at] = Node(input: input, output: output)
      return output
    }
    return computed == root.digest
  }
}
