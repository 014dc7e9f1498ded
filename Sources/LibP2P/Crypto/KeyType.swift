/// The libp2p `KeyType` protobuf enum (`libp2p/crypto/crypto.nim`, libp2p peer-id spec).
///
/// The raw value is the number written in field 1 of the `PublicKey` / `PrivateKey` protobufs.
/// Codex itself only uses ``secp256k1``; the others exist so that records and handshakes of other
/// libp2p peers decode (and, for Ed25519 and ECDSA P-256, verify).
public enum KeyType: UInt64, Sendable, Hashable, CaseIterable, CustomStringConvertible {
  case rsa = 0
  case ed25519 = 1
  case secp256k1 = 2
  case ecdsa = 3

  public var description: String {
    switch self {
    case .rsa: "RSA"
    case .ed25519: "Ed25519"
    case .secp256k1: "secp256k1"
    case .ecdsa: "ECDSA"
    }
  }
}
