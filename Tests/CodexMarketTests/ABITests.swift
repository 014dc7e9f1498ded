import Testing

@testable import CodexMarket

@Suite struct ABITests {
  let mixedTypes: [ABIType] = [
    .int(8), .array(.uint(256)), .array(.string), .fixedArray(.tuple([.bytes, .bool]), 2), .fixedBytes(3),
    .int(256), .address,
  ]
  var mixedValues: [ABIValue] {
    [
      .signed(-5), .array([.uint64(1), .uint64(2)]), .array([.string("a"), .string("hello world")]),
      .array([.tuple([.bytes([1]), .bool(true)]), .tuple([.bytes([]), .bool(false)])]), .fixedBytes(Array("abc".utf8)),
      .signed(-1), .address(EthereumAddress(bytes: [UInt8](repeating: 0xab, count: 20))!),
    ]
  }
  // Reference encoding from eth_abi.
  let mixedEncoding =
    "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffb00000000000000000000000000000000000000000000000000000000000000e0000000000000000000000000000000000000000000000000000000000000014000000000000000000000000000000000000000000000000000000000000002206162630000000000000000000000000000000000000000000000000000000000ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff000000000000000000000000abababababababababababababababababababab00000000000000000000000000000000000000000000000000000000000000020000000000000000000000000000000000000000000000000000000000000001000000000000000000000000000000000000000000000000000000000000000200000000000000000000000000000000000000000000000000000000000000020000000000000000000000000000000000000000000000000000000000000040000000000000000000000000000000000000000000000000000000000000008000000000000000000000000000000000000000000000000000000000000000016100000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000b68656c6c6f20776f726c64000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000004000000000000000000000000000000000000000000000000000000000000000c00000000000000000000000000000000000000000000000000000000000000040000000000000000000000000000000000000000000000000000000000000000100000000000000000000000000000000000000000000000000000000000000010100000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000004000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"

  @Test func mixedStaticAndDynamic() throws {
    let enc = try ABI.encode(mixedValues, as: mixedTypes)
    #expect(Hex.encode(enc, prefix: false) == mixedEncoding)
    #expect(try ABI.decode(mixedTypes, from: enc) == mixedValues)
  }

  @Test func typeParsing() throws {
    #expect(try ABIType.parse("(bytes,bool)[2]") == .fixedArray(.tuple([.bytes, .bool]), 2))
    #expect(try ABIType.parse("uint") == .uint(256))
    #expect(try ABIType.parse("bytes32[][3]") == .fixedArray(.array(.fixedBytes(32)), 3))
    #expect(try ABIType.parse(MarketplaceABI.request.canonicalName) == MarketplaceABI.request)
    for bad in ["uint7", "bytes33", "(uint256", "uint256[", "foo", "int0", "(a,)"] {
      #expect(throws: ABIError.self) { try ABIType.parse(bad) }
    }
  }

  @Test func rangeChecks() {
    #expect(throws: ABIError.valueOutOfRange("uint8")) { try ABI.encode([.uint64(256)], as: [.uint(8)]) }
    #expect(throws: ABIError.valueOutOfRange("int8")) { try ABI.encode([.signed(128)], as: [.int(8)]) }
    #expect(throws: ABIError.self) { try ABI.encode([.bool(true)], as: [.uint(8)]) }
    var dirty = [UInt8](repeating: 0, count: 32)
    dirty[0] = 1
    #expect(throws: ABIError.dirtyHighBits(type: "uint64")) { try ABI.decode([.uint(64)], from: dirty) }
    #expect(throws: ABIError.dirtyHighBits(type: "address")) { try ABI.decode([.address], from: dirty) }
    #expect(throws: ABIError.invalidBool) { try ABI.decode([.bool], from: dirty) }
  }

  @Test func fuzzDecoderNeverTraps() throws {
    var rng = SplitMix64(state: 99)
    let seed = try ABI.encode(mixedValues, as: mixedTypes)
    let typeSets: [[ABIType]] = [
      mixedTypes, [MarketplaceABI.request], [MarketplaceConfig.abiType], [.array(.array(.bytes))],
    ]
    for i in 0..<1500 {
      var input: [UInt8]
      if i % 3 == 0 {
        input = rng.bytes(Int.random(in: 0..<400, using: &rng))
      } else {
        input = seed
        for _ in 0..<Int.random(in: 1...6, using: &rng) {
          input[Int.random(in: 0..<input.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
        }
      }
      for types in typeSets {
        if let v = try? ABI.decode(types, from: input) {
          #expect(v.count == types.count)
        }
      }
    }
  }

  @Test func customErrorsAndRevertData() throws {
    // Spec §1.9 selectors.
    #expect(MarketplaceError.slotNotFree.selector == h("ff556acf"))
    #expect(MarketplaceError.reservationNotAllowed.selector == h("424a04ab"))
    #expect(MarketplaceError.proofNotMissing.selector == h("00fab7d9"))
    #expect(MarketplaceError.invalidSecondsPerPeriod.selector == h("2aa6d8e0"))
    #expect(MarketplaceError.durationExceedsLimit.selector == h("1267b3f2"))
    #expect(ContractRevert.decode(h("ff556acf")) == .custom(.slotNotFree))
    let msg = h("08c379a0") + (try ABI.encode([.string("nope")], as: [.string]))
    #expect(ContractRevert.decode(msg) == .message("nope"))
    #expect(ContractRevert.decode(h("4e487b71") + UInt256(0x11).bigEndianBytes) == .panic(0x11))
    #expect(ContractRevert.decode([]) == .empty)
    #expect(ContractRevert.decode(h("deadbeef")) == .unknown(h("deadbeef")))
  }
}
