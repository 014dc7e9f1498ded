import CProofsKernels
import Testing

@testable import CodexProofs

/// A permutation entry point: the dispatched kernel, one of its two builds, or the Swift reference.
typealias Permutation = @Sendable (inout Fr, inout Fr, inout Fr) -> Void

/// Each build of the permutation, explicitly (the ADX build only where the CPU has it).
let kernelPaths: [(String, Permutation)] = {
  var paths: [(String, Permutation)] = [
    ("portable C", { Poseidon2.permutePortableKernel(&$0, &$1, &$2) }),
    ("swift", { Poseidon2.permuteSwift(&$0, &$1, &$2) }),
  ]
  if Poseidon2.usesBMI2 { paths.append(("mulx/adcx/adox C", { Poseidon2.permuteADXKernel(&$0, &$1, &$2) })) }
  return paths
}()

/// The Codex sponge (capacity 1, `10*` padding) over an explicit permutation.
func spongeDigest(_ elements: [Fr], rate: Int, _ perm: Permutation) -> Fr {
  var (a, b, c) = (Fr.zero, Fr.zero, Fr(reducedLimbs: 0x300 | UInt64(rate), 1, 0, 0))
  var i = 0
  while i + rate <= elements.count {
    a += elements[i]
    if rate == 2 { b += elements[i + 1] }
    perm(&a, &b, &c)
    i += rate
  }
  if i < elements.count {  // rate 2, one element left: it and the pad 1 fill the rate
    a += elements[i]
    b += .one
  } else {
    a += .one
  }
  perm(&a, &b, &c)
  return a
}

/// The Codex Poseidon2 Merkle root (keys 1/3 on the bottom layer, 0/2 above) over an explicit permutation.
func merkleRoot(_ leaves: [Fr], _ perm: Permutation) -> Fr {
  func compress(_ x: Fr, _ y: Fr, _ key: UInt64) -> Fr {
    var (a, b, c) = (x, y, Fr(key))
    perm(&a, &b, &c)
    return a
  }
  var layer = leaves
  var bottom = true
  while bottom || layer.count > 1 {
    var next: [Fr] = []
    for i in stride(from: 0, to: layer.count - 1, by: 2) {
      next.append(compress(layer[i], layer[i + 1], bottom ? 1 : 0))
    }
    if layer.count % 2 == 1 { next.append(compress(layer[layer.count - 1], .zero, bottom ? 3 : 2)) }
    layer = next
    bottom = false
  }
  return layer[0]
}

