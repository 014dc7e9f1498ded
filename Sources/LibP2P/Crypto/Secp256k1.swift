import CSecp256k1
import Crypto

/// Thin, total wrappers over libsecp256k1. Internal: the public surface is ``PrivateKey`` and ``PublicKey``.
enum Secp256k1 {
  static var context: OpaquePointer { Secp256k1Context.shared.pointer }

  /// Size of a secret key and of a message digest.
  static let scalarSize = 32
  /// Size of a compressed public key.
  static let compressedSize = 33
  /// Size of an uncompressed public key.
  static let uncompressedSize = 65
  /// Largest DER signature libsecp256k1 produces.
  static let maxDERSize = 72

  /// True when `secret` is 32 bytes and a valid scalar in [1, n-1].
  static func isValidSecret(_ secret: [UInt8]) -> Bool {
    guard secret.count == scalarSize else { return false }
    return secp256k1_ec_seckey_verify(context, secret) == 1
  }

  /// A fresh random secret key.
  static func randomSecret() -> [UInt8] {
    var rng = SystemRandomNumberGenerator()
    while true {
      var secret = [UInt8](repeating: 0, count: scalarSize)
      for index in secret.indices { secret[index] = rng.next() }
      if isValidSecret(secret) { return secret }
    }
  }

  /// The public point of a valid secret.
  static func publicKey(secret: [UInt8]) throws(KeyError) -> secp256k1_pubkey {
    guard secret.count == scalarSize else {
      throw KeyError(.invalidKey, "secp256k1 secret key must be 32 bytes, got \(secret.count)")
    }
    var pubkey = secp256k1_pubkey()
    guard secp256k1_ec_pubkey_create(context, &pubkey, secret) == 1 else {
      throw KeyError(.invalidKey, "secp256k1 secret key is zero or not below the curve order")
    }
    return pubkey
  }

  /// Parses a 33-byte compressed or 65-byte uncompressed SEC1 point.
  static func parsePublicKey(_ bytes: [UInt8]) throws(KeyError) -> secp256k1_pubkey {
    guard bytes.count == compressedSize || bytes.count == uncompressedSize else {
      throw KeyError(.invalidKey, "secp256k1 public key must be 33 or 65 bytes, got \(bytes.count)")
    }
    var pubkey = secp256k1_pubkey()
    guard secp256k1_ec_pubkey_parse(context, &pubkey, bytes, bytes.count) == 1 else {
      throw KeyError(.invalidKey, "bytes are not a point on secp256k1")
    }
    return pubkey
  }

  /// SEC1 serialisation, compressed (33 bytes) by default.
  static func serialize(_ pubkey: secp256k1_pubkey, compressed: Bool = true) -> [UInt8] {
    var key = pubkey
    var length = compressed ? compressedSize : uncompressedSize
    var out = [UInt8](repeating: 0, count: length)
    let flags = UInt32(compressed ? SECP256K1_EC_COMPRESSED : SECP256K1_EC_UNCOMPRESSED)
    _ = secp256k1_ec_pubkey_serialize(context, &out, &length, &key, flags)
    return Array(out[..<length])
  }

  /// ECDSA over a 32-byte digest (RFC 6979 nonce), low-S, DER-encoded.
  static func signDigest(_ digest: [UInt8], secret: [UInt8]) throws(KeyError) -> [UInt8] {
    guard digest.count == scalarSize else {
      throw KeyError(.signingFailed, "secp256k1 digest must be 32 bytes, got \(digest.count)")
    }
    var signature = secp256k1_ecdsa_signature()
    guard secp256k1_ecdsa_sign(context, &signature, digest, secret, nil, nil) == 1 else {
      throw KeyError(.signingFailed, "secp256k1 signing failed (invalid secret key)")
    }
    var length = maxDERSize
    var der = [UInt8](repeating: 0, count: length)
    guard secp256k1_ecdsa_signature_serialize_der(context, &der, &length, &signature) == 1 else {
      throw KeyError(.signingFailed, "secp256k1 DER serialisation failed")
    }
    return Array(der[..<length])
  }

  /// Verifies a DER signature over a 32-byte digest. Requires strict DER (the bytes must re-serialise
  /// identically) and low S, as libsecp256k1 and nim-libp2p do.
  static func verifyDigest(signature der: [UInt8], digest: [UInt8], publicKey: secp256k1_pubkey) -> Bool {
    guard digest.count == scalarSize, !der.isEmpty, der.count <= maxDERSize else { return false }
    var signature = secp256k1_ecdsa_signature()
    guard secp256k1_ecdsa_signature_parse_der(context, &signature, der, der.count) == 1 else { return false }
    var length = maxDERSize
    var canonical = [UInt8](repeating: 0, count: length)
    guard secp256k1_ecdsa_signature_serialize_der(context, &canonical, &length, &signature) == 1,
      length == der.count, canonical[..<length].elementsEqual(der)
    else { return false }
    var key = publicKey
    return secp256k1_ecdsa_verify(context, &signature, digest, &key) == 1
  }

  /// True if the DER signature parses and its S value is in the upper half of the order.
  static func isHighS(_ der: [UInt8]) -> Bool {
    var signature = secp256k1_ecdsa_signature()
    guard !der.isEmpty, secp256k1_ecdsa_signature_parse_der(context, &signature, der, der.count) == 1 else {
      return false
    }
    var normalized = secp256k1_ecdsa_signature()
    return secp256k1_ecdsa_signature_normalize(context, &normalized, &signature) == 1
  }

  /// `secret · point`, serialised compressed (33 bytes): the ECDH output codex-dht / discv5 use.
  static func sharedPoint(secret: [UInt8], publicKey: secp256k1_pubkey) throws(KeyError) -> [UInt8] {
    var point = publicKey
    guard secret.count == scalarSize, secp256k1_ec_pubkey_tweak_mul(context, &point, secret) == 1 else {
      throw KeyError(.keyAgreementFailed, "secp256k1 ECDH failed (invalid secret key)")
    }
    return serialize(point, compressed: true)
  }

  /// libsecp256k1's default `secp256k1_ecdh`: SHA-256 of the compressed shared point (32 bytes).
  static func hashedSharedSecret(secret: [UInt8], publicKey: secp256k1_pubkey) throws(KeyError) -> [UInt8] {
    var point = publicKey
    var out = [UInt8](repeating: 0, count: 32)
    guard secret.count == scalarSize, secp256k1_ecdh(context, &out, &point, secret, nil, nil) == 1 else {
      throw KeyError(.keyAgreementFailed, "secp256k1 ECDH failed (invalid secret key)")
    }
    return out
  }

  /// SHA-256 of `message` as bytes.
  static func sha256(_ message: [UInt8]) -> [UInt8] {
    Array(SHA256.hash(data: message))
  }
}
