import Testing

@testable import CodexMarket

@Suite struct KeccakTests {
  @Test func knownDigests() {
    #expect(Hex.encode(Keccak256.hash([])) == "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470")
    #expect(Hex.encode(Keccak256.hash("abc")) == "0x4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45")
    // One byte short of the rate, exactly the rate, and a multi-block input (reference: eth-hash).
    #expect(
      Hex.encode(Keccak256.hash([UInt8](repeating: 0x61, count: 135)))
        == "0x34367dc248bbd832f4e3e69dfaac2f92638bd0bbd18f2912ba4ef454919cf446")
    #expect(
      Hex.encode(Keccak256.hash([UInt8](repeating: 0x61, count: 136)))
        == "0xa6c4d403279fe3e0af03729caada8374b5ca54d8065329a3ebcaeb4b60aa386e")
    let big = Array((0..<768).map { UInt8($0 % 256) })
    #expect(Hex.encode(Keccak256.hash(big)) == "0x00e77ce2c4f77212a0d5df106b08157b77058479357a98a6039b457c469723e4")
  }

  @Test func incrementalMatchesOneShot() {
    var rng = SplitMix64(state: 1)
    let data = rng.bytes(1000)
    for split in [0, 1, 135, 136, 137, 500, 999, 1000] {
      var hasher = Keccak256()
      hasher.update(data[..<split])
      hasher.update(data[split...])
      #expect(hasher.finalize() == Keccak256.hash(data))
    }
  }

  @Test func selectorsAndTopics() {
    #expect(ABI.selector("approve(address,uint256)") == h("095ea7b3"))
    #expect(
      ABI.topic("Transfer(address,address,uint256)")
        == h("ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"))
  }
}
