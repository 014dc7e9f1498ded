import Multiformats

/// Why a Codex format value (protobuf, proof, manifest, block) could not be decoded or built.
public enum FormatError: Error, Equatable, Sendable, CustomStringConvertible {
  /// Protobuf bytes that cannot be parsed.
  case malformedProtobuf(String)
  /// A field that must be present is missing or has the wrong shape.
  case invalidField(message: String, field: String)
  /// A CID or multihash inside the value is invalid.
  case multiformats(MultiformatsError)
  /// A manifest that decodes but breaks a rule (e.g. protected block counts).
  case invalidManifest(String)
  /// A CID with the wrong codec for its role.
  case wrongCodec(expected: Multicodec, got: Multicodec)
  /// A Merkle tree with no leaves, or a leaf index out of range.
  case invalidTree(String)
  /// A proof that does not match its tree.
  case invalidProof(String)
  /// Block bytes whose hash disagrees with the CID.
  case hashMismatch(String)

  public var description: String {
    switch self {
    case .malformedProtobuf(let why): return "malformed protobuf: \(why)"
    case .invalidField(let message, let field): return "invalid \(message) field \(field)"
    case .multiformats(let e): return e.description
    case .invalidManifest(let why): return "invalid manifest: \(why)"
    case .wrongCodec(let expected, let got): return "expected a \(expected) CID, got \(got)"
    case .invalidTree(let why): return "invalid tree: \(why)"
    case .invalidProof(let why): return "invalid proof: \(why)"
    case .hashMismatch(let why): return "hash mismatch: \(why)"
    }
  }
}
