import Crypto
import Testing

@testable import LibP2P

@Suite("Crypto: keys and signatures")
struct CryptoKeyTests {
  @Test func secp256k1KeyProtobufVectors() throws {
    let key = try PrivateKey(secp256k1Secret: TestKeys.nodeASecret)
    #expect(key.protobufEncoded == [0x08, 0x02, 0x12, 0x20] + TestKeys.nodeASecret)
    #expect(key.protobufEncoded.count == 36)
    #expect(key.publicKey.rawBytes == TestKeys.nodeAPublic)
    #expect(key.publicKey.protobufEncoded == [0x08, 0x02, 0x12, 0x21] + TestKeys.nodeAPublic)
    #expect(key.publicKey.protobufEncoded.count == 37)
    let keyB = try PrivateKey(secp256k1Secret: TestKeys.nodeBSecret)
    #expect(keyB.publicKey.rawBytes == TestKeys.nodeBPublic)

    let decoded = try PrivateKey(protobufEncoded: key.protobufEncoded)
    #expect(decoded.secp256k1Secret == TestKeys.nodeASecret)
    let decodedPublic = try PublicKey(protobufEncoded: key.publicKey.protobufEncoded)
    #expect(decodedPublic == key.publicKey)
    #expect(decodedPublic.keyType == .secp256k1)
  }

  @Test func generatedKeysRoundTrip() throws {
    for _ in 0..<8 {
      let key = PrivateKey.generateSecp256k1()
      let again = try PrivateKey(protobufEncoded: key.protobufEncoded)
      #expect(again.publicKey == key.publicKey)
      #expect(key.publicKey.rawBytes.count == 33)
      #expect(key.publicKey.rawBytes[0] == 0x02 || key.publicKey.rawBytes[0] == 0x03)
    }
    #expect(PrivateKey.generateSecp256k1().publicKey != PrivateKey.generateSecp256k1().publicKey)
  }

  @Test func secp256k1SignVerifyRoundTrip() throws {
    let key = PrivateKey.generateSecp256k1()
    let other = PrivateKey.generateSecp256k1()
    var rng = TestRNG(seed: 1)
    for length in [0, 1, 31, 32, 33, 200] {
      let message = rng.bytes(length)
      let signature = try key.sign(message)
      #expect(key.publicKey.verify(signature: signature, for: message))
      #expect(!other.publicKey.verify(signature: signature, for: message))
      #expect(!key.publicKey.verify(signature: signature, for: message + [0]))
      // Deterministic (RFC 6979).
      #expect(try key.sign(message) == signature)
    }
  }

