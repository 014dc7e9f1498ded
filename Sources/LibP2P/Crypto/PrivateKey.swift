import CSecp256k1
import Crypto

/// A libp2p private key: the `PrivateKey { 1: KeyType; 2: bytes Data }` protobuf of `libp2p.md` §2.1,
/// which is also the content of a Codex key file (`08 02 12 20 ‖ 32-byte secret` for secp256k1).
///
/// Codex identities are secp256k1; Ed25519 is supported for tests against other libp2p peers.
/// The ``description`` never prints secret material.
public struct PrivateKey: Sendable, CustomStringConvertible {
  enum Material: Sendable {
    case secp256k1(secret: [UInt8])
    case ed25519(Curve25519.Signing.PrivateKey)
  }

  let material: Material
  /// The matching public key.
  public let publicKey: PublicKey

  /// The key algorithm.
  public var keyType: KeyType { publicKey.keyType }

  /// A new random secp256k1 key (the Codex identity key type).
  public static func generateSecp256k1() -> PrivateKey {
    // A random valid scalar always yields a public key.
    try! PrivateKey(secp256k1Secret: Secp256k1.randomSecret())
  }

  /// A new random Ed25519 key.
  public static func generateEd25519() -> PrivateKey {
    PrivateKey(ed25519: Curve25519.Signing.PrivateKey())
  }

  /// A secp256k1 key from its 32-byte big-endian secret scalar.
  ///
  /// - Throws: ``KeyError`` `.invalidKey` if the scalar is not 32 bytes or not in [1, n-1].
  public init(secp256k1Secret secret: [UInt8]) throws(KeyError) {
    guard Secp256k1.isValidSecret(secret) else {
      throw KeyError(.invalidKey, "secp256k1 secret key must be 32 bytes in [1, n-1], got \(secret.count) bytes")
    }
    material = .secp256k1(secret: secret)
    publicKey = PublicKey(secp256k1Point: try Secp256k1.publicKey(secret: secret))
  }

  init(ed25519 key: Curve25519.Signing.PrivateKey) {
    material = .ed25519(key)
    publicKey = PublicKey(ed25519: key.publicKey)
  }

  /// Decodes a libp2p `PrivateKey` protobuf (the key-file format).
  ///
  /// secp256k1 `Data` is the 32-byte secret; Ed25519 `Data` is `seed(32) ‖ public(32)` (a trailing
  /// redundant copy of the public key, as old go-libp2p wrote, is accepted), and the public half must
  /// match the seed.
  ///
  /// - Throws: ``KeyError``.
  public init(protobufEncoded bytes: [UInt8]) throws(KeyError) {
    let (type, data) = try KeyProtobuf.decode(bytes, what: "PrivateKey")
    switch type {
    case .secp256k1:
      try self.init(secp256k1Secret: data)
    case .ed25519:
      guard data.count == 64 || data.count == 96 else {
        throw KeyError(.invalidKey, "Ed25519 private key must be 64 bytes (seed ‖ public key), got \(data.count)")
      }
      guard let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: data[0..<32]) else {
        throw KeyError(.invalidKey, "Ed25519 private key seed is invalid")
      }
      guard Array(key.publicKey.rawRepresentation) == Array(data[32..<64]) else {
        throw KeyError(.invalidKey, "Ed25519 private key: the public half does not match the seed")
      }
      self.init(ed25519: key)
    case .rsa, .ecdsa:
      throw KeyError(.unsupportedKeyType, "\(type) private keys are not supported; use secp256k1")
    }
  }

  /// The libp2p `PrivateKey` protobuf (36 bytes for secp256k1, 68 for Ed25519).
  public var protobufEncoded: [UInt8] {
    switch material {
    case .secp256k1(let secret):
      return KeyProtobuf.encode(type: .secp256k1, data: secret)
    case .ed25519(let key):
      return KeyProtobuf.encode(type: .ed25519, data: Array(key.rawRepresentation) + publicKey.rawBytes)
    }
  }

  /// secp256k1 only: the 32-byte secret scalar (`nil` for other key types). Handle with care.
  public var secp256k1Secret: [UInt8]? {
    guard case .secp256k1(let secret) = material else { return nil }
    return secret
  }

  /// Signs `message` the libp2p way.
  ///
  /// secp256k1: ECDSA over SHA-256(message), deterministic nonce (RFC 6979), low-S, DER (≤ 72 bytes).
  /// Ed25519: the 64-byte signature of the message.
  ///
  /// - Throws: ``KeyError`` `.signingFailed` (not expected for a valid key).
  public func sign(_ message: [UInt8]) throws(KeyError) -> [UInt8] {
    switch material {
    case .secp256k1(let secret):
      return try Secp256k1.signDigest(Secp256k1.sha256(message), secret: secret)
    case .ed25519(let key):
      do {
        return Array(try key.signature(for: message))
      } catch {
        throw KeyError(.signingFailed, "Ed25519 signing failed: \(error)")
      }
    }
  }

  /// secp256k1 only: signs an already-computed 32-byte digest (no further hashing), DER, low-S.
  ///
  /// - Throws: ``KeyError`` `.unsupportedKeyType` for other key types, `.signingFailed` for a digest
  ///   that is not 32 bytes.
  public func sign(digest: [UInt8]) throws(KeyError) -> [UInt8] {
    guard case .secp256k1(let secret) = material else {
      throw KeyError(.unsupportedKeyType, "signing a raw digest needs a secp256k1 key, this is \(keyType)")
    }
    return try Secp256k1.signDigest(digest, secret: secret)
  }

  /// secp256k1 ECDH as codex-dht / discv5 use it: the shared point `secret · remote`, serialised
  /// compressed (33 bytes).
  ///
  /// - Throws: ``KeyError`` `.unsupportedKeyType` unless both keys are secp256k1.
  public func sharedPoint(with remote: PublicKey) throws(KeyError) -> [UInt8] {
    guard case .secp256k1(let secret) = material, case .secp256k1(let point) = remote.material else {
      throw KeyError(.unsupportedKeyType, "ECDH needs two secp256k1 keys, got \(keyType) and \(remote.keyType)")
    }
    return try Secp256k1.sharedPoint(secret: secret, publicKey: point)
  }

  /// secp256k1 ECDH with libsecp256k1's default hash (`secp256k1_ecdh`): SHA-256 of the compressed
  /// shared point, 32 bytes. (codex-dht uses ``sharedPoint(with:)`` instead.)
  ///
  /// - Throws: ``KeyError`` `.unsupportedKeyType` unless both keys are secp256k1.
  public func sharedSecret(with remote: PublicKey) throws(KeyError) -> [UInt8] {
    guard case .secp256k1(let secret) = material, case .secp256k1(let point) = remote.material else {
      throw KeyError(.unsupportedKeyType, "ECDH needs two secp256k1 keys, got \(keyType) and \(remote.keyType)")
    }
    return try Secp256k1.hashedSharedSecret(secret: secret, publicKey: point)
  }

  public var description: String { "\(keyType) private key (public \(publicKey.rawBytes.count) bytes)" }
}
