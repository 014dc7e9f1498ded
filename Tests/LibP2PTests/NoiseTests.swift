import Crypto
import NIOCore
import NIOEmbedded
import Testing

@testable import LibP2P
import Multiformats

@Suite("Noise XX")
struct NoiseTests {
  /// Runs a complete XX handshake between two state machines; returns both.
  static func handshake(
    initiatorPayload: [UInt8] = [1], responderPayload: [UInt8] = [2]
  ) throws -> (NoiseXXHandshake, NoiseXXHandshake, [[UInt8]]) {
    var i = NoiseXXHandshake(role: .initiator, staticKey: .init())
    var r = NoiseXXHandshake(role: .responder, staticKey: .init())
    let m1 = try i.writeMessage(payload: [])
    #expect(try r.readMessage(m1) == [])
    let m2 = try r.writeMessage(payload: responderPayload)
    #expect(try i.readMessage(m2) == responderPayload)
    let m3 = try i.writeMessage(payload: initiatorPayload)
    #expect(try r.readMessage(m3) == initiatorPayload)
    return (i, r, [m1, m2, m3])
  }

  @Test("XX handshake: message sizes, shared hash, static keys learned, split ciphers interoperate")
  func handshakeRoundTrip() throws {
    let payload = [UInt8](repeating: 7, count: 112)
    let (i, r, messages) = try Self.handshake(initiatorPayload: payload, responderPayload: payload)
    #expect(messages[0].count == 32)
    #expect(messages[1].count == 32 + 48 + 112 + 16)
    #expect(messages[2].count == 48 + 112 + 16)
    #expect(i.isComplete && r.isComplete)
    #expect(i.handshakeHash == r.handshakeHash)
    #expect(Array(i.remoteStatic!.rawRepresentation) == r.localStaticPublicKey)
    #expect(Array(r.remoteStatic!.rawRepresentation) == i.localStaticPublicKey)
    var (iSend, iRecv) = try i.split()
    var (rSend, rRecv) = try r.split()
    let msg: [UInt8] = Array("hello noise".utf8)
    let c1 = try msg.withUnsafeBytes { raw in try iSend.sealBox(raw) }
    let p1 = try (c1.ciphertext + c1.tag).withUnsafeBytes { raw in try rRecv.open(raw) }
    #expect(Array(p1) == msg)
    let c2 = try msg.withUnsafeBytes { raw in try rSend.sealBox(raw) }
    let p2 = try (c2.ciphertext + c2.tag).withUnsafeBytes { raw in try iRecv.open(raw) }
    #expect(Array(p2) == msg)
    // Replaying a frame fails: the nonce moved on.
    #expect(throws: NoiseError.decryptionFailed) {
      _ = try (c2.ciphertext + c2.tag).withUnsafeBytes { raw in try iRecv.open(raw) }
    }
  }

  @Test("OpenSSL transport cipher agrees with swift-crypto ChaChaPoly both ways; tampering fails")
  func transportCipherCrossCheck() throws {
    var rng = P2PRNG(seed: 99)
    let keyBytes = rng.bytes(32)
    let key = SymmetricKey(data: keyBytes)
    let sealer = NoiseTransportCipher(key: keyBytes, encrypting: true)
    let opener = NoiseTransportCipher(key: keyBytes, encrypting: false)
    for (n, size) in [0, 1, 100, 65519].enumerated() {
      let plain = rng.bytes(size)
      var nonce = [UInt8](repeating: 0, count: 12)
      nonce[4] = UInt8(n)
      var sealed = [UInt8](repeating: 0, count: size + 16)
      try plain.withUnsafeBytes { p in try sealed.withUnsafeMutableBytes { o in try sealer.seal(p, into: o) } }
      let box = try ChaChaPoly.SealedBox(
        nonce: ChaChaPoly.Nonce(data: nonce), ciphertext: sealed[..<size], tag: sealed[size...])
      #expect(Array(try ChaChaPoly.open(box, using: key)) == plain)
      let theirs = try ChaChaPoly.seal(plain, using: key, nonce: ChaChaPoly.Nonce(data: nonce))
      var opened = [UInt8](repeating: 0, count: size)
      let bytes = Array(theirs.ciphertext + theirs.tag)
      let length = try bytes.withUnsafeBytes { i in
        try opened.withUnsafeMutableBytes { o in try opener.open(i, into: o) }
      }
      #expect(length == size && opened == plain)
    }
    var bad = [UInt8](repeating: 0, count: 32)
    let probe = NoiseTransportCipher(key: keyBytes, encrypting: false)
    #expect(throws: NoiseError.decryptionFailed) {
      var out = [UInt8](repeating: 0, count: 16)
      _ = try bad.withUnsafeMutableBytes { i in
        try out.withUnsafeMutableBytes { o in try probe.open(UnsafeRawBufferPointer(i), into: o) }
      }
    }
    bad[0] = 1
  }

  @Test("tampered and truncated handshake messages are rejected")
  func tampered() throws {
    var i = NoiseXXHandshake(role: .initiator, staticKey: .init())
    var r = NoiseXXHandshake(role: .responder, staticKey: .init())
    _ = try r.readMessage(try i.writeMessage(payload: []))
    var m2 = try r.writeMessage(payload: [9, 9])
    m2[40] ^= 1
    #expect(throws: NoiseError.decryptionFailed) { _ = try i.readMessage(m2) }
    var j = NoiseXXHandshake(role: .responder, staticKey: .init())
    #expect(throws: NoiseError.truncatedMessage(expected: 32, got: 10)) {
      _ = try j.readMessage([UInt8](repeating: 0, count: 10))
    }
    var k = NoiseXXHandshake(role: .initiator, staticKey: .init())
    #expect(throws: NoiseError.self) { _ = try k.readMessage([]) }  // not our turn
  }

  @Test("handshake payload: signs the static key, verifies, rejects a signature over another key")
  func payload() throws {
    let identity = PrivateKey.generateSecp256k1()
    let staticKey = Curve25519.KeyAgreement.PrivateKey()
    let staticBytes = Array(staticKey.publicKey.rawRepresentation)
    let p = try NoiseHandshakePayload(signing: staticBytes, with: identity)
    let decoded = try NoiseHandshakePayload(decoding: p.encoded)
    #expect(decoded == p)
    // Two length-delimited fields: the 37-byte key protobuf and the DER signature (68–72 bytes; its length varies).
    #expect(p.identityKey.count == 37)
    #expect((68...72).contains(p.identitySignature.count))
    #expect(p.encoded.count == 2 + 37 + 2 + p.identitySignature.count)
    let (key, peer) = try decoded.verify(staticKey: staticBytes)
    #expect(key == identity.publicKey)
    #expect(peer == PeerID(publicKey: identity.publicKey))
    let other = Array(Curve25519.KeyAgreement.PrivateKey().publicKey.rawRepresentation)
    #expect(throws: NoiseError.invalidSignature) { _ = try decoded.verify(staticKey: other) }
    // Unknown fields (early data, extensions) are skipped.
    var w = MinProtobuf.Writer()
    w.writeBytes(field: 1, p.identityKey)
    w.writeBytes(field: 2, p.identitySignature)
    w.writeBytes(field: 4, [0x0a, 0x00])
    #expect(try NoiseHandshakePayload(decoding: w.bytes) == p)
    #expect(throws: NoiseError.self) { _ = try NoiseHandshakePayload(decoding: [0x0a, 0x00]) }
  }

  @Test("fuzz: random handshake messages and payloads never trap", arguments: [11, 12])
  func fuzz(seed: UInt64) throws {
    var rng = P2PRNG(seed: seed)
    let (_, _, messages) = try Self.handshake()
    let payload = try NoiseHandshakePayload(
      signing: [UInt8](repeating: 1, count: 32), with: .generateSecp256k1()
    ).encoded
    for n in 0..<400 {
      var r = NoiseXXHandshake(role: .responder, staticKey: .init())
      var bytes = rng.bytes(Int(rng.next() % 200))
      if n % 2 == 1 {
        bytes = messages[0]
        bytes[Int(rng.next() % 32)] ^= UInt8(truncatingIfNeeded: rng.next() | 1)
      }
      if let _ = try? r.readMessage(bytes) {
        _ = try? r.writeMessage(payload: [])
      }
      var i = NoiseXXHandshake(role: .initiator, staticKey: .init())
      _ = try i.writeMessage(payload: [])
      _ = try? i.readMessage(rng.bytes(Int(rng.next() % 300)))
      var mutated = payload
      for _ in 0..<(1 + Int(rng.next() % 4)) {
        mutated[Int(rng.next() % UInt64(mutated.count))] = UInt8(truncatingIfNeeded: rng.next())
      }
      if let p = try? NoiseHandshakePayload(decoding: n % 3 == 0 ? rng.bytes(Int(rng.next() % 150)) : mutated) {
        _ = try? p.verify(staticKey: rng.bytes(32))
      }
    }
  }

  /// Moves bytes between two embedded channels until both are quiet.
  static func pump(_ a: EmbeddedChannel, _ b: EmbeddedChannel) throws {
    var moved = true
    while moved {
      moved = false
      while let out = try a.readOutbound(as: ByteBuffer.self) {
        moved = true
        try b.writeInbound(out)
      }
      while let out = try b.readOutbound(as: ByteBuffer.self) {
        moved = true
        try a.writeInbound(out)
      }
    }
  }

  final class Box<T> {
    var value: T
    init(_ v: T) { value = v }
  }

  @Test("NoiseHandler pair: handshake, peer ids, encrypted transport, queued early writes")
  func handlerPair() throws {
    let ki = PrivateKey.generateSecp256k1()
    let kr = PrivateKey.generateSecp256k1()
    let a = EmbeddedChannel()
    let b = EmbeddedChannel()
    let resultA = Box<NoiseHandshakeResult?>(nil)
    let resultB = Box<NoiseHandshakeResult?>(nil)
    try a.pipeline.syncOperations.addHandler(
      NoiseHandler(
        isInitiator: true, identity: ki, expectedPeer: PeerID(publicKey: kr.publicKey),
        onComplete: { r, _ in resultA.value = r }, onFailure: { _ in }))
    try b.pipeline.syncOperations.addHandler(
      NoiseHandler(
        isInitiator: false, identity: kr, expectedPeer: nil, onComplete: { r, _ in resultB.value = r },
        onFailure: { _ in }))
    try a.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
    try b.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 2)).wait()
    // Written before the handshake completes: queued, then encrypted.
    a.writeAndFlush(ByteBuffer(string: "early"), promise: nil)
    try Self.pump(a, b)
    #expect(resultA.value?.remotePeer == PeerID(publicKey: kr.publicKey))
    #expect(resultB.value?.remotePeer == PeerID(publicKey: ki.publicKey))
    #expect(try b.readInbound(as: ByteBuffer.self) == ByteBuffer(string: "early"))
    var bigRNG = P2PRNG(seed: 5)
    let big = ByteBuffer(bytes: bigRNG.bytes(200_000))
    b.writeAndFlush(big, promise: nil)
    var wire = ByteBuffer()
    while var chunk = try b.readOutbound(as: ByteBuffer.self) { wire.writeBuffer(&chunk) }
    #expect(wire.readableBytes == 200_000 + 4 * 18)  // four frames of ≤ 65519 bytes
    try a.writeInbound(wire)
    var received = ByteBuffer()
    while var chunk = try a.readInbound(as: ByteBuffer.self) { received.writeBuffer(&chunk) }
    #expect(received == big)
    _ = try? a.finish()
    _ = try? b.finish()
  }

  @Test("NoiseHandler: wrong expected peer, tampered transport frame and early EOF fail and close")
  func handlerFailures() throws {
    // Wrong expected peer.
    let a = EmbeddedChannel()
    let b = EmbeddedChannel()
    let failure = Box<(any Error)?>(nil)
    try a.pipeline.syncOperations.addHandler(
      NoiseHandler(
        isInitiator: true, identity: .generateSecp256k1(),
        expectedPeer: PeerID(publicKey: PrivateKey.generateSecp256k1().publicKey), onComplete: { _, _ in },
        onFailure: { failure.value = $0 }))
    try b.pipeline.syncOperations.addHandler(
      NoiseHandler(
        isInitiator: false, identity: .generateSecp256k1(), expectedPeer: nil, onComplete: { _, _ in },
        onFailure: { _ in }))
    try a.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
    try b.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 2)).wait()
    #expect(throws: NoiseError.self) { try Self.pump(a, b) }
    if case .peerIDMismatch = failure.value as? NoiseError {} else { Issue.record("expected peerIDMismatch") }
    #expect(!a.isActive)

    // Tampered transport frame.
    let c = EmbeddedChannel()
    let d = EmbeddedChannel()
    let dFailure = Box<(any Error)?>(nil)
    try c.pipeline.syncOperations.addHandler(
      NoiseHandler(
        isInitiator: true, identity: .generateSecp256k1(), expectedPeer: nil, onComplete: { _, _ in },
        onFailure: { _ in }))
    try d.pipeline.syncOperations.addHandler(
      NoiseHandler(
        isInitiator: false, identity: .generateSecp256k1(), expectedPeer: nil, onComplete: { _, _ in },
        onFailure: { dFailure.value = $0 }))
    try c.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
    try d.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 2)).wait()
    try Self.pump(c, d)
    c.writeAndFlush(ByteBuffer(string: "secret"), promise: nil)
    var frame = try #require(try c.readOutbound(as: ByteBuffer.self))
    frame.setInteger(frame.getInteger(at: 4, as: UInt8.self)! ^ 0x80, at: 4)
    #expect(throws: NoiseError.decryptionFailed) { try d.writeInbound(frame) }
    #expect(!d.isActive)

    // Truncated handshake: the peer goes away after half a message.
    let e = EmbeddedChannel()
    let eFailure = Box<(any Error)?>(nil)
    try e.pipeline.syncOperations.addHandler(
      NoiseHandler(
        isInitiator: false, identity: .generateSecp256k1(), expectedPeer: nil, onComplete: { _, _ in },
        onFailure: { eFailure.value = $0 }))
    try e.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
    try e.writeInbound(ByteBuffer(bytes: [0x00, 0x20, 1, 2, 3]))
    #expect(eFailure.value == nil)
    _ = try? e.finish()
    #expect(eFailure.value != nil)
  }
}
