import Testing

@testable import CodexMarket

@Suite struct UInt256Tests {
  @Test func decimalAndHexRoundTrip() throws {
    let maxText = "115792089237316195423570985008687907853269984665640564039457584007913129639935"
    #expect(UInt256.max.description == maxText)
    #expect(UInt256(decimal: maxText) == .max)
    #expect(UInt256(decimal: "115792089237316195423570985008687907853269984665640564039457584007913129639936") == nil)
    #expect(UInt256(decimal: "12a") == nil)
    #expect(UInt256(decimal: "") == nil)
    #expect(UInt256.zero.description == "0")
    #expect(UInt256(decimal: "10000000000000000000")?.description == "10000000000000000000")
    #expect(UInt256(hex: "0x0")?.isZero == true)
    #expect(UInt256(hex: "0xde0b6b3a7640000")?.description == "1000000000000000000")
    #expect(UInt256(hex: "0x1" + String(repeating: "0", count: 64)) == nil)
    #expect(UInt256(hex: "0xzz") == nil)
    #expect(UInt256(1_000_000_000_000_000_000).hexQuantity == "0xde0b6b3a7640000")
    #expect(UInt256.zero.hexQuantity == "0x0")
  }

  @Test func arithmetic() throws {
    let a = try #require(UInt256(decimal: "340282366920938463463374607431768211457"))  // 2^128 + 1
    let b = try #require(UInt256(decimal: "18446744073709551629"))  // 2^64 + 13
    let p = a * b
    #expect(p.description == "6277101735386680768259460193179866441144672085150730813453")
    #expect(p / b == a)
    #expect(p / a == b)
    #expect(p % a == .zero)
    #expect((p + 5) % b == 5)
    #expect((a - b).description == "340282366920938463444927863358058659828")
    #expect(UInt256.max.addingReportingOverflow(.one) == (.zero, true))
    #expect(UInt256.zero.subtractingReportingOverflow(.one) == (.max, true))
    #expect(UInt256.max.multipliedReportingOverflow(by: 2).overflow)
    #expect((UInt256.one << 255) >> 255 == .one)
    #expect((UInt256.one << 256).isZero)
    let big = try #require(UInt256(decimal: "99999999999999999999999999999999999999999999999999999999999"))
    let (q, r) = big.quotientAndRemainder(dividingBy: try #require(UInt256(decimal: "123456789012345678901234567")))
    #expect(q.description == "810000007290000066339000609525005")
    #expect(r.description == "73907055065783606043152164")
  }

  @Test func bytesRoundTrip() {
    var rng = SplitMix64(state: 7)
    for _ in 0..<200 {
      let v = UInt256(w0: rng.next(), w1: rng.next(), w2: rng.next(), w3: rng.next() >> (rng.next() % 64))
      #expect(UInt256(bigEndian: v.bigEndianBytes) == v)
      #expect(UInt256(decimal: v.description) == v)
      #expect(UInt256(hex: v.hexQuantity) == v)
      #expect(UInt256(bigEndian: v.minimalBigEndianBytes) == v)
      let d = UInt256(w0: rng.next() | 1, w1: rng.next() % 3, w2: 0, w3: 0)
      let (q, r) = v.quotientAndRemainder(dividingBy: d)
      #expect(r < d)
      #expect(q * d + r == v)
    }
  }
}
