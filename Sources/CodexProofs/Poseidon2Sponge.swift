/// The Poseidon2 sponge of nim-poseidon2 (`sponge.nim`): capacity 1, rate 1 or 2, initial state
/// `(0, 0, 2^64 + 256·3 + rate)`, element-level `10*` padding, output the first state word.
///
/// Codex uses rate 2 everywhere (cell hashes, the sampler). A value type; absorb then `finish()`.
public struct Poseidon2Sponge: Sendable {
  /// Number of field elements absorbed per permutation.
  public enum Rate: Int, Sendable {
    case one = 1
    case two = 2
  }

  @usableFromInline var s0: Fr = .zero
  @usableFromInline var s1: Fr = .zero
  @usableFromInline var s2: Fr
  /// The sponge's rate.
  public let rate: Rate
  /// Rate 2 only: an element has been added to `s0` and the next goes to `s1`.
  @usableFromInline var halfFull = false

  /// A fresh sponge.
  public init(rate: Rate = .two) {
    self.rate = rate
    s2 = Fr(reducedLimbs: 0x300 | UInt64(rate.rawValue), 1, 0, 0)
  }

  /// Absorbs one element.
  @inlinable
  public mutating func absorb(_ e: Fr) {
    switch rate {
    case .one:
      s0 += e
      Poseidon2.permute(&s0, &s1, &s2)
    case .two:
      if halfFull {
        s1 += e
        Poseidon2.permute(&s0, &s1, &s2)
        halfFull = false
      } else {
        s0 += e
        halfFull = true
      }
    }
  }

  /// Absorbs a sequence of elements.
  @inlinable
  public mutating func absorb(contentsOf elements: some Sequence<Fr>) {
    for e in elements { absorb(e) }
  }

  /// Applies the padding and returns the digest.
  public func finish() -> Fr {
    var (a, b, c) = (s0, s1, s2)
    if rate == .two && halfFull {
      b += .one
    } else {
      a += .one
    }
    Poseidon2.permute(&a, &b, &c)
    return a
  }

  /// Sponge digest of a list of field elements.
  public static func digest(_ elements: some Sequence<Fr>, rate: Rate = .two) -> Fr {
    var sponge = Poseidon2Sponge(rate: rate)
    sponge.absorb(contentsOf: elements)
    return sponge.finish()
  }

  /// Rate-2 sponge digest of the field elements of `bytes` (`Sponge.digest(bytes)`; see `FieldBytes`).
  public static func digest(bytes: UnsafeRawBufferPointer) -> Fr {
    var sponge = Poseidon2Sponge(rate: .two)
    FieldBytes.forEachElement(bytes) { sponge.absorb($0) }
    return sponge.finish()
  }

  /// Rate-2 sponge digest of the field elements of `bytes`.
  public static func digest(bytes: [UInt8]) -> Fr {
    bytes.withUnsafeBytes { digest(bytes: $0) }
  }
}
