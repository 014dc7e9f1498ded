import CodexTestSupport
import Testing

@testable import Multiformats

@Suite("Multiaddr")
struct MultiaddrTests {
  static func hex(_ text: String) -> [UInt8] { TestHex.decode(text) }

  static let peerA = "16Uiu2HAmLb6x8CmU6v6Mopiftir16SeBnhcat5dWwKCxbs3P8oRt"
  static let peerABytes = "0025080212210375dea2b0552bb77de18f4ba8360997d1afa51c4fbe1a792a44002f93725b3e53"

  /// (text, binary hex) pairs; text is canonical.
  static let vectors: [(String, String)] = [
    ("/ip4/127.0.0.1/tcp/8070", "047f000001061f86"),  // libp2p.md §3
    ("/ip4/127.0.0.1/udp/8090", "047f00000191021f9a"),  // libp2p.md §3
    // libp2p.md §4 record address: the spec text says udp/9001 but its bytes 0x2328 are port 9000.
    ("/ip4/127.0.0.1/udp/9000", "047f000001910223 28"),
    ("/ip4/127.0.0.1/udp/9001", "047f000001910223 29"),
    ("/ip4/0.0.0.0/tcp/0", "0400000000060000"),
    ("/ip6/::1/tcp/4001", "2900000000000000000000000000000001060fa1"),
    ("/ip6/2001:db8::1/udp/1", "2920010db8000000000000000000000001910200 01"),
    ("/dns4/example.com/tcp/443/wss", "360b6578616d706c652e636f6d0601bbde03"),
    ("/dns/localhost/tcp/1", "35096c6f63616c686f737406 0001"),
    ("/ip4/1.2.3.4/udp/4001/quic-v1", "040102030491020fa1cd03"),
    ("/ip4/127.0.0.1/tcp/8070/p2p/\(peerA)", "047f000001061f86a503 27" + peerABytes),
    ("/p2p-circuit", "a202"),
  ]

  @Test(arguments: vectors)
  func textBinaryVectors(text: String, binaryHex: String) throws {
    let binary = Self.hex(binaryHex)
    let fromText = try Multiaddr(string: text)
    #expect(fromText.bytes == binary)
    #expect(fromText.description == text)
    let fromBytes = try Multiaddr(bytes: binary)
    #expect(fromBytes == fromText)
    #expect(fromBytes.description == text)
  }

  @Test func accessorsAndAliases() throws {
    let address = try Multiaddr(string: "/ip4/10.0.0.1/tcp/4040/ipfs/\(Self.peerA)/")
    #expect(address.description == "/ip4/10.0.0.1/tcp/4040/p2p/\(Self.peerA)")
    #expect(address.ip4 == Multiaddr.IPv4Address(10, 0, 0, 1))
    #expect(address.tcpPort == 4040)
    #expect(address.udpPort == nil)
    #expect(address.peerIDBytes == Self.hex(Self.peerABytes))
    #expect(address.withoutPeerID.description == "/ip4/10.0.0.1/tcp/4040")
    #expect(address.components.count == 3)
    let built = Multiaddr(components: [.ip4(.init(127, 0, 0, 1)), .udp(8090)])
    #expect(built.bytes == Self.hex("047f00000191021f9a"))
    #expect(built.appending(.p2pCircuit).description == "/ip4/127.0.0.1/udp/8090/p2p-circuit")
  }

