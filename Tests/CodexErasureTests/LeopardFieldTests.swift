import Testing

@testable import CodexErasure

@Suite struct LeopardFieldTests {
  @Test func gf8Checkpoints() {
    let f = LeopardField.gf8
    #expect(f.log[0..<16].map(Int.init) == [255, 0, 85, 170, 17, 68, 34, 136, 153, 119, 102, 221, 51, 238, 187, 204])
    #expect(f.exp[0..<16].map(Int.init) == [1, 104, 92, 100, 114, 240, 86, 18, 75, 142, 136, 208, 125, 39, 27, 196])
    #expect(
      f.skew[1...32].map(Int.init) == [
        255, 255, 85, 255, 17, 85, 34, 255, 153, 17, 102, 85, 51, 34, 187, 255, 219, 153, 7, 17, 111, 102, 28, 85,
        183, 51, 224, 34, 131, 187, 222, 255,
      ])
    #expect(f.logWalsh[0..<8].map(Int.init) == [0, 252, 236, 126, 27, 63, 118, 40])
    #expect(Int(f.exp[255]) == 1)
  }

  @Test func gf16Checkpoints() {
    let f = LeopardField.gf16
    #expect(f.log[0..<8].map(Int.init) == [65535, 0, 21845, 43690, 17476, 4369, 34952, 8738])
    #expect(f.exp[0..<8].map(Int.init) == [1, 18064, 26072, 25296, 22324, 17904, 21432, 7736])
    #expect(
      f.skew[1...16].map(Int.init) == [
        65535, 65535, 21845, 65535, 17476, 21845, 34952, 65535, 56797, 17476, 30583, 21845, 48059, 34952, 13107,
        65535,
      ])
    #expect(f.logWalsh[0..<8].map(Int.init) == [0, 8105, 48770, 36820, 13876, 18410, 24385, 53235])
  }

  @Test func logAndExpAreInverse() {
    for f in [LeopardField.gf8, LeopardField.gf16] {
      let bad = (1...f.modulus).filter { Int(f.exp[Int(f.log[$0])]) != $0 }
      #expect(bad.isEmpty)
    }
  }

  @Test func fieldSelectionRule() {
    let cases: [(Int, Int, ReedSolomonField)] = [
      (2, 1, .xor), (1, 1, .xor), (3, 2, .gf8), (4, 2, .gf8), (10, 5, .gf8), (16, 16, .gf8), (128, 100, .gf8),
      (129, 127, .gf16), (200, 100, .gf16), (254, 2, .gf8), (255, 2, .gf16), (300, 1, .xor),
    ]
    for (k, m, expected) in cases { #expect(ReedSolomonField.select(dataShards: k, parityShards: m) == expected) }
  }

  /// The SIMD multiplier records agree with scalar mulLog for every input, for a few constants.
  @Test func multiplierRecordsMatchScalar() {
    for f in [LeopardField.gf8, LeopardField.gf16] {
      for l in [0, 1, 7, 85, f.modulus - 1] {
        var record = [UInt8](repeating: 0, count: f.multiplierSize)
        record.withUnsafeMutableBytes { f.writeMultiplier(log: l, to: $0) }
        let step = f.bits == 8 ? 1 : 13
        var mismatches = 0
        for v in stride(from: 0, to: f.modulus + 1, by: step) {
          var p = 0
          if f.bits == 8 {
            p = Int(record[v & 15] ^ record[16 + (v >> 4)])
          } else {
            for k in 0..<4 {
              let nib = (v >> (4 * k)) & 15
              p ^= Int(record[32 * k + nib]) | Int(record[32 * k + 16 + nib]) << 8
            }
          }
          if p != f.mulLog(v, l) { mismatches += 1 }
        }
        #expect(mismatches == 0, "log \(l) GF(2^\(f.bits))")
      }
    }
  }
}
