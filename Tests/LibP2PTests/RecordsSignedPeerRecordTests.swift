import Multiformats
import Testing

@testable import LibP2P

@Suite("Records: signed envelopes and peer records")
struct RecordsSignedPeerRecordTests {
  /// libp2p.md §4 worked example: node A, seq 1, one address (bytes `047f000001 9102 2328`, i.e. udp/9000;
  /// the spec's annotation says 9001 but the bytes, checked upstream, encode 9000).
  static let envelopeHex = """
    0a25080212210375dea2b0552bb77de18f4ba8360997d1afa51c4fbe1a792a44002f93725b3e53
    12020301
    1a380a270025080212210375dea2b0552bb77de18f4ba8360997d1afa51c4fbe1a792a44002f93725b3e53
    1001
    1a0b0a09047f00000191022328
    2a47304502210090ff041a285940521e90ee2874967a846cb96dcda67147a1b7c492705efbb86b
    02204c42833653e7f0d8a219c5a6a50de3e4a0d2242a7043e6cac208514047313edc
    """
  static let sprText =
    "spr:CiUIAhIhA3XeorBVK7d94Y9LqDYJl9GvpRxPvhp5KkQAL5NyWz5TEgIDARo4CicAJQgCEiEDdd6isFUrt33hj0uoNgmX0a-lHE--GnkqRAAvk3JbPlMQARoLCgkEfwAAAZECIygqRzBFAiEAkP8EGihZQFIekO4odJZ6hGy5bc2mcUeht8SScF77uGsCIExCgzZT5_DYohnFpqUN4-Sg0iQqcEPmysIIUUBHMT7c"

  /// dht.md §10.1 NODES example records (each with /ip4/0.0.0.0/udp/1, /udp/2, /udp/3).
  static let dhtRecords = [
    "spr:CiUIAhIhAjOdSH7SNzktg3kZUNyJHwY23mmMH6BR6gGuP6WL14WAEgIDARpWCicAJQgCEiECM51IftI3OS2DeRlQ3IkfBjbeaYwfoFHqAa4_pYvXhYAQnP2JkgYaCwoJBAAAAACRAgABGgsKCQQAAAAAkQIAAhoLCgkEAAAAAJECAAMqRzBFAiEAjMd_0mXjPJVRdLn0ligEiy1ypjlayzDwup2QU2-hpdUCIH-o5bq46N3umISo4kSwmQIo41RrWptoSGMqvZJHluV2",
    "spr:CiUIAhIhAmvtpc_d8c2JEw57W7YJK6wj20oES_hHMoqgMQ3RI6RFEgIDARpWCicAJQgCEiECa-2lz93xzYkTDntbtgkrrCPbSgRL-EcyiqAxDdEjpEUQnP2JkgYaCwoJBAAAAACRAgABGgsKCQQAAAAAkQIAAhoLCgkEAAAAAJECAAMqRjBEAiA9QbGnjF5tmMm08_yyE9wWrk3lChyHFaspxRav5kiLTgIgWEHQnpKz0vGtcse8Bm5WHatXMgiG8_u_Jy0s8XMsolk",
  ]

  @Test func sealReproducesTheSpecEnvelope() throws {
    let key = try PrivateKey(secp256k1Secret: TestKeys.nodeASecret)
    let address = try Multiaddr(bytes: TestHex.decode("047f00000191022328"))
    #expect(address.description == "/ip4/127.0.0.1/udp/9000")
    let signed = try SignedPeerRecord.seal(key: key, seq: 1, addresses: [address])
    #expect(TestHex.encode(signed.bytes) == TestHex.encode(TestHex.decode(Self.envelopeHex)))
    #expect(signed.bytes.count == 174)  // dht.md §10.3: a 174-byte SPR
    #expect(signed.text == Self.sprText)
  }

