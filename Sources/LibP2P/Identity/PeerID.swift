import Crypto
import Multiformats

/// A libp2p peer id (`libp2p.md` §2.4): a multihash of the peer's `PublicKey` protobuf.
///
/// * Keys whose protobuf is at most 42 bytes (secp256k1: 37, Ed25519: 36) use the **identity** multihash,
///   so the key can be recovered (``extractedPublicKey``); longer ones (RSA) use **sha2-256**.
/// * Text form: plain base58btc of the multihash bytes (`16Uiu2HA…` for secp256k1, `12D3KooW…` for
///   Ed25519, `Qm…` for sha2-256 ids).
///
/// Equality, hashing and ordering use the multihash bytes.
public struct PeerID: Sendable, Hashable, Comparable, CustomStringConvertible {
  /// Longest public-key protobuf that is inlined with the identity multihash.
  public static let maxInlineKeyLength = 42

  /// The binary multihash.
  public let bytes: [UInt8]

  /// The peer id of `publicKey`.
  public init(publicKey: PublicKey) {
    let encoded = publicKey.protobufEncoded
    if encoded.count <= Self.maxInlineKeyLength {
      bytes = Multihash(code: .identity, digest: encoded).bytes
    } else {
      bytes = Multihash(code: .sha2_256, digest: Array(SHA256.hash(data: encoded))).bytes
    }
  }

  /// Parses a binary multihash peer id.
  ///
  /// Accepts an identity multihash of 1…42 bytes or a sha2-256 multihash (32-byte digest); the
  /// identity digest is not required to be a decodable key (see ``extractedPublicKey``).
  ///
  /// - Throws: ``PeerIDError``.
  public init(bytes: some Collection<UInt8>) throws(PeerIDError) {
    let input = Array(bytes)
    let multihash: Multihash
    do {
      multihash = try Multihash(bytes: input)
    } catch {
      throw PeerIDError("not a multihash (\(error))")
    }
    switch multihash.code {
    case .identity:
      guard !multihash.digest.isEmpty, multihash.digest.count <= Self.maxInlineKeyLength else {
        throw PeerIDError("identity peer id must carry 1…42 bytes of public key, got \(multihash.digest.count)")
      }
    case .sha2_256:
      break  // Multihash already checked the 32-byte digest length.
    default:
      throw PeerIDError("unsupported multihash code 0x\(String(multihash.code.rawValue, radix: 16))")
    }
    guard multihash.bytes == input else { throw PeerIDError("multihash is not minimally encoded") }
    self.bytes = input
  }

  /// Parses the base58btc text form (`16Uiu2HA…`, `12D3KooW…`, `Qm…`).
  ///
  /// - Throws: ``PeerIDError``.
  public init(string: some StringProtocol) throws(PeerIDError) {
    guard !string.isEmpty, string.utf8.count <= 128 else {
      throw PeerIDError("peer id text must be 1…128 characters, got \(string.utf8.count)")
    }
    let decoded: [UInt8]
    do {
      decoded = try Base58.decode(string)
    } catch {
      throw PeerIDError("'\(string)' is not base58btc (\(error))")
    }
    try self.init(bytes: decoded)
  }

  /// Base58btc text.
  public var description: String { Base58.encode(bytes) }

  /// Hashes the bytes as one run (the synthesized version combined them one at a time; peer ids key hot tables).
  public func hash(into hasher: inout Hasher) {
    bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
  }

  /// The public key inlined in an identity-multihash peer id, or `nil` (sha2-256 ids, undecodable keys).
  public var extractedPublicKey: PublicKey? {
    guard let multihash = try? Multihash(bytes: bytes), multihash.code == .identity else { return nil }
    return try? PublicKey(protobufEncoded: multihash.digest)
  }

  /// True if this is the peer id of `publicKey`.
  public func matches(_ publicKey: PublicKey) -> Bool { PeerID(publicKey: publicKey) == self }

  public static func < (lhs: PeerID, rhs: PeerID) -> Bool { lhs.bytes.lexicographicallyPrecedes(rhs.bytes) }
}

extension PublicKey {
  /// The peer id of this key.
  public var peerID: PeerID { PeerID(publicKey: self) }
}

extension Multiaddr {
  /// The peer id of the last `/p2p/…` component, if present and valid.
  public var peerID: PeerID? { peerIDBytes.flatMap { try? PeerID(bytes: $0) } }

  /// This address with `/p2p/<peerID>` appended.
  public func appending(peerID: PeerID) -> Multiaddr { appending(.p2p(peerID.bytes)) }
}
