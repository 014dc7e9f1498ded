import Crypto
import Foundation
import NIOCore
import Testing

@testable import LibP2P

/// Checks our Noise XX against an independent implementation: `NoiseVectors/noise_xx_vector.json` was computed
/// by the PyPI package `noiseprotocol` 0.3.1 (see `make_noise_xx_vector.py` beside it) with fixed static and
/// ephemeral keys. The libp2p handshake payload is replaced by fixed bytes: what is checked is the Noise
/// framing and cryptography (DH, HKDF, hashing, ChaChaPoly, nonces, split).
@Suite("Noise XX test vector (noiseprotocol)")
struct NoiseXXVectorTests {
  struct Vector: Decodable {
    struct Transport: Decodable {
      var from: String
      var nonce: UInt64
      var plaintext: String
      var ciphertext: String
    }
    var protocol_: String
    var initiator_static: String
    var initiator_ephemeral: String
    var responder_static: String
    var responder_ephemeral: String
    var payloads: [String]
    var messages: [String]
    var handshake_hash: String
    var transport: [Transport]

    enum CodingKeys: String, CodingKey {
      case protocol_ = "protocol"
      case initiator_static, initiator_ephemeral, responder_static, responder_ephemeral, payloads, messages
      case handshake_hash, transport
    }
  }

  static func load() throws -> Vector {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .appendingPathComponent("NoiseVectors/noise_xx_vector.json")
    return try JSONDecoder().decode(Vector.self, from: Data(contentsOf: url))
  }

  static func key(_ hex: String) throws -> Curve25519.KeyAgreement.PrivateKey {
    try Curve25519.KeyAgreement.PrivateKey(rawRepresentation: P2PHex.decode(hex))
  }

  /// Runs the handshake with the vector's keys and payloads, checking every message on the way.
  static func replay(_ v: Vector) throws -> (NoiseXXHandshake, NoiseXXHandshake) {
    var i = NoiseXXHandshake(
      role: .initiator, staticKey: try key(v.initiator_static), ephemeralKey: try key(v.initiator_ephemeral))
    var r = NoiseXXHandshake(
      role: .responder, staticKey: try key(v.responder_static), ephemeralKey: try key(v.responder_ephemeral))
    let payloads = v.payloads.map(P2PHex.decode)
    let m1 = try i.writeMessage(payload: payloads[0])
    #expect(P2PHex.encode(m1) == v.messages[0])
    #expect(try r.readMessage(m1) == payloads[0])
    let m2 = try r.writeMessage(payload: payloads[1])
    #expect(P2PHex.encode(m2) == v.messages[1])
    #expect(try i.readMessage(m2) == payloads[1])
    let m3 = try i.writeMessage(payload: payloads[2])
    #expect(P2PHex.encode(m3) == v.messages[2])
    #expect(try r.readMessage(m3) == payloads[2])
    return (i, r)
  }

  @Test("handshake messages and handshake hash equal noiseprotocol's bytes")
  func handshakeMatches() throws {
    let v = try Self.load()
    #expect(v.protocol_ == NoiseSymmetricState.protocolName)
    let (i, r) = try Self.replay(v)
    #expect(i.isComplete && r.isComplete)
    #expect(P2PHex.encode(i.handshakeHash) == v.handshake_hash)
    #expect(P2PHex.encode(r.handshakeHash) == v.handshake_hash)
  }

  @Test("received vector messages decrypt to the vector's payloads (responder and initiator reading)")
  func readsVectorMessages() throws {
    let v = try Self.load()
    var r = NoiseXXHandshake(
      role: .responder, staticKey: try Self.key(v.responder_static), ephemeralKey: try Self.key(v.responder_ephemeral))
    #expect(try r.readMessage(P2PHex.decode(v.messages[0])) == P2PHex.decode(v.payloads[0]))
    _ = try r.writeMessage(payload: P2PHex.decode(v.payloads[1]))
    #expect(try r.readMessage(P2PHex.decode(v.messages[2])) == P2PHex.decode(v.payloads[2]))
    // A flipped bit in the third message fails authentication.
    var bad = NoiseXXHandshake(
      role: .responder, staticKey: try Self.key(v.responder_static), ephemeralKey: try Self.key(v.responder_ephemeral))
    _ = try bad.readMessage(P2PHex.decode(v.messages[0]))
    _ = try bad.writeMessage(payload: P2PHex.decode(v.payloads[1]))
    var m3 = P2PHex.decode(v.messages[2])
    m3[m3.count - 1] ^= 1
    #expect(throws: NoiseError.self) { _ = try bad.readMessage(m3) }
  }

  @Test("transport keys: OpenSSL transport ciphers (one-shot and piecewise sealing) match the vector")
  func transportMatches() throws {
    let v = try Self.load()
    let (i, r) = try Self.replay(v)
    let (iSend, iReceive) = try i.transportCiphers()
    let (rSend, rReceive) = try r.transportCiphers()
    for t in v.transport {
      let (send, receive) = t.from == "initiator" ? (iSend, rReceive) : (rSend, iReceive)
      #expect(send.nonce == t.nonce)
      let plain = P2PHex.decode(t.plaintext)
      var sealed = [UInt8](repeating: 0, count: plain.count + 16)
      try plain.withUnsafeBytes { input in
        try sealed.withUnsafeMutableBytes { output in try send.seal(input, into: output) }
      }
      #expect(P2PHex.encode(sealed) == t.ciphertext)
      var opened = [UInt8](repeating: 0, count: plain.count)
      let n = try P2PHex.decode(t.ciphertext).withUnsafeBytes { input in
        try opened.withUnsafeMutableBytes { output in try receive.open(input, into: output) }
      }
      #expect(n == plain.count && opened == plain)
    }
    // Piecewise sealing (used when small writes share a frame) produces the same bytes.
    let (iSend2, _) = try i.transportCiphers()
    let first = v.transport[0]
    let plain = P2PHex.decode(first.plaintext)
    var sealed = [UInt8](repeating: 0, count: plain.count + 16)
    try iSend2.sealBegin()
    try plain.withUnsafeBytes { input in
      try sealed.withUnsafeMutableBytes { output in
        try iSend2.sealUpdate(UnsafeRawBufferPointer(rebasing: input[..<5]), into: output)
        try iSend2.sealUpdate(
          UnsafeRawBufferPointer(rebasing: input[5...]), into: UnsafeMutableRawBufferPointer(rebasing: output[5...]))
        try iSend2.sealFinish(tag: UnsafeMutableRawBufferPointer(rebasing: output[plain.count...]))
      }
    }
    #expect(P2PHex.encode(sealed) == first.ciphertext)
  }

  @Test("swift-crypto split cipher states agree with the vector too")
  func splitCipherStatesMatch() throws {
    let v = try Self.load()
    let (i, _) = try Self.replay(v)
    var (send, _) = try i.split()
    let plain = P2PHex.decode(v.transport[0].plaintext)
    let sealed = try send.encrypt(ad: [UInt8](), plaintext: plain)
    #expect(P2PHex.encode(sealed) == v.transport[0].ciphertext)
  }
}