  @Test func openTheSpecEnvelopeAndText() throws {
    let bytes = TestHex.decode(Self.envelopeHex)
    let signed = try SignedPeerRecord.open(bytes)
    #expect(signed.record.peerID.description == "16Uiu2HAmLb6x8CmU6v6Mopiftir16SeBnhcat5dWwKCxbs3P8oRt")
    #expect(signed.record.seq == 1)
    #expect(signed.record.addresses.map(\.description) == ["/ip4/127.0.0.1/udp/9000"])
    #expect(signed.envelope.payloadType == [0x03, 0x01])
    #expect(signed.envelope.publicKey.rawBytes == TestKeys.nodeAPublic)
    #expect(signed.bytes == bytes)
    let fromText = try SignedPeerRecord.open(text: Self.sprText)
    #expect(fromText == signed)
    #expect(try SignedPeerRecord.open(text: "  " + Self.sprText + "\n") == signed)
    // The envelope is also valid as a generic envelope under the peer-record domain only.
    #expect(try SignedEnvelope.open(bytes, domain: "libp2p-peer-record").payload == signed.envelope.payload)
    #expect(throws: RecordError.self) { try SignedEnvelope.open(bytes, domain: "libp2p-routing-state") }
  }

  @Test func dhtNodesRecordsVerify() throws {
    for text in Self.dhtRecords {
      let signed = try SignedPeerRecord.open(text: text)
      #expect(
        signed.record.addresses.map(\.description) == [
          "/ip4/0.0.0.0/udp/1", "/ip4/0.0.0.0/udp/2", "/ip4/0.0.0.0/udp/3",
        ])
      #expect(signed.record.seq > 1_600_000_000 && signed.record.seq < 2_000_000_000)  // Unix seconds
      #expect(signed.text == text)
      #expect(signed.peerID.description.hasPrefix("16Uiu2HA"))
    }
  }

  @Test func roundTripWithGeneratedKeysAndPy2pStyleAddresses() throws {
    let key = PrivateKey.generateSecp256k1()
    let id = key.publicKey.peerID
    let addresses = [
      try Multiaddr(string: "/ip4/10.1.2.3/tcp/8070"),
      try Multiaddr(string: "/ip4/10.1.2.3/tcp/8070/p2p/\(id)"),
      try Multiaddr(string: "/ip6/::1/udp/8090"),
    ]
    let nanoseconds: UInt64 = 1_764_000_000_123_456_789
    let signed = try SignedPeerRecord.seal(key: key, seq: nanoseconds, addresses: addresses)
    let opened = try SignedPeerRecord.open(signed.bytes)
    #expect(opened.record == PeerRecord(peerID: id, seq: nanoseconds, addresses: addresses))
    #expect(try SignedPeerRecord.open(text: signed.text) == opened)

    let ed = PrivateKey.generateEd25519()
    let edSigned = try SignedPeerRecord.seal(key: ed, seq: 0, addresses: [])
    #expect(try SignedPeerRecord.open(edSigned.bytes).peerID == ed.publicKey.peerID)
  }

  @Test func validityRulesAreEnforced() throws {
    let key = PrivateKey.generateSecp256k1()
    let other = PrivateKey.generateSecp256k1()
    func code(_ body: () throws -> Void) -> RecordError.Code? {
      do { try body() } catch { return (error as? RecordError)?.code }
      return nil
    }
    // Sealing someone else's record.
    #expect(
      code {
        _ = try SignedPeerRecord.seal(PeerRecord(peerID: other.publicKey.peerID, seq: 1, addresses: []), key: key)
      } == .peerIDMismatch)
    // An envelope signed by `key` around a record naming `other`.
    let foreign = PeerRecord(peerID: other.publicKey.peerID, seq: 1, addresses: []).protobufEncoded
    let mismatched = try SignedEnvelope.seal(
      payload: foreign, payloadType: PeerRecord.payloadType, domain: PeerRecord.domain, key: key)
    #expect(code { _ = try SignedPeerRecord.open(mismatched.bytes) } == .peerIDMismatch)
    // Wrong payload type.
    let ownRecord = PeerRecord(peerID: key.publicKey.peerID, seq: 1, addresses: []).protobufEncoded
    let wrongType = try SignedEnvelope.seal(
      payload: ownRecord, payloadType: [0x03, 0x02], domain: PeerRecord.domain, key: key)
    #expect(code { _ = try SignedPeerRecord.open(wrongType.bytes) } == .wrongPayloadType)
    // Wrong domain.
    let wrongDomain = try SignedEnvelope.seal(
      payload: ownRecord, payloadType: PeerRecord.payloadType, domain: "other", key: key)
    #expect(code { _ = try SignedPeerRecord.open(wrongDomain.bytes) } == .invalidSignature)
    #expect(wrongDomain.isValid(domain: "other"))
    // A flipped payload bit.
    var tampered = TestHex.decode(Self.envelopeHex)
    tampered[60] ^= 0x01
    #expect(code { _ = try SignedPeerRecord.open(tampered) } != nil)
    // Text forms.
    #expect(code { _ = try SignedPeerRecord.open(text: "spr:") } == .invalidText)
    #expect(code { _ = try SignedPeerRecord.open(text: String(Self.sprText.dropFirst(4))) } == .invalidText)
    #expect(code { _ = try SignedPeerRecord.open(text: "spr:!!!!") } == .invalidText)
    #expect(code { _ = try SignedPeerRecord.open(text: "spr:AAAA") } == .malformedEnvelope)
  }

  @Test func envelopeSigningInputLayout() {
    let input = SignedEnvelope.signingInput(domain: "libp2p-peer-record", payloadType: [3, 1], payload: [9, 9, 9])
    #expect(input == [18] + Array("libp2p-peer-record".utf8) + [2, 3, 1, 3, 9, 9, 9])
  }

  @Test func peerRecordDecodingIsLenient() throws {
    let id = PrivateKey.generateSecp256k1().publicKey.peerID
    // No seq, an unknown field, one undecodable address and one good one.
    var writer = MinProtobuf.Writer()
    writer.writeBytes(field: 1, id.bytes)
    writer.writeBytes(field: 9, [1, 2, 3])
    var bad = MinProtobuf.Writer()
    bad.writeBytes(field: 1, [0x7f, 0x00])
    writer.writeBytes(field: 3, bad.bytes)
    var good = MinProtobuf.Writer()
    good.writeBytes(field: 1, try Multiaddr(string: "/ip4/1.2.3.4/tcp/5").bytes)
    writer.writeBytes(field: 3, good.bytes)
    let record = try PeerRecord(protobufEncoded: writer.bytes)
    #expect(record.seq == 0)
    #expect(record.peerID == id)
    #expect(record.addresses.map(\.description) == ["/ip4/1.2.3.4/tcp/5"])
    #expect(throws: RecordError.self) { try PeerRecord(protobufEncoded: [0x10, 0x01]) }
  }

  @Test func fuzzEnvelopeRecordAndTextDecoders() throws {
    var rng = TestRNG(seed: 0x5E41)
    let seeds = [TestHex.decode(Self.envelopeHex)] + Self.dhtRecords.map { try! SignedPeerRecord.open(text: $0).bytes }
    let payloads = seeds.map { try! SignedEnvelope(decoding: $0).payload }
    var opened = 0
    for iteration in 0..<3000 {
      let seed = seeds[iteration % seeds.count]
      let input = iteration % 5 == 0 ? rng.bytes(Int.random(in: 0..<200, using: &rng)) : rng.mutate(seed)
      if let envelope = try? SignedEnvelope(decoding: input) { _ = envelope.isValid(domain: PeerRecord.domain) }
      if let signed = try? SignedPeerRecord.open(input) {
        opened += 1
        // Only mutations that leave the signed content intact can survive.
        #expect(signed.envelope.payload == (try SignedEnvelope(decoding: seed).payload))
      }
      let payload =
        iteration % 4 == 0
        ? rng.bytes(Int.random(in: 0..<80, using: &rng)) : rng.mutate(payloads[iteration % payloads.count])
      if let record = try? PeerRecord(protobufEncoded: payload) { _ = record.protobufEncoded }
      var text = Array(Self.sprText.utf8)
      text = rng.mutate(text).map { $0 & 0x7f }
      if let signed = try? SignedPeerRecord.open(text: String(decoding: text, as: UTF8.self)) {
        #expect(signed.peerID.description == "16Uiu2HAmLb6x8CmU6v6Mopiftir16SeBnhcat5dWwKCxbs3P8oRt")
      }
    }
  }
}
