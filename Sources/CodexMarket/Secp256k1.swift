import CSecp256k1

/// A secp256k1 signature with its recovery id, as Ethereum uses it.
public struct RecoverableSignature: Hashable, Sendable {
  /// 32-byte big-endian r.
  public let r: [UInt8]
  /// 32-byte big-endian s (always low-S when produced by `PrivateKey.sign`).
  public let s: [UInt8]
  /// Recovery id 0…3 (the y parity for ordinary signatures).
  public let recoveryID: UInt8

  public init(r: [UInt8], s: [UInt8], recoveryID: UInt8) {
    self.r = r
    self.s = s
    self.recoveryID = recoveryID
  }

  /// `r ‖ s ‖ v` with v = recovery id + 27 (the `personal_sign`/`eth_sign` layout).
  public var rsv: [UInt8] { r + s + [recoveryID + 27] }
}

/// A signing or key-parsing failure.
public enum Secp256k1Error: Error, Equatable, CustomStringConvertible {
  case invalidPrivateKey
  case invalidSignature
  case recoveryFailed
  case contextUnavailable

  public var description: String {
    switch self {
    case .invalidPrivateKey: return "secp256k1: private key is not a valid 32-byte scalar in 1…n−1"
    case .invalidSignature: return "secp256k1: malformed signature (r/s out of range or bad recovery id)"
    case .recoveryFailed: return "secp256k1: could not recover a public key from the signature"
    case .contextUnavailable: return "secp256k1: could not create a library context"
    }
  }
}

/// Owns a libsecp256k1 context. Contexts are immutable after creation, so sharing one across threads for
/// signing and recovery is safe.
final class Secp256k1Context: @unchecked Sendable {
  let raw: OpaquePointer

  init() throws(Secp256k1Error) {
    guard let ctx = secp256k1_context_create(UInt32(SECP256K1_CONTEXT_NONE)) else { throw .contextUnavailable }
    raw = ctx
  }

  deinit { secp256k1_context_destroy(raw) }
}

/// An Ethereum account key: a secp256k1 secret scalar. Signs 32-byte digests with RFC 6979 nonces (library
/// default), producing low-S recoverable signatures.
public struct PrivateKey: Sendable {
  private let secret: [UInt8]
  private let context: Secp256k1Context
  /// Uncompressed public key without the `0x04` prefix (64 bytes).
  public let publicKey: [UInt8]
  /// The account address.
  public let address: EthereumAddress

  /// Throws unless `bytes` is a valid 32-byte secret key.
  public init(bytes: [UInt8]) throws(Secp256k1Error) {
    guard bytes.count == 32 else { throw .invalidPrivateKey }
    let ctx = try Secp256k1Context()
    guard secp256k1_ec_seckey_verify(ctx.raw, bytes) == 1 else { throw .invalidPrivateKey }
    var pub = secp256k1_pubkey()
    guard secp256k1_ec_pubkey_create(ctx.raw, &pub, bytes) == 1 else { throw .invalidPrivateKey }
    var out = [UInt8](repeating: 0, count: 65)
    var len = 65
    secp256k1_ec_pubkey_serialize(ctx.raw, &out, &len, &pub, UInt32(SECP256K1_EC_UNCOMPRESSED))
    self.secret = bytes
    self.context = ctx
    self.publicKey = Array(out[1...])
    self.address = EthereumAddress(unchecked: Array(Keccak256.hash(Array(out[1...])).suffix(20)))
  }

  /// Parses `0x`-prefixed (or bare) hex.
  public init(hex: String) throws(Secp256k1Error) {
    guard let b = try? Hex.decode(hex) else { throw .invalidPrivateKey }
    try self.init(bytes: b)
  }

  /// A random key from the system's secure generator.
  public static func random() -> PrivateKey {
    var rng = SystemRandomNumberGenerator()
    while true {
      let b = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
      if let k = try? PrivateKey(bytes: b) { return k }
    }
  }

  /// Signs a 32-byte digest.
  public func sign(digest: [UInt8]) throws(Secp256k1Error) -> RecoverableSignature {
    guard digest.count == 32 else { throw .invalidSignature }
    var sig = secp256k1_ecdsa_recoverable_signature()
    guard secp256k1_ecdsa_sign_recoverable(context.raw, &sig, digest, secret, nil, nil) == 1 else {
      throw .invalidPrivateKey
    }
    var compact = [UInt8](repeating: 0, count: 64)
    var recid: Int32 = 0
    secp256k1_ecdsa_recoverable_signature_serialize_compact(context.raw, &compact, &recid, &sig)
    return RecoverableSignature(r: Array(compact[0..<32]), s: Array(compact[32..<64]), recoveryID: UInt8(recid))
  }

  /// Recovers the uncompressed public key (64 bytes, no prefix) that produced `signature` over `digest`.
  public static func recoverPublicKey(digest: [UInt8], signature: RecoverableSignature) throws(Secp256k1Error)
    -> [UInt8]
  {
    guard digest.count == 32, signature.r.count == 32, signature.s.count == 32, signature.recoveryID < 4 else {
      throw .invalidSignature
    }
    let ctx = try Secp256k1Context()
    var sig = secp256k1_ecdsa_recoverable_signature()
    let compact = signature.r + signature.s
    guard
      secp256k1_ecdsa_recoverable_signature_parse_compact(ctx.raw, &sig, compact, Int32(signature.recoveryID)) == 1
    else { throw .invalidSignature }
    var pub = secp256k1_pubkey()
    guard secp256k1_ecdsa_recover(ctx.raw, &pub, &sig, digest) == 1 else { throw .recoveryFailed }
    var out = [UInt8](repeating: 0, count: 65)
    var len = 65
    secp256k1_ec_pubkey_serialize(ctx.raw, &out, &len, &pub, UInt32(SECP256K1_EC_UNCOMPRESSED))
    return Array(out[1...])
  }

  /// The address that signed `digest`.
  public static func recoverAddress(digest: [UInt8], signature: RecoverableSignature) throws(Secp256k1Error)
    -> EthereumAddress
  {
    let pub = try recoverPublicKey(digest: digest, signature: signature)
    return EthereumAddress(unchecked: Array(Keccak256.hash(pub).suffix(20)))
  }
}