  @Test(arguments: [
    ("::", "::"), ("::1", "::1"), ("1::", "1::"), ("2001:DB8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
    ("2001:db8:0:0:0:0:2:1", "2001:db8::2:1"), ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
    ("::ffff:1.2.3.4", "::ffff:1.2.3.4"), ("fe80::1:2:3:4", "fe80::1:2:3:4"),
    ("1:0:0:2:0:0:0:3", "1:0:0:2::3"), ("0001:0002:0003:0004:0005:0006:0007:0008", "1:2:3:4:5:6:7:8"),
  ])
  func ipv6TextIsRFC5952(input: String, canonical: String) throws {
    let address = try Multiaddr.IPv6Address(string: input)
    #expect(address.description == canonical)
    #expect(try Multiaddr.IPv6Address(string: canonical) == address)
  }

  @Test(arguments: [
    "", "/", "ip4/1.2.3.4", "/ip4", "/ip4/", "/ip4/1.2.3", "/ip4/1.2.3.4.5", "/ip4/256.1.1.1", "/ip4/01.2.3.4",
    "/ip4/1.2.3.4/tcp", "/ip4/1.2.3.4/tcp/65536", "/ip4/1.2.3.4/tcp/-1", "/ip4/1.2.3.4/tcp/+1", "/tcp/x",
    "/ip6/1:2:3:4:5:6:7:8:9", "/ip6/1::2::3", "/ip6/:::", "/ip6/12345::", "/ip6/g::", "/foo/1",
    "/p2p/0OIl", "/p2p/1111", "/ip4/1.2.3.4//tcp/1", "/dns4", "/ip4/1.2.3.4/tcp/1//",
  ])
  func invalidTextIsRejected(text: String) {
    #expect(throws: MultiaddrError.self) { try Multiaddr(string: text) }
  }

  @Test(arguments: [
    "", "04", "047f0000", "06", "0601", "2900", "a503", "a50305", "a503021200", "3505616263", "ff",
    "ffffffffffffffffffffff",
    "3501", "35012f", "8400", "047f000001860000", "7f", "047f00000106",
  ])
  func invalidBinaryIsRejected(binaryHex: String) {
    #expect(throws: MultiaddrError.self) { try Multiaddr(bytes: Self.hex(binaryHex)) }
  }

  @Test func fuzzBinaryDecoder() {
    var rng = SplitMix64(seed: 0xADD8)
    let seeds = Self.vectors.map { Self.hex($0.1) }
    var accepted = 0
    for iteration in 0..<5000 {
      var input: [UInt8]
      if iteration % 3 == 0 {
        input = (0..<Int.random(in: 0..<40, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
      } else {
        input = seeds[iteration % seeds.count]
        for _ in 0..<Int.random(in: 1...3, using: &rng) {
          switch Int.random(in: 0..<3, using: &rng) {
          case 0 where !input.isEmpty:
            input[Int.random(in: 0..<input.count, using: &rng)] ^= 1 << UInt8.random(in: 0..<8, using: &rng)
          case 1 where !input.isEmpty: input.removeLast(Int.random(in: 0...input.count, using: &rng))
          default:
            input.insert(UInt8.random(in: 0...255, using: &rng), at: Int.random(in: 0...input.count, using: &rng))
          }
        }
      }
      if let address = try? Multiaddr(bytes: input) {
        accepted += 1
        // Whatever decodes must re-encode to the same bytes and survive a text round trip.
        #expect(address.bytes == input)
        #expect((try? Multiaddr(string: address.description)) == address)
      }
    }
    #expect(accepted > 0)
  }

  @Test func fuzzTextDecoder() {
    var rng = SplitMix64(seed: 0x7E47)
    let alphabet = Array("/ip46tcudpns0123456789.:abcdefwsquic-v2p".utf8)
    let seeds = Self.vectors.map(\.0)
    for iteration in 0..<5000 {
      var text: [UInt8]
      if iteration % 2 == 0 {
        text = (0..<Int.random(in: 0..<40, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }
      } else {
        text = Array(seeds[iteration % seeds.count].utf8)
        for _ in 0..<Int.random(in: 1...3, using: &rng) {
          let position = Int.random(in: 0...text.count, using: &rng)
          if Bool.random(using: &rng), position < text.count {
            text.remove(at: position)
          } else {
            text.insert(alphabet.randomElement(using: &rng)!, at: position)
          }
        }
      }
      let string = String(decoding: text, as: UTF8.self)
      if let address = try? Multiaddr(string: string) {
        #expect((try? Multiaddr(bytes: address.bytes)) == address)
      }
    }
  }
}
