import Testing

@testable import CodexMarket

@Suite struct RLPTests {
  @Test func yellowPaperExamples() throws {
    #expect(RLP.encode(.bytes(Array("dog".utf8))) == h("83646f67"))
    #expect(RLP.encode(.list([.bytes(Array("cat".utf8)), .bytes(Array("dog".utf8))])) == h("c88363617483646f67"))
    #expect(RLP.encode(.bytes([])) == h("80"))
    #expect(RLP.encode(.list([])) == h("c0"))
    #expect(RLP.encode(.uint64(UInt64(0))) == h("80"))
    #expect(RLP.encode(.bytes([0x0f])) == h("0f"))
    #expect(RLP.encode(.uint64(UInt64(1024))) == h("820400"))
    // set-theoretic representation of three
    let three = RLPItem.list([.list([]), .list([.list([])]), .list([.list([]), .list([.list([])])])])
    #expect(RLP.encode(three) == h("c7c0c1c0c3c0c1c0"))
    let lorem = Array("Lorem ipsum dolor sit amet, consectetur adipisicing elit".utf8)
    #expect(RLP.encode(.bytes(lorem)) == [0xb8, 0x38] + lorem)
    for item in [three, .bytes(lorem), .list([.bytes(lorem), .bytes(lorem)])] {
      #expect(try RLP.decode(RLP.encode(item)) == item)
    }
  }

  @Test func rejectsNonCanonical() {
    #expect(throws: RLPError.singleByteNotCanonical(offset: 0)) { try RLP.decode(h("8105")) }
    #expect(throws: RLPError.nonCanonicalLength(offset: 0)) {
      try RLP.decode(h("b801") + [UInt8](repeating: 0x61, count: 1))
    }
    #expect(throws: RLPError.nonCanonicalLength(offset: 0)) {
      try RLP.decode(h("b90038") + [UInt8](repeating: 0x61, count: 56))
    }
    #expect(throws: RLPError.trailingBytes(count: 1)) { try RLP.decode(h("8000")) }
    #expect(throws: RLPError.truncated(needed: 3, available: 2)) { try RLP.decode(h("83646f")) }
    #expect(throws: RLPError.empty) { try RLP.decode([]) }
    #expect(throws: RLPError.invalidInteger("leading zero byte")) { try RLP.uint(.bytes([0, 1])) }
  }

  @Test func fuzzDecoderNeverTraps() {
    var rng = SplitMix64(state: 42)
    let seed = RLP.encode(.list([.bytes(Array(repeating: 1, count: 60)), .list([.uint64(UInt64(999)), .bytes([])])]))
    for i in 0..<4000 {
      var input: [UInt8]
      if i % 2 == 0 {
        input = rng.bytes(Int.random(in: 0..<80, using: &rng))
      } else {
        input = seed
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
          input[Int.random(in: 0..<input.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
        }
        if Bool.random(using: &rng) { input = Array(input.prefix(Int.random(in: 0...input.count, using: &rng))) }
      }
      if let item = try? RLP.decode(input) {
        #expect(RLP.encode(item) == input)  // canonical decoding round-trips exactly
      }
    }
  }
}
