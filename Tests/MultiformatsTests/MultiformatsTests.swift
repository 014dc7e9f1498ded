import CodexTestSupport
import Testing

@testable import Multiformats

@Suite struct VarintTests {
  static let examples: [(UInt64, [UInt8])] = [
    (1, [0x01]), (0x12, [0x12]), (300, [0xac, 0x02]), (65536, [0x80, 0x80, 0x04]),
    (0xCD02, [0x82, 0x9a, 0x03]), (UInt64.max, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
  ]

  @Test(arguments: examples)
  func specExamples(value: UInt64, bytes: [UInt8]) throws {
    #expect(Varint.encode(value) == bytes)
    let decoded = try Varint.decode(bytes)
    #expect(decoded.value == value)
    #expect(decoded.length == bytes.count)
  }

  @Test func rejectsTruncatedAndOverlong() {
    #expect(throws: MultiformatsError.truncated("varint")) { try Varint.decode([0x80, 0x80]) }
    #expect(throws: MultiformatsError.self) { try Varint.decode([UInt8](repeating: 0xff, count: 11)) }
    #expect(throws: MultiformatsError.self) {
      try Varint.decode([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02])
    }
    #expect(throws: MultiformatsError.truncated("varint")) { try Varint.decode([UInt8]()) }
  }
}

@Suite struct BaseTests {
  @Test func base58KnownValues() throws {
    #expect(Base58.encode([UInt8]("hello world".utf8)) == "StV1DL6CwTryKyV")
    #expect(Base58.encode([0, 0, 1]) == "112")
    #expect(try Base58.decode("112") == [0, 0, 1])
    #expect(try Base58.decode("") == [])
    #expect(throws: MultiformatsError.self) { try Base58.decode("0OIl") }
  }

  @Test func base32AndBase64RoundTrip() throws {
    #expect(Base32.encode([UInt8]("foobar".utf8)) == "mzxw6ytboi")
    #expect(try Base32.decode("mzxw6ytboi") == [UInt8]("foobar".utf8))
    #expect(Base64URL.encode([0xfb, 0xff]) == "-_8")
    #expect(Base64URL.encode([0xfb, 0xff], padded: true) == "-_8=")
    #expect(try Base64URL.decode("-_8") == [0xfb, 0xff])
    #expect(throws: MultiformatsError.self) { try Base64URL.decode("ab$c") }
  }

  @Test func randomRoundTrips() throws {
    var rng = SystemRandomNumberGenerator()
    for _ in 0..<300 {
      let bytes = (0..<Int.random(in: 0..<80, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
      #expect(try Base58.decode(Base58.encode(bytes)) == bytes)
      #expect(try Base32.decode(Base32.encode(bytes)) == bytes)
      #expect(try Base64URL.decode(Base64URL.encode(bytes)) == bytes)
      for base in Multibase.allCases {
        let (b, decoded) = try Multibase.decode(base.encode(bytes))
        #expect(b == base)
        #expect(decoded == bytes)
      }
    }
  }
}

@Suite struct CidTests {
  let emptyHex = "01829a031220e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

  @Test func emptyCidFromSpec() throws {
    let cid = try Cid(string: "zDxWB8EDDsokSpiTXNRpv1jS2LXjEdLgTiDfxFd7Eo8CSPKVj93r")
    #expect(cid.bytes == hex(emptyHex))
    #expect(cid.codec == .codexBlock)
    #expect(cid.multihash.code == .sha2_256)
    #expect(cid.string == "zDxWB8EDDsokSpiTXNRpv1jS2LXjEdLgTiDfxFd7Eo8CSPKVj93r")
    #expect(try Cid(string: Multibase.base32.encode(cid.bytes)) == cid)
  }

  @Test func rejectsBadCids() {
    #expect(throws: MultiformatsError.self) { try Cid(string: "") }
    #expect(throws: MultiformatsError.self) { try Cid(string: "zzzz") }
    #expect(throws: MultiformatsError.self) { try Cid(string: "Qm123") }
    // CIDv0-style version byte, unknown codec, short digest, trailing byte.
    #expect(throws: MultiformatsError.unsupportedVersion(0)) { try Cid(bytes: [0x00, 0x55, 0x12, 0x00]) }
    #expect(throws: MultiformatsError.unsupportedCodec(0x1234)) { try Cid(bytes: [0x01, 0xb4, 0x24, 0x12, 0x00]) }
    #expect(throws: MultiformatsError.self) { try Cid(bytes: hex(emptyHex).dropLast()) }
    #expect(throws: MultiformatsError.trailingBytes(1)) { try Cid(bytes: hex(emptyHex) + [0]) }
  }

  @Test func fuzzCidDecoderNeverTraps() {
    var rng = SystemRandomNumberGenerator()
    let seed = hex(emptyHex)
    for i in 0..<20000 {
      var bytes: [UInt8]
      if i % 2 == 0 {
        bytes = (0..<Int.random(in: 0..<48, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
      } else {
        bytes = seed
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
          bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
        }
        if Bool.random(using: &rng) { bytes.removeLast(Int.random(in: 0..<bytes.count, using: &rng)) }
      }
      if let cid = try? Cid(bytes: bytes) {
        #expect(cid.bytes == bytes)
        #expect((try? Cid(string: cid.string)) == cid)
      }
      _ = try? Cid(string: String(decoding: bytes, as: UTF8.self))
      _ = try? Cid(string: "z" + String(decoding: bytes, as: UTF8.self))
    }
  }
}

func hex(_ s: String) -> [UInt8] { TestHex.decode(s) }
