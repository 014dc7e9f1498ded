import Testing

@testable import CodexMarket

@Suite struct MarketplaceABITests {
  @Test func functionSelectors() {
    typealias M = MarketplaceABI
    let expected: [(MarketplaceABI.Function, String)] = [
      (M.configuration, "6c70bee9"), (M.token, "fc0c546a"), (M.currentCollateral, "26d6f834"),
      (M.requestStorage, "99b6da0c"), (M.reserveSlot, "12827602"), (M.canReserveSlot, "d02bbe33"),
      (M.fillSlot, "1d873c1b"), (M.freeSlot, "a29c29a4"), (M.freeSlotWithRecipients, "0aefaabe"),
      (M.submitProof, "e8aa0a07"), (M.canMarkProofAsMissing, "d1bb36b6"), (M.markProofAsMissing, "237d8482"),
      (M.withdrawFunds, "6e2b54ee"), (M.withdrawFundsTo, "c5d43351"), (M.getActiveSlot, "b396dc79"),
      (M.getRequest, "fb1e61ca"), (M.requestEnd, "02fa8e65"), (M.requestExpiry, "329b5a0b"),
      (M.getHost, "6b00c8cf"), (M.requestState, "05b90773"), (M.slotState, "be5cdc48"),
      (M.slotProbability, "51a76642"), (M.missingProofs, "f752196b"), (M.getPointer, "4641dce6"),
      (M.getChallenge, "458d2bf1"), (M.isProofRequired, "c0cc4add"), (M.willProofBeRequired, "a3a0807e"),
      (M.myRequests, "9777b72c"), (M.mySlots, "5da73835"), (M.approve, "095ea7b3"), (M.allowance, "dd62ed3e"),
      (M.balanceOf, "70a08231"), (M.transfer, "a9059cbb"), (M.transferFrom, "23b872dd"),
    ]
    for (f, sel) in expected { #expect(Hex.encode(f.selector, prefix: false) == sel, "\(f.signature)") }
  }

  @Test func eventTopics() {
    typealias M = MarketplaceABI
    let expected: [(ABIEvent, String)] = [
      (M.storageRequested, "1bf9c457accf8703dbf7cdf1b58c2f74ddf2e525f98155c70b3d318d74609bd8"),
      (M.requestFulfilled, "85e1543bf2f84fe80c6badbce3648c8539ad1df4d2b3d822938ca0538be727e6"),
      (M.requestFailed, "4769361a442504ecaf038f35e119bcccdd5e42096b24c09e3c17fd17c6684c02"),
      (M.requestCancelled, "f903f4774c7bd27355f9d7fcbc382b079b164a697a44ac5d95267a4c3cb3bb22"),
      (M.slotFilled, "8f301470a994578b52323d625dfbf827ca5208c81747d3459be7b8867baec3ec"),
      (M.slotFreed, "33ba8f7627565d89f7ada2a6b81ea532b7aa9b11e91a78312d6e1fca0bfcd1dc"),
      (M.slotReservationsFull, "c8e6c955744189a19222ec226b72ac1435d88d5745252dac56e6f679f64c037a"),
      (M.proofSubmitted, "3b989d183b84b02259d7c14b34a9c9eb0fccb4c355a920d25e581e25aef4993d"),
    ]
    for (e, t) in expected { #expect(Hex.encode(e.topic0, prefix: false) == t, "\(e.signature)") }
  }

  static let sampleRequest = StorageRequest(
    client: EthereumAddress(bytes: [UInt8](repeating: 0x11, count: 20))!,
    ask: Ask(
      proofProbability: 100, pricePerBytePerSecond: 10, collateralPerByte: 20, slots: 4, slotSize: 1024,
      duration: 3600, maxSlotLoss: 1),
    content: Content(cid: h("0155a0e40220") + [UInt8](repeating: 0xab, count: 32), merkleRoot: Array(0..<32)),
    expiry: 600, nonce: [UInt8](repeating: 0x77, count: 32))

  @Test func requestIDAndSlotID() throws {
    // Reference values from eth_abi + keccak (layout of spec §1.1).
    let r = Self.sampleRequest
    let enc = try ABI.encode([r.abiValue], as: [StorageRequest.abiType])
    #expect(enc.count == 17 * 32)
    #expect(Array(enc[0..<32]) == UInt256(0x20).bigEndianBytes)
    #expect(Array(enc[(32 + 8 * 32)..<(32 + 9 * 32)]) == UInt256(0x160).bigEndianBytes)
    #expect(Hex.encode(try r.id()) == "0xae8a29870a2e89060c3c6202991546bd822e5642a127df2ba759e1feb29bbf20")
    #expect(
      Hex.encode(StorageRequest.slotID(requestID: try r.id(), slotIndex: 2))
        == "0x63414ed1236091944cb8b942666ff26c4d5399a60841eb266ab1ae9444f1c071")
    let back = try StorageRequest(abi: ABI.decode([StorageRequest.abiType], from: enc)[0])
    #expect(back == r)
    #expect(r.ask.maxPrice == UInt256(4 * 3600 * 1024 * 10))
    #expect(r.ask.collateralPerSlot == UInt256(20 * 1024))
  }

  @Test func configRoundTrip() throws {
    var c = MarketplaceConfig.localDefaults
    c.proofs.zkeyHash = "abc123"
    let enc = try MarketplaceABI.configuration.decodeOutput(ABI.encode([c.abiValue], as: [MarketplaceConfig.abiType]))
    #expect(try MarketplaceConfig(abi: enc[0]) == c)
  }

  @Test func eventDecoding() throws {
    let rid = [UInt8](repeating: 0x42, count: 32)
    let filled = try MarketEvent.decode(
      topics: [MarketplaceABI.slotFilled.topic0, rid], data: UInt256(3).bigEndianBytes)
    #expect(filled == .slotFilled(requestID: rid, slotIndex: 3))
    let ask = Self.sampleRequest.ask
    let data = try ABI.encode(
      [.fixedBytes(rid), ask.abiValue, .uint64(1234)], as: [.fixedBytes(32), Ask.abiType, .uint(64)])
    #expect(data.count == 9 * 32)
    let requested = try MarketEvent.decode(topics: [MarketplaceABI.storageRequested.topic0], data: data)
    #expect(requested == .storageRequested(requestID: rid, ask: ask, expiresAt: 1234))
    #expect(try MarketEvent.decode(topics: [[UInt8](repeating: 0, count: 32)], data: []) == nil)
    #expect(throws: ABIError.self) { try MarketEvent.decode(topics: [MarketplaceABI.slotFilled.topic0], data: []) }
  }

  @Test func fuzzEventDecodingNeverTraps() {
    var rng = SplitMix64(state: 3)
    let topics0 = MarketplaceABI.events.map(\.topic0)
    for _ in 0..<3000 {
      var topics = [topics0[Int.random(in: 0..<topics0.count, using: &rng)]]
      for _ in 0..<Int.random(in: 0...2, using: &rng) { topics.append(rng.bytes(Int.random(in: 30...33, using: &rng))) }
      let data = rng.bytes([0, 31, 32, 64, 288, 300][Int.random(in: 0..<6, using: &rng)])
      _ = try? MarketEvent.decode(topics: topics, data: data)
      _ = ContractRevert.decode(rng.bytes(Int.random(in: 0..<100, using: &rng)))
    }
  }
}
