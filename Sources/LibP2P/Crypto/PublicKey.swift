import CSecp256k1
import Crypto
import Multiformats

/// A libp2p public key: the `PublicKey { 1: KeyType; 2: bytes Data }` protobuf of `libp2p.md` §2.1.
///
/// * secp256k1: `Data` is the SEC1 point (33-byte compressed; 65-byte uncompressed is accepted and kept
///   as given). Signatures are DER ECDSA over SHA-256 of the message, low-S.
/// * Ed25519: `Data` is the 32-byte key; signatures are 64-byte Ed25519 over the message.
/// * ECDSA: `Data` is a DER SubjectPublicKeyInfo; only P-256 verifies (DER ECDSA over SHA-256).
/// * RSA: decoded and kept (so peer ids and records of RSA peers parse), but ``verify(signature:for:)``
///   always returns `false`.
///
/// Equality and hashing use the key type and the `Data` bytes.
public struct PublicKey: Sendable, Hashable, CustomStringConvertible {
  enum Material: Sendable {
    case secp256k1(secp256k1_pubkey)
    case ed25519(Curve25519.Signing.PublicKey)
    case ecdsaP256(P256.Signing.PublicKey)
    case opaque
  }

  /// The key algorithm.
  public let keyType: KeyType
  /// The `Data` field of the protobuf (the raw key in the algorithm's own encoding).
  public let rawBytes: [UInt8]
  let material: Material

  /// Builds a key from its type and raw `Data` bytes, validating the key material.
  ///
  /// - Throws: ``KeyError`` with `.invalidKey` when the bytes are not a valid key of that type, or
  ///   `.unsupportedKeyType` for ECDSA curves other than P-256.
  public init(keyType: KeyType, rawBytes: [UInt8]) throws(KeyError) {
    self.keyType = keyType
    self.rawBytes = rawBytes
    switch keyType {
    case .secp256k1:
      material = .secp256k1(try Secp256k1.parsePublicKey(rawBytes))
    case .ed25519:
      guard rawBytes.count == 32, let key = try? Curve25519.Signing.PublicKey(rawRepresentation: rawBytes) else {
        throw KeyError(.invalidKey, "Ed25519 public key must be 32 bytes, got \(rawBytes.count)")
      }
      material = .ed25519(key)
    case .ecdsa:
      guard let key = try? P256.Signing.PublicKey(derRepresentation: rawBytes) else {
        throw KeyError(.unsupportedKeyType, "ECDSA public key is not a DER-encoded P-256 SubjectPublicKeyInfo")
      }
      material = .ecdsaP256(key)
    case .rsa:
      guard !rawBytes.isEmpty, rawBytes.count <= 2048 else {
        throw KeyError(.invalidKey, "RSA public key must be 1...2048 bytes of DER, got \(rawBytes.count)")
      }
      material = .opaque
    }
  }

  /// A secp256k1 key from its 33-byte compressed (or 65-byte uncompressed) SEC1 encoding.
  public init(secp256k1 bytes: [UInt8]) throws(KeyError) {
    try self.init(keyType: .secp256k1, rawBytes: bytes)
  }

  init(secp256k1Point point: secp256k1_pubkey) {
    keyType = .secp256k1
    rawBytes = Secp256k1.serialize(point, compressed: true)
    material = .secp256k1(point)
  }

  init(ed25519 key: Curve25519.Signing.PublicKey) {
    keyType = .ed25519
    rawBytes = Array(key.rawRepresentation)
    material = .ed25519(key)
  }

  /// Decodes a libp2p `PublicKey` protobuf.
  ///
  /// - Throws: ``KeyError``: `.malformedProtobuf` for bad framing or missing fields, `.unsupportedKeyType`
  ///   for an unknown key type, `.invalidKey` for bad key material.
  public init(protobufEncoded bytes: [UInt8]) throws(KeyError) {
    let (type, data) = try KeyProtobuf.decode(bytes, what: "PublicKey")
    try self.init(keyType: type, rawBytes: data)
  }

  /// The libp2p `PublicKey` protobuf: `08 <type> 12 <len> <data>` (37 bytes for compressed secp256k1).
  public var protobufEncoded: [UInt8] { KeyProtobuf.encode(type: keyType, data: rawBytes) }

