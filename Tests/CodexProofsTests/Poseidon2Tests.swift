import Testing

import CodexProofs

func fr(_ s: String) -> Fr { try! Fr(string: s) }

@Suite struct Poseidon2Tests {
  @Test func roundConstantsMatchVectors() throws {
    let json = try Vectors.json("poseidon2.json")
    let rc = try #require(json["round_constants"] as? [String: Any])
    let external = try #require(rc["external"] as? [[String]])
    let internalRC = try #require(rc["internal"] as? [String])
    #expect(external.count == 8)
    #expect(internalRC.count == 56)
    for (r, row) in external.enumerated() {
      for (k, hex) in row.enumerated() {
        #expect(Poseidon2Constants.external[3 * r + k] == (try Fr(string: hex)), "E[\(r)][\(k)]")
      }
    }
    for (j, hex) in internalRC.enumerated() {
      #expect(Poseidon2Constants.internal[j] == (try Fr(string: hex)), "I[\(j)]")
    }
  }

  @Test func permutationKnownAnswer() throws {
    let json = try Vectors.json("poseidon2.json")
    let perm = try #require(json["permutation"] as? [String: Any])
    let input = try #require(perm["input"] as? [String]).map(fr)
    let output = try #require(perm["output"] as? [String]).map(fr)
    let outputHex = try #require(perm["output_hex"] as? [String]).map(fr)
    #expect(output == outputHex)
    let (x, y, z) = Poseidon2.permutation(input[0], input[1], input[2])
    #expect([x, y, z] == output)
  }

  @Test func permutationMatchesNaiveReference() {
    var rng = SplitMix64(state: 5)
    for _ in 0..<2 {
      let a = randomFr(&rng)
      let b = randomFr(&rng)
      let c = randomFr(&rng)
      let fast = Poseidon2.permutation(a, b, c)
      let slow = NaiveField.permutation(a, b, c)
      #expect([fast.0, fast.1, fast.2] == [slow.0, slow.1, slow.2])
    }
  }

  @Test func compressUsesKeyAsThirdWord() {
    #expect(Poseidon2.compress(1, 2) == Poseidon2.permutation(1, 2, 0).0)
    #expect(Poseidon2.compress(1, 2, key: 3) == Poseidon2.permutation(1, 2, 3).0)
    #expect(Poseidon2.compress(1, 2, key: 3) != Poseidon2.compress(1, 2))
  }

  @Test func spongeKnownAnswers() throws {
    let json = try Vectors.json("poseidon2.json")
    let sponge = try #require(json["sponge"] as? [String: Any])
    let rate1 = try #require(sponge["rate1"] as? [String]).map(fr)
    let rate2 = try #require(sponge["rate2"] as? [String]).map(fr)
    #expect(rate1.count == 8 && rate2.count == 8)
    for n in 0..<8 {
      let input = (0..<n).map { Fr(UInt64($0 + 1)) }
      #expect(Poseidon2Sponge.digest(input, rate: .one) == rate1[n], "rate 1, n = \(n)")
      #expect(Poseidon2Sponge.digest(input, rate: .two) == rate2[n], "rate 2, n = \(n)")
    }
  }

  @Test func spongeOverBytesEqualsSpongeOverElements() {
    let bytes = (1...80).map { UInt8($0) }
    #expect(Poseidon2Sponge.digest(bytes: bytes) == Poseidon2Sponge.digest(FieldBytes.elements(bytes)))
  }

  @Test func bytesToElements() throws {
    #expect(FieldBytes.elements([]) == [Fr.one])
    #expect(FieldBytes.elements([0x05]) == [Fr(0x0105)])
    let thirtyOne = [UInt8](repeating: 0xab, count: 31)
    #expect(FieldBytes.elements(thirtyOne) == [try Fr(shortBytes: thirtyOne), .one])
    let bytes = (0..<100).map { UInt8(truncatingIfNeeded: $0 &* 37) }
    let elements = FieldBytes.elements(bytes)
    #expect(elements.count == 4)
    #expect(elements[1] == (try Fr(shortBytes: bytes[31..<62])))
    #expect(elements[3] == (try Fr(shortBytes: Array(bytes[93..<100]) + [1])))
    #expect(FieldBytes.elements([UInt8](repeating: 0, count: 2048)).count == BlockDigest.defaultCellElements)
  }
}
