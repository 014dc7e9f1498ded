import Foundation
import Multiformats
import Testing
import CodexTestSupport

@testable import CodexFormats

@Suite struct FormatVectorTests {
  let v: [String: Any]
  init() throws { v = try Vectors.json("formats.json") }

  @Test func emptyCid() throws {
    let e = v["empty_cid"] as! [String: Any]
    #expect(Codex.emptyBlockCid.string == e["cid"] as! String)
    #expect(toHex(Codex.emptyBlockCid.bytes) == e["cid_hex"] as! String)
  }

  @Test func someFileContentsEndToEnd() throws {
    let s = v["some_file_contents"] as! [String: Any]
    var chunker = Chunker()
    #expect(chunker.feed(Array((s["input_ascii"] as! String).utf8)).isEmpty)
    let finished = chunker.finish()
    let last = try #require(finished)
    #expect(last.count == 65536)
    #expect(chunker.byteCount == 18)
    let block = Block(data: last)
    let b = s["block"] as! [String: Any]
    #expect(block.cid.string == b["cid"] as! String)
    let tree = try CodexTree(leaves: [block.cid.multihash.digest])
    let t = s["tree"] as! [String: Any]
    #expect(toHex(tree.root) == t["root_hex"] as! String)
    #expect(tree.rootCid.string == t["tree_cid"] as! String)
    #expect(tree.depth == 1)
    let proof = try tree.proof(for: 0)
    #expect(toHex(proof.encoded) == (s["single_leaf_proof_hex"] as! [String: Any])["value"] as! String)
    #expect(proof.verify(leaf: block.cid.multihash, root: tree.rootCid.multihash))
    let manifest = Manifest(treeCid: tree.rootCid, datasetSize: 18)
    let m = s["manifest"] as! [String: Any]
    #expect(toHex(manifest.encoded) == m["hex"] as! String)
    #expect(manifest.cid.string == m["cid"] as! String)
    #expect(manifest.cid.string == "zDvZRwzmC3Q7e7NLkfsPmtgSCfectUc1ssn5xK2rzC9yRz1yeZuK")
    let decoded = try Manifest(encoded: hex(m["hex"] as! String))
    #expect(decoded == manifest)
  }

  @Test func codexTreeRootsAndProof() throws {
    let t = v["codex_tree"] as! [String: Any]
    let leaves = (t["leaves_hex"] as! [String]).map(hex)
    #expect(leaves.count == 10)
    let expected: [(Int, String)] = [
      (1, "ab77a68f53293329179389d6f0feabc6e514057d49e8403c2aa913c30706b094"),
      (2, "0b642bff731e11e1438845a5c37ef8aa1278384e722862e03f19efb4dd51d737"),
      (3, "d3baa021b74562dfc6c1fc0c077581aa408c813824a600590a09e2f6b14a0c98"),
      (7, "802487e6dfcdb9b457fd927bef32c6aacd4f39b52ea5d29e8e5f70f302f5fcaf"),
      (8, "b3b9271afbe786de1db89c88448d3a97b785baff85f0584a25d3f2a4f9932d61"),
      (10, "15f8cf4ddf6aa3cf33ea1eef8b66522c4db60ff28d3557f9be62d73a215a3c47"),
    ]
    for (n, root) in expected {
      let tree = try CodexTree(leaves: Array(leaves.prefix(n)))
      #expect(toHex(tree.root) == root, "root of \(n) leaves")
      // Every proof of every tree reconstructs its root; a wrong leaf does not.
      for i in 0..<n {
        let p = try tree.proof(for: i)
        #expect(try p.reconstructRoot(leaf: leaves[i]) == tree.root)
        #expect(try p.reconstructRoot(leaf: leaves[(i + 1) % 10]) != tree.root || n == 1 && false)
        #expect(try CodexProof(encoded: p.encoded) == p)
      }
    }
    let ten = try CodexTree(leaves: leaves)
    let proof = try ten.proof(for: 4)
    let expectedProof =
      "0812100418" + "0a"
      + [
        "3030303030303030303030303030303030303030303030303030303030303036",
        "58f244be19f9536feefa2f955793a2c32e37b381377f842ab3e1ecfc517ba008",
        "dbd7d9aab97b062d9b45a6c31796ee3a8f7089aeb7a556c6dacf4f3f8483f50e",
        "ed15bc5dc47962e4c059e790afc456e636cad76e67e10ef898cd3fc0053eb8f4",
      ].map { "22220a20" + $0 }.joined()
    #expect(toHex(proof.encoded) == expectedProof)
  }