  /// Verifies a libp2p signature of `message` made by the matching private key.
  ///
  /// Returns `false` (never traps) for any malformed signature, for high-S or non-strict-DER
  /// secp256k1 signatures, and for RSA keys.
  public func verify(signature: [UInt8], for message: [UInt8]) -> Bool {
    switch material {
    case .secp256k1(let point):
      return Secp256k1.verifyDigest(signature: signature, digest: Secp256k1.sha256(message), publicKey: point)
    case .ed25519(let key):
      guard signature.count == 64 else { return false }
      return key.isValidSignature(signature, for: message)
    case .ecdsaP256(let key):
      guard let parsed = try? P256.Signing.ECDSASignature(derRepresentation: signature) else { return false }
      return key.isValidSignature(parsed, for: SHA256.hash(data: message))
    case .opaque:
      return false
    }
  }

  /// secp256k1 only: verifies a DER signature over an already-computed 32-byte digest (no further
  /// hashing). codex-dht's id-signature is `sign` over `sha256(input)`, i.e. this with
  /// `digest = sha256(sha256(input))`. Returns `false` for other key types.
  public func verify(signature: [UInt8], digest: [UInt8]) -> Bool {
    guard case .secp256k1(let point) = material else { return false }
    return Secp256k1.verifyDigest(signature: signature, digest: digest, publicKey: point)
  }

  /// secp256k1 only: the 33-byte compressed SEC1 point (`nil` for other key types).
  public var secp256k1Compressed: [UInt8]? {
    guard case .secp256k1(let point) = material else { return nil }
    return Secp256k1.serialize(point, compressed: true)
  }

  /// secp256k1 only: the 65-byte uncompressed SEC1 point (`nil` for other key types).
  public var secp256k1Uncompressed: [UInt8]? {
    guard case .secp256k1(let point) = material else { return nil }
    return Secp256k1.serialize(point, compressed: false)
  }

  public static func == (lhs: PublicKey, rhs: PublicKey) -> Bool {
    lhs.keyType == rhs.keyType && lhs.rawBytes == rhs.rawBytes
  }

  public func hash(into hasher: inout Hasher) {
    hasher.combine(keyType)
    hasher.combine(rawBytes)
  }

  public var description: String {
    "\(keyType) public key \(hexString(rawBytes))"
  }
}

/// The shared `{1: KeyType, 2: Data}` layout of the `PublicKey` and `PrivateKey` protobufs.
enum KeyProtobuf {
  static func encode(type: KeyType, data: [UInt8]) -> [UInt8] {
    var writer = MinProtobuf.Writer()
    writer.writeVarint(field: 1, type.rawValue)
    writer.writeBytes(field: 2, data)
    return writer.bytes
  }

  static func decode(_ bytes: [UInt8], what: String) throws(KeyError) -> (KeyType, [UInt8]) {
    var reader = MinProtobuf.Reader(bytes)
    var typeValue: UInt64?
    var data: [UInt8]?
    do {
      while let field = try reader.next() {
        switch field.number {
        case 1: if let value = field.varint { typeValue = value }
        case 2: if let value = field.bytes { data = value }
        default: continue
        }
      }
    } catch {
      throw KeyError(.malformedProtobuf, "\(what) protobuf: \(error.message)")
    }
    guard let typeValue else { throw KeyError(.malformedProtobuf, "\(what) protobuf has no key type (field 1)") }
    guard let data else { throw KeyError(.malformedProtobuf, "\(what) protobuf has no key data (field 2)") }
    guard let type = KeyType(rawValue: typeValue) else {
      throw KeyError(.unsupportedKeyType, "\(what) protobuf has unknown key type \(typeValue)")
    }
    return (type, data)
  }
}

private func hexString(_ bytes: [UInt8]) -> String {
  let digits = Array("0123456789abcdef".utf8)
  var out = [UInt8]()
  out.reserveCapacity(bytes.count * 2)
  for byte in bytes {
    out.append(digits[Int(byte >> 4)])
    out.append(digits[Int(byte & 0x0f)])
  }
  return String(decoding: out, as: UTF8.self)
}