  @Test func derEncodingIsStrictAndBounded() throws {
    let key = PrivateKey.generateSecp256k1()
    var rng = TestRNG(seed: 2)
    for _ in 0..<64 {
      let signature = try key.sign(rng.bytes(20))
      #expect(signature.count <= 72 && signature.count >= 8)
      #expect(signature[0] == 0x30)
      #expect(Int(signature[1]) == signature.count - 2)
      let (r, s) = try #require(DER.integers(signature))
      #expect(r.count <= 33 && s.count <= 33)
      // Minimal: a leading zero only when the next byte has its high bit set.
      for integer in [r, s] where integer.count > 1 && integer[0] == 0 { #expect(integer[1] & 0x80 != 0) }
      #expect(!Secp256k1.isHighS(signature))
    }
  }

  @Test func nonCanonicalDerIsRejected() throws {
    let key = PrivateKey.generateSecp256k1()
    let message: [UInt8] = Array("hello".utf8)
    let signature = try key.sign(message)
    let (r, s) = try #require(DER.integers(signature))
    // Extra zero padding on r: BER-ish, must not verify.
    let padded = DER.encode(r: [0] + r, s: s)
    #expect(!key.publicKey.verify(signature: padded, for: message))
    // Trailing garbage after the sequence.
    #expect(!key.publicKey.verify(signature: signature + [0], for: message))
    // Raw r‖s (compact) is not DER.
    let compact = DER.fixed32(r) + DER.fixed32(s)
    #expect(!key.publicKey.verify(signature: compact, for: message))
    #expect(key.publicKey.verify(signature: DER.encode(r: r, s: s), for: message))
  }

  @Test func highSIsRejected() throws {
    let key = PrivateKey.generateSecp256k1()
    let message: [UInt8] = Array("low-S only".utf8)
    let signature = try key.sign(message)
    let (r, s) = try #require(DER.integers(signature))
    let highS = DER.subtractFromOrder(DER.fixed32(s))
    let malleated = DER.encode(r: DER.minimal(r), s: DER.minimal(highS))
    #expect(Secp256k1.isHighS(malleated))
    #expect(!key.publicKey.verify(signature: malleated, for: message))
  }

  @Test func codexDhtIdSignatureVector() throws {
    // dht.md §10.2: id-signature with static secret fb757dc5…, signed over SHA-256 of the input by libp2p
    // `sign` (which hashes again).
    let key = try PrivateKey(
      secp256k1Secret: TestHex.decode(
        "fb757dc581730490a1d7a00deea65e9b1936924caaea8f44d476014856b68736"))
    let challenge = TestHex.decode(
      "000000000000000000000000000000006469736376350001010102030405060708090a0b0c00180102030405060708090a0b0c0d0e0f100000000000000000"
    )
    let ephemeral = TestHex.decode("039961e4c2356d61bedb83052c115d311acb3a96f5777296dcf297351130266231")
    let nodeIdB = TestHex.decode("bbbb9d047f0488c0b5a93c1c3f2d8bafc7c8ff337024a55434a0d0555de64db9")
    let input = Array("discovery v5 identity proof".utf8) + challenge + ephemeral + nodeIdB
    let inner = Array(SHA256.hash(data: input))

    let double = try key.sign(inner)
    let (r, s) = try #require(DER.integers(double))
    #expect(
      TestHex.encode(DER.fixed32(r) + DER.fixed32(s))
        == "db0ae930a460fd767cb26a519221e6be5edc3501865406d8af6d215f87ebf35b07563d891082d97147d9499f49bb86ee399f57367af1b866674f9e54760e3a21"
    )
    #expect(key.publicKey.verify(signature: double, for: inner))
    #expect(key.publicKey.verify(signature: double, digest: Array(SHA256.hash(data: inner))))

    let single = try key.sign(digest: inner)
    let (r1, s1) = try #require(DER.integers(single))
    #expect(
      TestHex.encode(DER.fixed32(r1) + DER.fixed32(s1))
        == "94852a1e2318c4e5e9d422c98eaf19d1d90d876b29cd06ca7cb7546d0fff7b484fe86c09a064fe72bdbef73ba8e9c34df0cd2b53e9d65528c2c7f336d5dfc6e6"
    )
    #expect(key.publicKey.verify(signature: single, digest: inner))
    #expect(throws: KeyError.self) { try key.sign(digest: [1, 2, 3]) }
  }

  @Test func ecdhCompressedPointVector() throws {
    // dht.md §10.2.
    let key = try PrivateKey(
      secp256k1Secret: TestHex.decode(
        "fb757dc581730490a1d7a00deea65e9b1936924caaea8f44d476014856b68736"))
    let remote = try PublicKey(
      secp256k1: TestHex.decode(
        "039961e4c2356d61bedb83052c115d311acb3a96f5777296dcf297351130266231"))
    #expect(
      TestHex.encode(try key.sharedPoint(with: remote))
        == "033b11a2a1f214567e1537ce5e509ffd9b21373247f2a3ff6841f4976f53165e7e")
    // The hashed variant is SHA-256 of that point.
    let point = try key.sharedPoint(with: remote)
    #expect(try key.sharedSecret(with: remote) == Array(SHA256.hash(data: point)))
    // Symmetric.
    let a = PrivateKey.generateSecp256k1()
    let b = PrivateKey.generateSecp256k1()
    #expect(try a.sharedPoint(with: b.publicKey) == b.sharedPoint(with: a.publicKey))
    #expect(throws: KeyError.self) { try a.sharedPoint(with: PrivateKey.generateEd25519().publicKey) }
  }

  @Test func ed25519CrossCheckWithSwiftCrypto() throws {
    let native = Curve25519.Signing.PrivateKey()
    let message: [UInt8] = Array("ed25519 interop".utf8)
    let signature = Array(try native.signature(for: message))
    let publicKey = try PublicKey(
      protobufEncoded: [0x08, 0x01, 0x12, 0x20] + Array(native.publicKey.rawRepresentation))
    #expect(publicKey.keyType == .ed25519)
    #expect(publicKey.verify(signature: signature, for: message))
    #expect(!publicKey.verify(signature: signature, for: message + [1]))
    #expect(!publicKey.verify(signature: Array(signature.dropLast()), for: message))

    let ours = PrivateKey.generateEd25519()
    let ourSignature = try ours.sign(message)
    let theirs = try Curve25519.Signing.PublicKey(rawRepresentation: ours.publicKey.rawBytes)
    #expect(theirs.isValidSignature(ourSignature, for: message))
    let decoded = try PrivateKey(protobufEncoded: ours.protobufEncoded)
    #expect(decoded.publicKey == ours.publicKey)
    #expect(ours.protobufEncoded.count == 68)
  }

  @Test func ecdsaP256Verify() throws {
    let native = P256.Signing.PrivateKey()
    let message: [UInt8] = Array("p256".utf8)
    let signature = try native.signature(for: message)
    let publicKey = try PublicKey(keyType: .ecdsa, rawBytes: Array(native.publicKey.derRepresentation))
    #expect(publicKey.verify(signature: Array(signature.derRepresentation), for: message))
    #expect(!publicKey.verify(signature: Array(signature.derRepresentation), for: message + [0]))
  }

  @Test func invalidKeysAreTypedErrors() {
    func code(_ body: () throws -> Void) -> KeyError.Code? {
      do { try body() } catch { return (error as? KeyError)?.code }
      return nil
    }
    #expect(code { _ = try PrivateKey(secp256k1Secret: [UInt8](repeating: 0, count: 32)) } == .invalidKey)
    #expect(code { _ = try PrivateKey(secp256k1Secret: [UInt8](repeating: 0xff, count: 32)) } == .invalidKey)
    #expect(code { _ = try PrivateKey(secp256k1Secret: [1]) } == .invalidKey)
    #expect(code { _ = try PublicKey(secp256k1: [0x02] + [UInt8](repeating: 0xff, count: 32)) } == .invalidKey)
    #expect(code { _ = try PublicKey(protobufEncoded: []) } == .malformedProtobuf)
    #expect(code { _ = try PublicKey(protobufEncoded: [0x08, 0x07, 0x12, 0x00]) } == .unsupportedKeyType)
    #expect(code { _ = try PublicKey(protobufEncoded: [0x08, 0x02, 0x12, 0x21]) } == .malformedProtobuf)
    #expect(code { _ = try PrivateKey(protobufEncoded: [0x08, 0x00, 0x12, 0x01, 0x00]) } == .unsupportedKeyType)
    #expect(code { _ = try PublicKey(keyType: .ecdsa, rawBytes: [1, 2, 3]) } == .unsupportedKeyType)
  }

  @Test func publicKeyProtobufAcceptsUnknownFieldsAndReordering() throws {
    let pub = TestKeys.nodeAPublic
    let reordered: [UInt8] = [0x12, 0x21] + pub + [0x08, 0x02] + [0x1a, 0x01, 0xff]
    let key = try PublicKey(protobufEncoded: reordered)
    #expect(key.protobufEncoded == [0x08, 0x02, 0x12, 0x21] + pub)
  }

  @Test func fuzzKeyDecoders() {
    var rng = TestRNG(seed: 0xC0DEC)
    let seeds: [[UInt8]] = [
      [0x08, 0x02, 0x12, 0x21] + TestKeys.nodeAPublic,
      [0x08, 0x02, 0x12, 0x20] + TestKeys.nodeASecret,
      PrivateKey.generateEd25519().protobufEncoded,
      PrivateKey.generateEd25519().publicKey.protobufEncoded,
    ]
    var accepted = 0
    for iteration in 0..<4000 {
      let input =
        iteration % 4 == 0
        ? rng.bytes(Int.random(in: 0..<80, using: &rng))
        : rng.mutate(seeds[iteration % seeds.count])
      do {
        let key = try PublicKey(protobufEncoded: input)
        accepted += 1
        _ = key.verify(signature: input, for: input)
        _ = key.protobufEncoded
      } catch {
        _ = error.message
      }
      do {
        let key = try PrivateKey(protobufEncoded: input)
        _ = try key.sign(input)
      } catch {
        _ = error.code
      }
      let anyKey = PublicKey.self
      _ = anyKey
    }
    #expect(accepted > 0)
  }

  @Test func fuzzSignatureVerification() throws {
    let key = PrivateKey.generateSecp256k1()
    let message: [UInt8] = Array("fuzz".utf8)
    let signature = try key.sign(message)
    var rng = TestRNG(seed: 77)
    for _ in 0..<3000 {
      let mutated = rng.mutate(signature)
      if mutated != signature { #expect(!key.publicKey.verify(signature: mutated, for: message)) }
      _ = key.publicKey.verify(signature: rng.bytes(Int.random(in: 0..<100, using: &rng)), for: message)
    }
  }
}