  @Test func emptyTreeIsAnError() {
    #expect(throws: FormatError.self) { try CodexTree(leaves: []) }
    #expect(throws: FormatError.self) { try CodexTree(leaves: [[1, 2, 3]]) }
  }
}

@Suite struct ManifestTests {
  func someTree() throws -> CodexTree {
    try CodexTree(leaves: (0..<7).map { i in SHA256Hashing.digest([UInt8(i)]) })
  }

  @Test func protectedAndVerifiableRoundTrip() throws {
    let tree = try someTree()
    let original = Manifest(treeCid: tree.rootCid, datasetSize: 5 * 65536 + 7, filename: "a.bin", mimetype: "x/y")
    // 6 original blocks, K = 2 → rounded 6, steps 3, M = 1 → 9 blocks.
    let slotRoot = Cid(
      codec: .codexSlotRoot, multihash: Multihash(code: .identity, digest: [UInt8](repeating: 7, count: 32)))
    let verifyRoot = Cid(
      codec: .codexProvingRoot, multihash: Multihash(code: .identity, digest: [UInt8](repeating: 9, count: 32)))
    var protected = original
    protected.datasetSize = 9 * 65536
    protected.erasure = .init(
      ecK: 2, ecM: 1, originalTreeCid: original.treeCid, originalDatasetSize: original.datasetSize)
    #expect(protected.steps == 3)
    let decoded = try Manifest(encoded: protected.encoded)
    #expect(decoded == protected)
    var verifiable = protected
    verifiable.erasure!.verification = .init(verifyRoot: verifyRoot, slotRoots: [slotRoot, slotRoot, slotRoot])
    let dv = try Manifest(encoded: verifiable.encoded)
    #expect(dv == verifiable)
    #expect(dv.isVerifiable)
    #expect(dv.cid != protected.cid)
  }

  @Test func inconsistentProtectedManifestIsRejected() throws {
    let tree = try someTree()
    var m = Manifest(treeCid: tree.rootCid, datasetSize: 8 * 65536)
    m.erasure = .init(ecK: 2, ecM: 1, originalTreeCid: tree.rootCid, originalDatasetSize: 5 * 65536)
    #expect(throws: FormatError.self) { try Manifest(encoded: m.encoded) }
  }

  @Test func emptyFilenameDecodesAsAbsentAndUnknownFieldsAreSkipped() throws {
    let tree = try someTree()
    var w = ProtobufWriter()
    w.write(1, bytes: tree.rootCid.bytes)
    w.write(2, varint: 65536)
    w.write(3, varint: 10)
    w.write(4, varint: 0xCD02)
    w.write(5, varint: 0x12)
    w.write(6, varint: 1)
    w.write(8, bytes: [UInt8]())
    w.write(15, varint: 99)
    w.write(16, fixed64: 3)
    var outer = ProtobufWriter()
    outer.write(1, message: w)
    let m = try Manifest(encoded: outer.bytes)
    #expect(m.filename == nil)
    #expect(m.datasetSize == 10)
  }

  @Test func manifestRequiresManifestCodec() throws {
    let m = Manifest(treeCid: try someTree().rootCid, datasetSize: 1)
    #expect(throws: FormatError.self) { try Manifest(block: Block(data: m.encoded)) }
    #expect(try Manifest(block: m.block) == m)
  }

  @Test func fuzzManifestAndProofDecoders() throws {
    var rng = SystemRandomNumberGenerator()
    var seed = Manifest(treeCid: try someTree().rootCid, datasetSize: 9 * 65536, filename: "f")
    seed.erasure = .init(ecK: 2, ecM: 1, originalTreeCid: seed.treeCid, originalDatasetSize: 6 * 65536)
    let seeds = [seed.encoded, try someTree().proof(for: 3).encoded]
    for i in 0..<20000 {
      var bytes: [UInt8]
      if i % 3 == 0 {
        bytes = (0..<Int.random(in: 0..<120, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
      } else {
        bytes = seeds[i % 2]
        for _ in 0..<Int.random(in: 1...6, using: &rng) {
          bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
        }
        if Bool.random(using: &rng) { bytes.removeLast(Int.random(in: 0..<bytes.count, using: &rng)) }
      }
      if let m = try? Manifest(encoded: bytes) {
        // Whatever decodes must re-encode to something that decodes to the same value.
        #expect((try? Manifest(encoded: m.encoded)) == m)
      }
      if let p = try? CodexProof(encoded: bytes) { _ = try? p.reconstructRoot(leaf: [UInt8](repeating: 0, count: 32)) }
    }
  }
}

@Suite struct ChunkerTests {
  @Test(arguments: [1, 65535, 65536, 65537, 200_000])
  func chunksAndPads(size: Int) throws {
    let data = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31) }
    var c = Chunker()
    var blocks: [[UInt8]] = []
    var i = 0
    while i < size {
      let n = min(777, size - i)
      blocks += c.feed(data[i..<i + n])
      i += n
    }
    if let last = c.finish() { blocks.append(last) }
    #expect(blocks.count == (size + 65535) / 65536)
    #expect(blocks.allSatisfy { $0.count == 65536 })
    #expect(Array(blocks.joined().prefix(size)) == data)
    #expect(blocks.joined().dropFirst(size).allSatisfy { $0 == 0 })
    #expect(c.byteCount == UInt64(size))
  }
}

