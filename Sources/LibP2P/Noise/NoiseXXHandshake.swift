import Crypto
import Foundation

/// The Noise XX handshake (`→ e`; `← e, ee, s, es`; `→ s, se`) over X25519, ChaChaPoly and SHA-256 with an
/// empty prologue. Pure and synchronous: feed it messages, it returns messages and payloads.
///
/// The initiator calls `writeMessage`, `readMessage`, `writeMessage`; the responder `readMessage`,
/// `writeMessage`, `readMessage`. After the third message ``isComplete`` is true and ``split()`` yields the
/// transport ciphers.
struct NoiseXXHandshake: Sendable {
  enum Role: Sendable { case initiator, responder }

  let role: Role
  private var symmetric = NoiseSymmetricState()
  private let staticKey: Curve25519.KeyAgreement.PrivateKey
  private var ephemeralKey: Curve25519.KeyAgreement.PrivateKey
  private var remoteEphemeral: Curve25519.KeyAgreement.PublicKey?
  private(set) var remoteStatic: Curve25519.KeyAgreement.PublicKey?
  private(set) var messageIndex = 0

  /// - Parameter ephemeralKey: fixed ephemeral key for test vectors; a fresh one otherwise.
  init(
    role: Role, staticKey: Curve25519.KeyAgreement.PrivateKey,
    ephemeralKey: Curve25519.KeyAgreement.PrivateKey = .init(), prologue: [UInt8] = []
  ) {
    self.role = role
    self.staticKey = staticKey
    self.ephemeralKey = ephemeralKey
    symmetric.mixHash(prologue)
  }

  var isComplete: Bool { messageIndex >= 3 }
  var handshakeHash: [UInt8] { symmetric.handshakeHash }
  var localStaticPublicKey: [UInt8] { Array(staticKey.publicKey.rawRepresentation) }

  /// `true` when the next step for this role is writing a message.
  var isMyTurnToWrite: Bool {
    switch role {
    case .initiator: return messageIndex == 0 || messageIndex == 2
    case .responder: return messageIndex == 1
    }
  }

  private static func dh(_ priv: Curve25519.KeyAgreement.PrivateKey, _ pub: Curve25519.KeyAgreement.PublicKey)
    throws(NoiseError) -> [UInt8]
  {
    do {
      let secret = try priv.sharedSecretFromKeyAgreement(with: pub)
      return secret.withUnsafeBytes { Array($0) }
    } catch { throw .invalidKey }
  }

  private static func publicKey(_ bytes: [UInt8]) throws(NoiseError) -> Curve25519.KeyAgreement.PublicKey {
    do { return try .init(rawRepresentation: bytes) } catch { throw .invalidKey }
  }

  /// Writes the next handshake message carrying `payload`.
  mutating func writeMessage(payload: [UInt8]) throws(NoiseError) -> [UInt8] {
    guard isMyTurnToWrite, !isComplete else {
      throw .invalidState("not our turn to write (message \(messageIndex + 1))")
    }
    var out: [UInt8] = []
    switch messageIndex {
    case 0:  // → e
      let e = Array(ephemeralKey.publicKey.rawRepresentation)
      out += e
      symmetric.mixHash(e)
    case 1:  // ← e, ee, s, es
      guard let re = remoteEphemeral else { throw .invalidState("no remote ephemeral") }
      let e = Array(ephemeralKey.publicKey.rawRepresentation)
      out += e
      symmetric.mixHash(e)
      symmetric.mixKey(try Self.dh(ephemeralKey, re))
      out += try symmetric.encryptAndHash(localStaticPublicKey)
      symmetric.mixKey(try Self.dh(staticKey, re))
    default:  // → s, se
      guard let re = remoteEphemeral else { throw .invalidState("no remote ephemeral") }
      out += try symmetric.encryptAndHash(localStaticPublicKey)
      symmetric.mixKey(try Self.dh(staticKey, re))
    }
    out += try symmetric.encryptAndHash(payload)
    messageIndex += 1
    return out
  }

  /// Reads the next handshake message and returns its decrypted payload.
  mutating func readMessage(_ message: [UInt8]) throws(NoiseError) -> [UInt8] {
    guard !isMyTurnToWrite, !isComplete else {
      throw .invalidState("not our turn to read (message \(messageIndex + 1))")
    }
    var rest = message[...]
    func take(_ n: Int) throws(NoiseError) -> [UInt8] {
      guard rest.count >= n else { throw .truncatedMessage(expected: n, got: rest.count) }
      let part = Array(rest.prefix(n))
      rest = rest.dropFirst(n)
      return part
    }
    switch messageIndex {
    case 0:  // → e
      let re = try take(32)
      remoteEphemeral = try Self.publicKey(re)
      symmetric.mixHash(re)
    case 1:  // ← e, ee, s, es
      let re = try take(32)
      let rePub = try Self.publicKey(re)
      remoteEphemeral = rePub
      symmetric.mixHash(re)
      symmetric.mixKey(try Self.dh(ephemeralKey, rePub))
      let rs = try symmetric.decryptAndHash(try take(48))
      let rsPub = try Self.publicKey(rs)
      remoteStatic = rsPub
      symmetric.mixKey(try Self.dh(ephemeralKey, rsPub))
    default:  // → s, se
      let rs = try symmetric.decryptAndHash(try take(48))
      let rsPub = try Self.publicKey(rs)
      remoteStatic = rsPub
      symmetric.mixKey(try Self.dh(ephemeralKey, rsPub))
    }
    if symmetric.cipher.hasKey && rest.count < 16 { throw .truncatedMessage(expected: 16, got: rest.count) }
    let payload = try symmetric.decryptAndHash(Array(rest))
    messageIndex += 1
    return payload
  }

  /// The transport ciphers (OpenSSL EVP) as (send, receive) for this role.
  func transportCiphers() throws(NoiseError) -> (send: NoiseTransportCipher, receive: NoiseTransportCipher) {
    guard isComplete else { throw .invalidState("handshake not complete") }
    let (k1, k2) = symmetric.splitKeys()
    let (sendKey, receiveKey) = role == .initiator ? (k1, k2) : (k2, k1)
    return (
      NoiseTransportCipher(key: sendKey, encrypting: true), NoiseTransportCipher(key: receiveKey, encrypting: false)
    )
  }

  /// The transport ciphers as (send, receive) for this role.
  func split() throws(NoiseError) -> (send: NoiseCipherState, receive: NoiseCipherState) {
    guard isComplete else { throw .invalidState("handshake not complete") }
    let (c1, c2) = symmetric.split()
    return role == .initiator ? (c1, c2) : (c2, c1)
  }
}