@Suite("Poseidon2 C kernel")
struct Poseidon2KernelTests {
  @Test("the ADX build exists on x86-64 CPUs with BMI2 and ADX, and the dispatcher uses it")
  func adxPathAvailability() {
    var (a, b, c) = (Fr.zero, Fr.one, Fr(2))
    let ran = Poseidon2.permuteADXKernel(&a, &b, &c)
    #expect(ran == Poseidon2.usesBMI2)
    if !ran { #expect(a == .zero && b == .one && c == Fr(2)) }
    #if arch(x86_64)
      // CI machines are x86-64 with BMI2/ADX: make a silent fallback to the portable build visible.
      #expect(Poseidon2.usesBMI2)
    #endif
  }

  @Test("the kernel's built-in round constants are the Swift tables (vectors checked in Poseidon2Tests)")
  func builtInConstants() {
    var external = [UInt64](repeating: 0, count: 96)
    var internalLimbs = [UInt64](repeating: 0, count: 224)
    codex_poseidon2_round_constants(&external, &internalLimbs)
    for (i, k) in Poseidon2Constants.external.enumerated() {
      #expect(Array(external[(4 * i)..<(4 * i + 4)]) == [k.l0, k.l1, k.l2, k.l3], "E \(i)")
    }
    for (i, k) in Poseidon2Constants.internal.enumerated() {
      #expect(Array(internalLimbs[(4 * i)..<(4 * i + 4)]) == [k.l0, k.l1, k.l2, k.l3], "I \(i)")
    }
  }

  @Test("every build equals the Swift permutation on edge and pseudo-random states")
  func buildsAgree() {
    var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
    func next() -> UInt64 {
      seed ^= seed << 13
      seed ^= seed >> 7
      seed ^= seed << 17
      return seed
    }
    let minusOne = Fr.zero - .one
    let i0 = Poseidon2Constants.internal[0]
    let e0 = Poseidon2Constants.external[0]
    // Edge values: 0, 1, p − 1, p − 2, and values whose first round-constant sum lands on 0, p − 1 or near 2p.
    let edges: [Fr] = [.zero, .one, minusOne, minusOne - .one, -i0, -e0, minusOne - i0, minusOne - e0, -e0 - .one]
    var states: [(Fr, Fr, Fr)] = []
    for x in edges { for y in edges.prefix(4) { for z in edges.prefix(4) { states.append((x, y, z)) } } }
    for _ in 0..<200 {
      // Pseudo-random field elements spread over the whole field (products of random words).
      func element() -> Fr { Fr(next()) * Fr(next()) + Fr(next()) * Fr(next()) * Fr(next()) }
      states.append((element(), element(), element()))
    }
    for (x, y, z) in states {
      var (d, e, f) = (x, y, z)
      Poseidon2.permuteSwift(&d, &e, &f)
      var (a, b, c) = (x, y, z)
      Poseidon2.permute(&a, &b, &c)
      #expect(a == d && b == e && c == f)
      for (name, perm) in kernelPaths {
        var (g, h, k) = (x, y, z)
        perm(&g, &h, &k)
        #expect(g == d && h == e && k == f, "\(name)")
      }
    }
  }

  @Test("known answer perm(0, 1, 2) through every build (slots-and-proofs.md §2)")
  func knownAnswer() {
    for (name, perm) in kernelPaths {
      var (x, y, z) = (Fr.zero, Fr.one, Fr(2))
      perm(&x, &y, &z)
      #expect(x.hexString == "0x30610a447b7dec194697fb50786aa7421494bd64c221ba4d3b1af25fb07bd103", "\(name)")
      #expect(y.hexString == "0x13f731d6ffbad391be22d2ac364151849e19fa38eced4e761bcd21dbdc600288", "\(name)")
      #expect(z.hexString == "0x1433e2c8f68382c447c5c14b8b3df7cbfd9273dd655fe52f1357c27150da786f", "\(name)")
    }
  }

  @Test("poseidon2.json sponge (rates 1 and 2) and Merkle roots through every build")
  func vectorsThroughEveryBuild() throws {
    let json = try Vectors.json("poseidon2.json")
    let sponge = try #require(json["sponge"] as? [String: Any])
    let rate1 = try #require(sponge["rate1"] as? [String]).map(fr)
    let rate2 = try #require(sponge["rate2"] as? [String]).map(fr)
    let merkle = try #require(json["merkle"] as? [String: Any])
    let fieldRoots = try #require((merkle["field_elements"] as? [String: Any])?["roots"] as? [String]).map(fr)
    let byteRoots = try #require((merkle["byte_sequences"] as? [String: Any])?["roots"] as? [String]).map(fr)
    #expect(rate1.count == 8 && rate2.count == 8 && fieldRoots.count == 40 && byteRoots.count == 81)
    for (name, perm) in kernelPaths {
      for n in 0..<8 {
        let input = (0..<n).map { Fr(UInt64($0 + 1)) }
        #expect(spongeDigest(input, rate: 1, perm) == rate1[n], "\(name) rate 1, n = \(n)")
        #expect(spongeDigest(input, rate: 2, perm) == rate2[n], "\(name) rate 2, n = \(n)")
      }
      for (i, expected) in fieldRoots.enumerated() {
        #expect(merkleRoot((1...(i + 1)).map { Fr(UInt64($0)) }, perm) == expected, "\(name) n = \(i + 1)")
      }
      for (n, expected) in byteRoots.enumerated() {
        let bytes = n == 0 ? [] : (1...n).map { UInt8($0) }
        #expect(merkleRoot(FieldBytes.elements(bytes), perm) == expected, "\(name) bytes n = \(n)")
      }
    }
    // The helpers above agree with the library's own sponge and tree (which run the dispatched kernel).
    let input = (1...7).map { Fr(UInt64($0)) }
    #expect(spongeDigest(input, rate: 2, { Poseidon2.permute(&$0, &$1, &$2) }) == Poseidon2Sponge.digest(input))
    #expect(merkleRoot(input, { Poseidon2.permute(&$0, &$1, &$2) }) == (try Poseidon2Tree.root(leaves: input)))
  }

  @Test("the kernel's multiplication chain (benchmark support) computes x·yⁿ on both builds")
  func multiplicationChain() {
    let x = Fr(123_456_789) * Fr(987_654_321)
    let y = Fr.zero - Fr(5)
    var expected = x
    for _ in 0..<1000 { expected = expected * y }
    for portable in [Int32(1), 0] {
      var xs = [x.l0, x.l1, x.l2, x.l3]
      let ys = [y.l0, y.l1, y.l2, y.l3]
      codex_fr_mul_chain(&xs, ys, 1000, portable)
      #expect(xs == [expected.l0, expected.l1, expected.l2, expected.l3], "portable = \(portable)")
    }
  }
}