@Suite struct CanonicalProofEncodingTests {
  /// `canonicalEncoding(b)` must be `CodexProof(encoded: b).encoded` (throwing when that throws), whatever `b` is.
  func expectMatchesDecodeThenEncode(_ bytes: [UInt8]) {
    let expected = Result { () throws(FormatError) in try CodexProof(encoded: bytes).encoded }
    let got = Result { () throws(FormatError) in try CodexProof.canonicalEncoding(bytes) }
    switch (expected, got) {
    case (.success(let e), .success(let g)): #expect(e == g, "\(bytes)")
    case (.failure, .failure): break
    default: Issue.record("decode-then-encode \(expected) but canonicalEncoding \(got) for \(bytes)")
    }
  }

  @Test func proofsOfEveryShapeAreTakenAsTheyAre() throws {
    for n in [1, 2, 3, 7, 16, 300] {
      let tree = try CodexTree(leaves: (0..<n).map { SHA256Hashing.digest([UInt8(truncatingIfNeeded: $0)]) })
      for i in Set([0, 1, n / 2, n - 1]) where i < n {
        let encoded = try tree.proof(for: i).encoded
        #expect(CodexProof.isCanonicalEncoding(encoded), "leaf \(i) of \(n)")
        #expect(try CodexProof.canonicalEncoding(encoded) == encoded)
      }
    }
    // A slot-tree style proof (identity code) with big values and nodes of other sizes.
    let odd = CodexProof(
      mcodec: .identity, index: 1 << 40, leafCount: Int.max - 1,
      path: [[], [1, 2, 3], [UInt8](repeating: 9, count: 200)])
    #expect(CodexProof.isCanonicalEncoding(odd.encoded))
  }

  @Test func otherEncodingsOfAProofComeOutReEncoded() throws {
    let p = try CodexTree(leaves: (0..<5).map { SHA256Hashing.digest([UInt8($0)]) }).proof(for: 2).encoded
    let variants: [[UInt8]] = [
      [0x08, 0x92, 0x00] + Array(p[2...]),  // overlong mcodec varint
      Array(p[..<4]) + [0x18, 0x85, 0x00] + Array(p[6...]),  // overlong nleaves
      p + [0x28, 0x01],  // an unknown field
      Array(p[2..<6]) + Array(p[..<2]) + Array(p[6...]),  // fields out of order
      Array(p[..<6]) + [0x22, 0x24, 0x0a, 0x20] + Array(p[10..<42]) + [0x10, 0x00] + Array(p[42...]),  // node extra
      p + Array(p[..<2]),  // mcodec given twice (the last wins)
    ]
    for v in variants {
      #expect(!CodexProof.isCanonicalEncoding(v), "\(v)")
      expectMatchesDecodeThenEncode(v)
    }
  }

  @Test func mutatedAndRandomBytesGetWhatDecodeThenEncodeGives() throws {
    var rng = SplitMix64(seed: 0xC0DE)
    let seeds = try [3, 9, 64].map { n in
      try CodexTree(leaves: (0..<n).map { SHA256Hashing.digest([UInt8($0)]) }).proof(for: n - 1).encoded
    }
    for i in 0..<30000 {
      var bytes: [UInt8]
      if i % 4 == 0 {
        bytes = (0..<Int.random(in: 0..<80, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
      } else {
        bytes = seeds[i % 3]
        for _ in 0..<Int.random(in: 1...3, using: &rng) {
          bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
        }
        if i % 5 == 0 { bytes.removeLast(Int.random(in: 0..<bytes.count, using: &rng)) }
      }
      expectMatchesDecodeThenEncode(bytes)
    }
  }
}
