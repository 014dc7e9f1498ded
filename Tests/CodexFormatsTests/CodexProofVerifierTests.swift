import Multiformats
import Testing

@testable import CodexFormats

@Suite struct CodexProofVerifierTests {
  static func leaves(_ n: Int) -> [[UInt8]] {
    (0..<n).map { i in SHA256Hashing.digest(Array("leaf \(i)".utf8)) }
  }

  static func mh(_ digest: [UInt8]) -> Multihash { Multihash(code: .sha2_256, digest: digest) }

  @Test("one verifier checks every proof of a tree, odd sizes included, like CodexProof.verify")
  func agreesWithSingleVerify() throws {
    for n in [1, 2, 3, 7, 20, 33] {
      let leaves = Self.leaves(n)
      let tree = try CodexTree(leaves: leaves)
      var verifier = CodexProofVerifier(root: Self.mh(tree.root))
      for i in 0..<n {
        let p = try tree.proof(for: i)
        let ok = verifier.verify(p, leaf: Self.mh(leaves[i]))
        #expect(ok, "leaf \(i) of \(n)")
        #expect(p.verify(leaf: Self.mh(leaves[i]), root: Self.mh(tree.root)))
      }
    }
  }

  @Test("shared nodes never let a wrong leaf, a tampered path or a wrong root pass")
  func rejectsAfterSharing() throws {
    let leaves = Self.leaves(20)
    let tree = try CodexTree(leaves: leaves)
    var verifier = CodexProofVerifier(root: Self.mh(tree.root))
    for i in 0..<20 {
      let ok = verifier.verify(try tree.proof(for: i), leaf: Self.mh(leaves[i]))
      #expect(ok)
    }
    // Same verifier, its memo full of the right nodes.
    for i in 0..<20 {
      let p = try tree.proof(for: i)
      let wrongLeaf = verifier.verify(p, leaf: Self.mh(leaves[(i + 1) % 20]))
      #expect(!wrongLeaf, "wrong leaf at \(i)")
      for level in p.path.indices {
        var path = p.path
        path[level][7] ^= 0x40
        let forged = CodexProof(mcodec: p.mcodec, index: p.index, leafCount: p.leafCount, path: path)
        let tampered = verifier.verify(forged, leaf: Self.mh(leaves[i]))
        #expect(!tampered, "tampered level \(level) at \(i)")
      }
      let moved = CodexProof(mcodec: p.mcodec, index: (i + 2) % 20, leafCount: 20, path: p.path)
      let wrongIndex = verifier.verify(moved, leaf: Self.mh(leaves[i]))
      #expect(!wrongIndex, "wrong index for \(i)")
      let short = CodexProof(mcodec: p.mcodec, index: p.index, leafCount: 20, path: Array(p.path.dropLast()))
      let shortPath = verifier.verify(short, leaf: Self.mh(leaves[i]))
      #expect(!shortPath)
    }
    var other = CodexProofVerifier(root: Self.mh(SHA256Hashing.digest([1, 2, 3])))
    let wrongRoot = other.verify(try tree.proof(for: 3), leaf: Self.mh(leaves[3]))
    #expect(!wrongRoot)
    // Non-SHA-256 multihash codes are refused, as by CodexProof.verify.
    let identity = Multihash(code: .identity, digest: leaves[0])
    let wrongCode = verifier.verify(try tree.proof(for: 0), leaf: identity)
    #expect(!wrongCode)
  }
}
