import Testing

/// Hex helpers and a tiny deterministic PRNG for the crypto / identity / records tests.
enum TestHex {
  static func decode(_ text: String) -> [UInt8] {
    let cleaned = text.filter { !$0.isWhitespace }
    var out = [UInt8]()
    var iterator = cleaned.makeIterator()
    while let high = iterator.next(), let low = iterator.next() {
      out.append(UInt8(String([high, low]), radix: 16)!)
    }
    return out
  }

  static func encode(_ bytes: some Sequence<UInt8>) -> String {
    bytes.map { byte in
      let digits = String(byte, radix: 16)
      return digits.count == 1 ? "0" + digits : digits
    }.joined()
  }
}

/// SplitMix64: reproducible random bytes for fuzz tests.
struct TestRNG: RandomNumberGenerator {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  mutating func bytes(_ count: Int) -> [UInt8] {
    (0..<count).map { _ in UInt8.random(in: 0...255, using: &self) }
  }

  /// Flips, inserts, deletes or overwrites a few bytes of `input`.
  mutating func mutate(_ input: [UInt8]) -> [UInt8] {
    var out = input
    for _ in 0..<Int.random(in: 1...4, using: &self) {
      switch Int.random(in: 0..<5, using: &self) {
      case 0 where !out.isEmpty:
        let index = Int.random(in: 0..<out.count, using: &self)
        out[index] ^= UInt8(1) << UInt8.random(in: 0..<8, using: &self)
      case 1:
        out.insert(UInt8.random(in: 0...255, using: &self), at: Int.random(in: 0...out.count, using: &self))
      case 2 where !out.isEmpty:
        out.remove(at: Int.random(in: 0..<out.count, using: &self))
      case 3 where !out.isEmpty:
        out[Int.random(in: 0..<out.count, using: &self)] = UInt8.random(in: 0...255, using: &self)
      case 4 where !out.isEmpty:
        out.removeLast(Int.random(in: 0...out.count, using: &self))
      default:
        out.append(UInt8.random(in: 0...255, using: &self))
      }
    }
    return out
  }
}

/// Node A and node B of the codex-dht test vectors (`dht.md` §2).
enum TestKeys {
  static let nodeASecret = TestHex.decode("fe5f08c842aa946659b266ce68faa5d2fd982634594dccdf7f916e3fcf0541a3")
  static let nodeAPublic = TestHex.decode("0375dea2b0552bb77de18f4ba8360997d1afa51c4fbe1a792a44002f93725b3e53")
  static let nodeBSecret = TestHex.decode("00064765abe9a4e63b068b5af99c26c61c8ade9bfdae6494873b137ec8152578")
  static let nodeBPublic = TestHex.decode("030e136defca2d4942233f6330aba769bab0d4da478505fd719998d31962913369")
}
