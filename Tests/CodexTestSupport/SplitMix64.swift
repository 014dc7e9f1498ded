/// SplitMix64: a small deterministic generator so random tests and fuzz runs reproduce from their seed.
public struct SplitMix64: RandomNumberGenerator, Sendable {
  public var state: UInt64

  public init(state: UInt64) { self.state = state }
  public init(seed: UInt64) { self.state = seed }

  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// `count` random bytes.
  public mutating func bytes(_ count: Int) -> [UInt8] {
    (0..<count).map { _ in UInt8.random(in: 0...255, using: &self) }
  }

  /// Flips, inserts, deletes or overwrites a few bytes of `input` (for mutation fuzzing of decoders).
  public mutating func mutate(_ input: [UInt8]) -> [UInt8] {
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
