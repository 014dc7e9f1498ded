import Crypto
import Foundation

/// A Noise CipherState for ChaChaPoly: a 32-byte key and a 64-bit nonce counter.
///
/// The nonce is `00 00 00 00 ‖ u64 little-endian counter`; it starts at 0 and increments per message.
struct NoiseCipherState: Sendable {
  private(set) var key: SymmetricKey?
  private(set) var nonce: UInt64 = 0

  init(key: SymmetricKey? = nil) { self.key = key }

  var hasKey: Bool { key != nil }

  mutating func initializeKey(_ key: SymmetricKey) {
    self.key = key
    nonce = 0
  }

  private static func nonceBytes(_ n: UInt64) -> ChaChaPoly.Nonce {
    var bytes = [UInt8](repeating: 0, count: 12)
    var le = n.littleEndian
    withUnsafeBytes(of: &le) { raw in
      for i in 0..<8 { bytes[4 + i] = raw[i] }
    }
    return try! ChaChaPoly.Nonce(data: bytes)
  }

  /// Encrypts `plaintext` with associated data `ad`; without a key returns the plaintext unchanged.
  mutating func encrypt(ad: some DataProtocol, plaintext: some DataProtocol) throws(NoiseError) -> [UInt8] {
    guard let key else { return Array(plaintext) }
    guard nonce != UInt64.max else { throw .nonceExhausted }
    let box: ChaChaPoly.SealedBox
    do {
      box = try ChaChaPoly.seal(plaintext, using: key, nonce: Self.nonceBytes(nonce), authenticating: ad)
    } catch { throw .decryptionFailed }
    nonce += 1
    var out = [UInt8]()
    out.reserveCapacity(box.ciphertext.count + 16)
    out.append(contentsOf: box.ciphertext)
    out.append(contentsOf: box.tag)
    return out
  }

  /// Decrypts `ciphertext ‖ tag` with associated data `ad`; without a key returns the input unchanged.
  mutating func decrypt(ad: some DataProtocol, ciphertext: some DataProtocol) throws(NoiseError) -> [UInt8] {
    guard let key else { return Array(ciphertext) }
    guard nonce != UInt64.max else { throw .nonceExhausted }
    guard ciphertext.count >= 16 else { throw .truncatedMessage(expected: 16, got: ciphertext.count) }
    let bytes = Array(ciphertext)
    let plain: Data
    do {
      let box = try ChaChaPoly.SealedBox(
        nonce: Self.nonceBytes(nonce), ciphertext: bytes[..<(bytes.count - 16)], tag: bytes[(bytes.count - 16)...])
      plain = try ChaChaPoly.open(box, using: key, authenticating: ad)
    } catch { throw .decryptionFailed }
    nonce += 1
    return Array(plain)
  }

  /// Transport encryption straight from raw memory (no associated data): appends `ciphertext ‖ tag`.
  mutating func seal(_ plaintext: UnsafeRawBufferPointer, appendTo out: inout [UInt8]) throws(NoiseError) {
    guard let key else { throw .invalidState("transport cipher has no key") }
    guard nonce != UInt64.max else { throw .nonceExhausted }
    do {
      let box = try ChaChaPoly.seal(plaintext, using: key, nonce: Self.nonceBytes(nonce), authenticating: Data())
      out.append(contentsOf: box.ciphertext)
      out.append(contentsOf: box.tag)
    } catch { throw .decryptionFailed }
    nonce += 1
  }

  /// Transport encryption of raw memory returning the sealed box (ciphertext and tag as `Data`).
  mutating func sealBox(_ plaintext: UnsafeRawBufferPointer) throws(NoiseError) -> ChaChaPoly.SealedBox {
    guard let key else { throw .invalidState("transport cipher has no key") }
    guard nonce != UInt64.max else { throw .nonceExhausted }
    let box: ChaChaPoly.SealedBox
    do {
      box = try ChaChaPoly.seal(plaintext, using: key, nonce: Self.nonceBytes(nonce), authenticating: Data())
    } catch { throw .decryptionFailed }
    nonce += 1
    return box
  }

  /// Transport decryption of `ciphertext ‖ tag` in raw memory (no associated data).
  mutating func open(_ frame: UnsafeRawBufferPointer) throws(NoiseError) -> Data {
    guard let key else { throw .invalidState("transport cipher has no key") }
    guard nonce != UInt64.max else { throw .nonceExhausted }
    guard frame.count >= 16 else { throw .truncatedMessage(expected: 16, got: frame.count) }
    let plain: Data
    do {
      let box = try ChaChaPoly.SealedBox(
        nonce: Self.nonceBytes(nonce), ciphertext: frame[..<(frame.count - 16)], tag: frame[(frame.count - 16)...])
      plain = try ChaChaPoly.open(box, using: key, authenticating: Data())
    } catch { throw .decryptionFailed }
    nonce += 1
    return plain
  }
}