/// Minimal DER helpers for the tests (independent of the code under test).
enum DER {
  static func integers(_ der: [UInt8]) -> ([UInt8], [UInt8])? {
    guard der.count >= 8, der[0] == 0x30, Int(der[1]) == der.count - 2, der[2] == 0x02 else { return nil }
    let rLength = Int(der[3])
    guard 4 + rLength + 2 <= der.count, der[4 + rLength] == 0x02 else { return nil }
    let r = Array(der[4..<(4 + rLength)])
    let sLength = Int(der[5 + rLength])
    guard 6 + rLength + sLength == der.count else { return nil }
    let s = Array(der[(6 + rLength)...])
    return (r, s)
  }

  static func encode(r: [UInt8], s: [UInt8]) -> [UInt8] {
    let body = [0x02, UInt8(r.count)] + r + [0x02, UInt8(s.count)] + s
    return [0x30, UInt8(body.count)] + body
  }

  static func fixed32(_ integer: [UInt8]) -> [UInt8] {
    let trimmed = Array(integer.drop { $0 == 0 })
    return [UInt8](repeating: 0, count: 32 - trimmed.count) + trimmed
  }

  static func minimal(_ integer: [UInt8]) -> [UInt8] {
    var trimmed = Array(integer.drop { $0 == 0 })
    if trimmed.isEmpty { return [0] }
    if trimmed[0] & 0x80 != 0 { trimmed.insert(0, at: 0) }
    return trimmed
  }

  /// n − x for the secp256k1 group order n, x as 32 big-endian bytes.
  static func subtractFromOrder(_ x: [UInt8]) -> [UInt8] {
    let order = TestHex.decode("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141")
    var out = [UInt8](repeating: 0, count: 32)
    var borrow = 0
    for index in (0..<32).reversed() {
      var difference = Int(order[index]) - Int(x[index]) - borrow
      borrow = difference < 0 ? 1 : 0
      if difference < 0 { difference += 256 }
      out[index] = UInt8(difference)
    }
    return out
  }
}
