import Crypto
import Foundation

/// The Noise SymmetricState for `Noise_XX_25519_ChaChaPoly_SHA256`: chaining key, handshake hash and a
/// cipher state; HKDF as defined by the Noise specification (HMAC-SHA256).
struct NoiseSymmetricState: Sendable {
  static let protocolName = "Noise_XX_25519_ChaChaPoly_SHA256"

  private(set) var chainingKey: [UInt8]
  private(set) var handshakeHash: [UInt8]
  private(set) var cipher = NoiseCipherState()

  init() {
    // The name is exactly 32 bytes, so it is used as h directly (no hashing).
    let name = Array(Self.protocolName.utf8)
    precondition(name.count == 32)
    handshakeHash = name
    chainingKey = name
  }

  mutating func mixHash(_ data: some Sequence<UInt8>) {
    var hasher = SHA256()
    hasher.update(data: handshakeHash)
    hasher.update(data: Array(data))
    handshakeHash = Array(hasher.finalize())
  }

  /// Noise HKDF with two or three outputs.
  static func hkdf(chainingKey: [UInt8], input: [UInt8], outputs: Int) -> [[UInt8]] {
    let tempKey = SymmetricKey(
      data: HMAC<SHA256>.authenticationCode(for: input, using: SymmetricKey(data: chainingKey)))
    var results: [[UInt8]] = []
    var previous: [UInt8] = []
    for i in 1...outputs {
      let out = Array(HMAC<SHA256>.authenticationCode(for: previous + [UInt8(i)], using: tempKey))
      results.append(out)
      previous = out
    }
    return results
  }

  mutating func mixKey(_ input: [UInt8]) {
    let out = Self.hkdf(chainingKey: chainingKey, input: input, outputs: 2)
    chainingKey = out[0]
    cipher.initializeKey(SymmetricKey(data: out[1]))
  }

  mutating func encryptAndHash(_ plaintext: [UInt8]) throws(NoiseError) -> [UInt8] {
    let ciphertext = try cipher.encrypt(ad: handshakeHash, plaintext: plaintext)
    mixHash(ciphertext)
    return ciphertext
  }

  mutating func decryptAndHash(_ ciphertext: [UInt8]) throws(NoiseError) -> [UInt8] {
    let plaintext = try cipher.decrypt(ad: handshakeHash, ciphertext: ciphertext)
    mixHash(ciphertext)
    return plaintext
  }

  /// The two transport keys: initiator→responder and responder→initiator.
  func splitKeys() -> ([UInt8], [UInt8]) {
    let out = Self.hkdf(chainingKey: chainingKey, input: [], outputs: 2)
    return (out[0], out[1])
  }

  /// The two transport cipher states: initiator→responder and responder→initiator.
  func split() -> (NoiseCipherState, NoiseCipherState) {
    let out = Self.hkdf(chainingKey: chainingKey, input: [], outputs: 2)
    return (NoiseCipherState(key: SymmetricKey(data: out[0])), NoiseCipherState(key: SymmetricKey(data: out[1])))
  }
}
