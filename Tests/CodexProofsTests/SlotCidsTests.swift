import CodexFormats
import CodexProofs
import Multiformats
import Testing

@Suite struct SlotCidsTests {
  @Test func cidsRoundTrip() throws {
    let root = fr("20744935707483803411869804102043283881376973626291244537230284476834672019997")
    let slotCid = SlotCids.slotRootCid(root)
    #expect(slotCid.codec == .codexSlotRoot)
    #expect(slotCid.multihash.code == .identity)
    #expect(slotCid.multihash.digest == root.bytes)
    // CIDv1 bytes: version, codec varint 84 9a 03, multihash identity (00), length 32.
    #expect(Array(slotCid.bytes.prefix(6)) == [0x01, 0x84, 0x9a, 0x03, 0x00, 0x20])
    #expect(try SlotCids.slotRoot(of: Cid(string: slotCid.string)) == root)
    #expect(try SlotCids.verifyRoot(of: SlotCids.verifyRootCid(root)) == root)
    #expect(try SlotCids.blockDigest(of: SlotCids.cellCid(root)) == root)
    #expect(Array(SlotCids.cellCid(root).bytes.prefix(8)) == [0x01, 0x86, 0x9a, 0x03, 0x91, 0x9a, 0x03, 0x20])
    #expect(throws: SlotCidError.self) { try SlotCids.verifyRoot(of: slotCid) }
    let nonCanonical = Cid(
      codec: .codexSlotRoot, multihash: Multihash(code: .identity, digest: [UInt8](repeating: 0xff, count: 32)))
    #expect(throws: SlotCidError.invalidFieldElement(.nonCanonical)) { try SlotCids.slotRoot(of: nonCanonical) }
  }

  @Test func storedSlotProofRoundTrip() throws {
    let tree = try Poseidon2Tree(leaves: (1...11).map { Fr(UInt64($0)) })
    let proof = try tree.proof(index: 10)
    let stored = proof.codexProof
    #expect(stored.mcodec == .identity)
    let decoded = try CodexProof(encoded: stored.encoded)
    let back = try Poseidon2Proof(decoded)
    #expect(back == proof)
    #expect(back.verify(leaf: 11, root: tree.root))
    let sha = CodexProof(mcodec: .sha2_256, index: 0, leafCount: 1, path: [[UInt8](repeating: 0, count: 32)])
    #expect(throws: SlotCidError.self) { try Poseidon2Proof(sha) }
  }
}
