import Testing

import CodexProofs

let modulusDecimal = "21888242871839275222246405745257275088548364400416034343698204186575808495617"

func randomFr(_ rng: inout SplitMix64) -> Fr {
  var bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
  bytes[31] &= 0x1f  // < 2^253 < p
  return try! Fr(bytes: bytes)
}

@Suite struct FrTests {
  @Test func constantsAreConsistent() throws {
    #expect(Fr.one.decimalString == "1")
    #expect(Fr.zero.decimalString == "0")
    // p − 1 is the largest canonical value; p − 1 + 1 wraps to 0.
    let pMinus1 = try Fr(string: "21888242871839275222246405745257275088548364400416034343698204186575808495616")
    #expect(pMinus1 + .one == .zero)
    #expect(pMinus1 == -Fr.one)
    #expect(pMinus1.square() == .one)
    #expect(pMinus1.pow5() == pMinus1)
    #expect(Fr(2).power(200).square() == Fr(2).power(400))
    #expect(Fr.zero - .one == pMinus1)
    #expect(Fr(3) * Fr(5) == Fr(15))
    #expect(Fr(2).power(64) + Fr(2) == (try Fr(string: "18446744073709551618")))
  }

  @Test func decimalAndHexRoundTrip() throws {
    var rng = SplitMix64(state: 1)
    for _ in 0..<200 {
      let x = randomFr(&rng)
      #expect(try Fr(string: x.decimalString) == x)
      #expect(try Fr(string: x.hexString) == x)
      #expect(try Fr(bytes: x.bytes) == x)
    }
    #expect(try Fr(string: "0000123") == Fr(123))
    #expect(try Fr(string: "0x00ff") == Fr(255))
  }

  @Test func rejectsNonCanonicalAndMalformed() throws {
    #expect(throws: FieldError.nonCanonical) { try Fr(string: modulusDecimal) }
    #expect(throws: FieldError.nonCanonical) { try Fr(string: "0x" + String(repeating: "f", count: 64)) }
    #expect(throws: FieldError.nonCanonical) { try Fr(string: "1" + String(repeating: "0", count: 80)) }
    #expect(throws: FieldError.invalidString("")) { try Fr(string: "") }
    #expect(throws: FieldError.invalidString("12a")) { try Fr(string: "12a") }
    #expect(throws: FieldError.invalidString("0x")) { try Fr(string: "0x") }
    #expect(throws: FieldError.invalidString("-1")) { try Fr(string: "-1") }
    // p in little-endian bytes, and p + 1, and all-ones.
    let pBytes = hexBytes("010000f093f5e1439170b97948e833285d588181b64550b829a031e1724e6430")
    #expect(throws: FieldError.nonCanonical) { try Fr(bytes: pBytes) }
    var p1 = pBytes
    p1[0] = 2
    #expect(throws: FieldError.nonCanonical) { try Fr(bytes: p1) }
    #expect(throws: FieldError.nonCanonical) { try Fr(bytes: [UInt8](repeating: 0xff, count: 32)) }
    var pm1 = pBytes
    pm1[0] = 0
    #expect(try Fr(bytes: pm1) == -Fr.one)
    #expect(throws: FieldError.wrongLength(expected: 32, actual: 31)) {
      try Fr(bytes: [UInt8](repeating: 0, count: 31))
    }
    #expect(throws: FieldError.wrongLength(expected: 32, actual: 33)) {
      try Fr(bytes: [UInt8](repeating: 0, count: 33))
    }
    #expect(throws: FieldError.wrongLength(expected: 31, actual: 32)) {
      try Fr(shortBytes: [UInt8](repeating: 0, count: 32))
    }
  }

  @Test func shortBytesAreLittleEndian() throws {
    #expect(try Fr(shortBytes: [0x01, 0x02]) == Fr(0x0201))
    let max31 = try Fr(shortBytes: [UInt8](repeating: 0xff, count: 31))
    #expect(max31 + .one == Fr(2).power(248))
  }

  @Test func fuzzBytesDecoderNeverTraps() {
    var rng = SplitMix64(state: 7)
    var accepted = 0
    for i in 0..<2000 {
      let len = i % 5 == 0 ? Int.random(in: 0...40, using: &rng) : 32
      let bytes = (0..<len).map { _ in UInt8.random(in: 0...255, using: &rng) }
      if let x = try? Fr(bytes: bytes) {
        accepted += 1
        #expect(x.bytes == bytes)
      }
    }
    #expect(accepted > 0)
  }

  @Test func fuzzStringDecoderNeverTraps() throws {
    var rng = SplitMix64(state: 8)
    let alphabet = Array("0123456789abcdefxX-+ ".utf8)
    var accepted = 0
    for _ in 0..<3000 {
      let len = Int.random(in: 0...90, using: &rng)
      var bytes = (0..<len).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &rng)] }
      if Bool.random(using: &rng) { bytes = Array("0x".utf8) + bytes }
      let text = String(decoding: bytes, as: UTF8.self)
      if let x = try? Fr(string: text) {
        accepted += 1
        #expect(try Fr(string: x.decimalString) == x)
      }
    }
    #expect(accepted > 0)
  }

  @Test func fieldAxioms() {
    var rng = SplitMix64(state: 42)
    for _ in 0..<100 {
      let a = randomFr(&rng)
      let b = randomFr(&rng)
      let c = randomFr(&rng)
      #expect(a + b == b + a)
      #expect(a * b == b * a)
      #expect((a + b) * c == a * c + b * c)
      #expect((a - b) + b == a)
      #expect(a.pow5() == a * a * a * a * a)
      #expect(a.square() == a * a)
      #expect(NaiveField.mul(a, a) == a.square())
      #expect((-a).square() == a.square())
      if let inv = a.inverse() { #expect(inv * a == .one) }
    }
    #expect(Fr.zero.inverse() == nil)
  }

  @Test func multiplicationMatchesSchoolbookReference() throws {
    // Independent check of Montgomery multiplication against shift-and-add modular multiplication.
    var rng = SplitMix64(state: 99)
    for _ in 0..<30 {
      let a = randomFr(&rng)
      let b = randomFr(&rng)
      #expect(NaiveField.mul(a, b) == a * b)
    }
    let big = -Fr.one
    #expect(NaiveField.mul(big, big) == .one)
  }
}
