import Testing

@testable import CodexProofs

@Suite("Poseidon2 C kernel")
struct Poseidon2KernelTests {
  @Test("the C permutation equals the Swift permutation on edge and pseudo-random states")
  func matchesSwift() {
    var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
    func next() -> UInt64 {
      seed ^= seed << 13
      seed ^= seed >> 7
      seed ^= seed << 17
      return seed
    }
    let minusOne = Fr.zero - .one
    var states: [(Fr, Fr, Fr)] = [(.zero, .zero, .zero), (minusOne, minusOne, minusOne), (.one, minusOne, .zero)]
    for _ in 0..<200 {
      // Pseudo-random field elements spread over the whole field (products of random words).
      func element() -> Fr { Fr(next()) * Fr(next()) + Fr(next()) * Fr(next()) * Fr(next()) }
      states.append((element(), element(), element()))
    }
    for (x, y, z) in states {
      var (a, b, c) = (x, y, z)
      Poseidon2.permute(&a, &b, &c)
      var (d, e, f) = (x, y, z)
      Poseidon2.permuteSwift(&d, &e, &f)
      #expect(a == d && b == e && c == f)
    }
  }

  @Test("known answer perm(0, 1, 2) through the C kernel (slots-and-proofs.md §2)")
  func knownAnswer() {
    var (x, y, z) = (Fr.zero, Fr.one, Fr(2))
    Poseidon2.permute(&x, &y, &z)
    #expect(x.hexString == "0x30610a447b7dec194697fb50786aa7421494bd64c221ba4d3b1af25fb07bd103")
    #expect(y.hexString == "0x13f731d6ffbad391be22d2ac364151849e19fa38eced4e761bcd21dbdc600288")
    #expect(z.hexString == "0x1433e2c8f68382c447c5c14b8b3df7cbfd9273dd655fe52f1357c27150da786f")
  }
}
