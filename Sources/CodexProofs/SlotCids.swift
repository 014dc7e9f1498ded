import CodexFormats
import Multiformats

/// Why a CID or stored proof does not carry a Poseidon2 slot value.
public enum SlotCidError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The CID's codec or hash code is not the expected one.
  case wrongCodec(expected: String, actual: String)
  /// The digest is not a canonical 32-byte field element.
  case invalidFieldElement(FieldError)

  public var description: String {
    switch self {
    case .wrongCodec(let expected, let actual): return "expected a \(expected) CID or proof, got \(actual)"
    case .invalidFieldElement(let e): return e.description
    }
  }
}

/// The CIDs of verifiable datasets (`formats.md` §2): slot roots and the verify root as identity multihashes of the
/// 32-byte little-endian field element, slot cells (block digests) under `poseidon2-alt_bn_128-merkle-2kb`.
public enum SlotCids {
  /// `codex-slot-root` CID of a slot tree root.
  public static func slotRootCid(_ root: Fr) -> Cid {
    Cid(codec: .codexSlotRoot, multihash: Multihash(code: .identity, digest: root.bytes))
  }

  /// `codex-proving-root` CID of a verify tree root.
  public static func verifyRootCid(_ root: Fr) -> Cid {
    Cid(codec: .codexProvingRoot, multihash: Multihash(code: .identity, digest: root.bytes))
  }

  /// `codex-slot-cell` CID of a slot-tree leaf (a block digest).
  public static func cellCid(_ blockDigest: Fr) -> Cid {
    Cid(codec: .codexSlotCell, multihash: Multihash(code: .poseidon2Merkle2kb, digest: blockDigest.bytes))
  }

  /// The field element in a slot-root CID.
  public static func slotRoot(of cid: Cid) throws(SlotCidError) -> Fr {
    try element(of: cid, codec: .codexSlotRoot, hash: .identity)
  }

  /// The field element in a verify-root CID.
  public static func verifyRoot(of cid: Cid) throws(SlotCidError) -> Fr {
    try element(of: cid, codec: .codexProvingRoot, hash: .identity)
  }

  /// The block digest in a slot-cell CID.
  public static func blockDigest(of cid: Cid) throws(SlotCidError) -> Fr {
    try element(of: cid, codec: .codexSlotCell, hash: .poseidon2Merkle2kb)
  }

  static func element(of cid: Cid, codec: Multicodec, hash: Multicodec) throws(SlotCidError) -> Fr {
    guard cid.codec == codec, cid.multihash.code == hash else {
      throw .wrongCodec(
        expected: "\(codec)/\(hash)", actual: "\(cid.codec)/\(cid.multihash.code)")
    }
    do { return try Fr(bytes: cid.multihash.digest) } catch { throw .invalidFieldElement(error) }
  }
}

extension Poseidon2Proof {
  /// The stored form of a slot-tree proof (leaf metadata): a `CodexProof` with `mcodec = identity` and 32-byte
  /// little-endian path elements.
  public var codexProof: CodexProof {
    CodexProof(mcodec: .identity, index: index, leafCount: leafCount, path: path.map(\.bytes))
  }

  /// Reads a stored slot-tree proof.
  /// - Throws: `SlotCidError` unless `mcodec` is identity and every path entry is a canonical field element.
  public init(_ proof: CodexProof) throws(SlotCidError) {
    guard proof.mcodec == .identity else { throw .wrongCodec(expected: "identity", actual: "\(proof.mcodec)") }
    var path: [Fr] = []
    for node in proof.path {
      do { path.append(try Fr(bytes: node)) } catch { throw .invalidFieldElement(error) }
    }
    self.init(index: proof.index, leafCount: proof.leafCount, path: path)
  }
}
