import Crypto
import Multiformats
import Testing

@testable import LibP2P

@Suite("Identity: peer ids")
struct IdentityPeerIDTests {
  static let nodeAText = "16Uiu2HAmLb6x8CmU6v6Mopiftir16SeBnhcat5dWwKCxbs3P8oRt"
  static let nodeABytes = TestHex.decode(
    "0025080212210375dea2b0552bb77de18f4ba8360997d1afa51c4fbe1a792a44002f93725b3e53")

  @Test func secp256k1PeerIDVector() throws {
    // libp2p.md §2.4.
    let key = try PublicKey(secp256k1: TestKeys.nodeAPublic)
    let id = PeerID(publicKey: key)
    #expect(id.bytes == Self.nodeABytes)
    #expect(id.bytes.count == 39)
    #expect(id.description == Self.nodeAText)
    #expect(try PeerID(string: Self.nodeAText) == id)
    #expect(try PeerID(bytes: Self.nodeABytes) == id)
    #expect(id.extractedPublicKey == key)
    #expect(id.matches(key))
    #expect(try PrivateKey(secp256k1Secret: TestKeys.nodeASecret).publicKey.peerID == id)
  }

  @Test func textPrefixesPerKeyType() throws {
    for _ in 0..<5 {
      #expect(PrivateKey.generateSecp256k1().publicKey.peerID.description.hasPrefix("16Uiu2HA"))
      let ed = PrivateKey.generateEd25519().publicKey
      #expect(ed.peerID.description.hasPrefix("12D3KooW"))
      #expect(ed.peerID.extractedPublicKey == ed)
    }
  }

  @Test func longKeysUseSha256() throws {
    // An RSA-typed key protobuf longer than 42 bytes is hashed: sha2-256 multihash, "Qm…" text, no inline key.
    let rsa = try PublicKey(keyType: .rsa, rawBytes: [UInt8](repeating: 0x30, count: 100))
    let id = PeerID(publicKey: rsa)
    #expect(id.bytes.count == 34)
    #expect(Array(id.bytes.prefix(2)) == [0x12, 0x20])
    #expect(Array(id.bytes.dropFirst(2)) == Array(SHA256.hash(data: rsa.protobufEncoded)))
    #expect(id.description.hasPrefix("Qm"))
    #expect(id.extractedPublicKey == nil)
    #expect(id.matches(rsa))
    #expect(try PeerID(string: id.description) == id)
  }

  @Test func multiaddrPeerID() throws {
    let address = try Multiaddr(string: "/ip4/127.0.0.1/tcp/8070/p2p/\(Self.nodeAText)")
    #expect(address.peerID?.description == Self.nodeAText)
    let id = try PeerID(string: Self.nodeAText)
    #expect(try Multiaddr(string: "/ip4/127.0.0.1/tcp/8070").appending(peerID: id) == address)
  }

  @Test(arguments: [
    "", "0", "16Uiu2HAmLb6x8CmU6v6Mopiftir16SeBnhcat5dWwKCxbs3P8oRl", "Qm",
    "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5",
    "1", "11", String(repeating: "z", count: 200), "16Uiu2HAmLb6x8CmU6v6Mopiftir16SeBnhcat5dWwKCxbs3P8oRt ",
  ])
  func invalidTextIsRejected(text: String) {
    #expect(throws: PeerIDError.self) { try PeerID(string: text) }
  }

  @Test func invalidBytesAreRejected() {
    for bytes: [UInt8] in [
      [], [0x00], [0x00, 0x00], [0x12, 0x01, 0x00], [0x11, 0x01, 0x00],
      [0x00, 0x2b] + [UInt8](repeating: 1, count: 43),
      [0x80, 0x00, 0x01, 0x01], Self.nodeABytes + [0],
    ] {
      #expect(throws: PeerIDError.self) { try PeerID(bytes: bytes) }
    }
  }

  @Test func fuzzPeerIDDecoders() {
    var rng = TestRNG(seed: 0x1D)
    var accepted = 0
    let alphabet = Array("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0Il".utf8)
    for iteration in 0..<4000 {
      let input = iteration % 3 == 0 ? rng.bytes(Int.random(in: 0..<50, using: &rng)) : rng.mutate(Self.nodeABytes)
      if let id = try? PeerID(bytes: input) {
        accepted += 1
        #expect(id.bytes == input)
        #expect((try? PeerID(string: id.description)) == id)
        _ = id.extractedPublicKey
      }
      let text = rng.mutate(Array(Self.nodeAText.utf8)).map { $0 < 128 ? $0 : alphabet[Int($0) % alphabet.count] }
      if let id = try? PeerID(string: String(decoding: text, as: UTF8.self)) {
        _ = id.extractedPublicKey
      }
    }
    #expect(accepted > 0)
  }
}
