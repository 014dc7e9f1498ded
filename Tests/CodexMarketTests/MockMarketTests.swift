import Testing

@testable import CodexMarket

/// The same lifecycle the dev-chain integration test runs, against the in-process test double.
@Suite struct MockMarketTests {
  let clientAddr = EthereumAddress(bytes: [UInt8](repeating: 1, count: 20))!
  let hostAddr = EthereumAddress(bytes: [UInt8](repeating: 2, count: 20))!
  let validatorAddr = EthereumAddress(bytes: [UInt8](repeating: 3, count: 20))!

  func request(slots: UInt64 = 1, maxSlotLoss: UInt64 = 0) -> StorageRequest {
    StorageRequest(
      client: clientAddr,
      ask: Ask(
        proofProbability: 1, pricePerBytePerSecond: 2, collateralPerByte: 5, slots: slots, slotSize: 100,
        duration: 1000, maxSlotLoss: maxSlotLoss),
      content: Content(cid: [1, 2, 3], merkleRoot: [UInt8](repeating: 0, count: 32)), expiry: 300,
      nonce: [UInt8](repeating: 9, count: 32))
  }

  @Test func fullLifecycleWithOneSlash() async throws {
    let chain = MockChain(startTime: 9_000)
    let funds: UInt256 = 1_000_000
    for a in [clientAddr, hostAddr, validatorAddr] { await chain.mint(a, funds) }
    let client = MockMarket(chain: chain, account: clientAddr)
    let host = MockMarket(chain: chain, account: hostAddr)
    let validator = MockMarket(chain: chain, account: validatorAddr)
    let r = request()
    let id = try r.id()
    let sid = StorageRequest.slotID(requestID: id, slotIndex: 0)
    let events = client.events(fromBlock: 0)

    try await client.requestStorage(r)
    #expect(try await client.requestState(id) == .new)
    await #expect(throws: MarketError.contract(.requestAlreadyExists)) { try await client.requestStorage(r) }
    await #expect(throws: MarketError.contract(.reservationRequired)) {
      try await host.fillSlot(id, slotIndex: 0, proof: .dummy, collateral: 500)
    }
    try await host.reserveSlot(id, slotIndex: 0)
    await #expect(throws: MarketError.contract(.invalidProof)) {
      try await host.fillSlot(id, slotIndex: 0, proof: .zero, collateral: 500)
    }
    await chain.advanceTime(by: 10)
    let filledAt = await chain.now
    try await host.fillSlot(id, slotIndex: 0, proof: .dummy, collateral: 500)
    #expect(try await client.requestState(id) == .started)
    #expect(try await host.getHost(sid) == hostAddr)
    #expect(try await host.mySlots() == [sid])

    // A required proof is missed in period p and marked by the validator.
    let period = MarketplaceConfig.localDefaults.proofs.period
    await chain.setProofRequired(sid, true)
    let p = filledAt / period + 1
    await chain.setTime((p + 1) * period + 1)
    #expect(try await validator.canMarkProofAsMissing(sid, period: p))
    try await validator.markProofAsMissing(sid, period: p)
    await #expect(throws: MarketError.contract(.proofAlreadyMarkedMissing)) {
      try await validator.markProofAsMissing(sid, period: p)
    }
    let collateral = r.ask.collateralPerSlot  // 500
    let slashed = collateral * 20 / 100
    #expect(try await host.currentCollateral(sid) == collateral - slashed)

    // The request runs to its end; host collects, client withdraws the rest.
    await chain.setTime(filledAt - 10 + r.ask.duration + 1)
    #expect(try await client.requestState(id) == .finished)
    try await host.freeSlot(sid)
    await #expect(throws: MarketError.contract(.alreadyPaid)) { try await host.freeSlot(sid) }
    try await client.withdrawFunds(id)
    await #expect(throws: MarketError.contract(.nothingToWithdraw)) { try await client.withdrawFunds(id) }

    let price = r.ask.pricePerSlotPerSecond
    let endsAt = filledAt - 10 + r.ask.duration
    let hostPay = UInt256(endsAt - filledAt) * price
    #expect(await chain.balance(of: hostAddr) == funds + hostPay - slashed)
    #expect(await chain.balance(of: validatorAddr) == funds + slashed * 20 / 100)
    #expect(await chain.balance(of: clientAddr) == funds - hostPay)

    var seen: [MarketEvent] = []
    for try await e in events {
      seen.append(e)
      if seen.count == 3 { break }
    }
    #expect(
      seen == [
        .storageRequested(requestID: id, ask: r.ask, expiresAt: 9_300), .slotFilled(requestID: id, slotIndex: 0),
        .requestFulfilled(requestID: id),
      ])
  }

  @Test func twoMissesFreeTheSlotAndFailTheRequest() async throws {
    let chain = MockChain(startTime: 9_000)
    for a in [clientAddr, hostAddr, validatorAddr] { await chain.mint(a, 1_000_000) }
    let client = MockMarket(chain: chain, account: clientAddr)
    let host = MockMarket(chain: chain, account: hostAddr)
    let validator = MockMarket(chain: chain, account: validatorAddr)
    let r = request()
    let id = try r.id()
    let sid = StorageRequest.slotID(requestID: id, slotIndex: 0)
    try await client.requestStorage(r)
    try await host.reserveSlot(id, slotIndex: 0)
    try await host.fillSlot(id, slotIndex: 0, proof: .dummy, collateral: 500)
    await chain.setProofRequired(sid, true)
    let period: UInt64 = 90
    for p in [UInt64(101), 102] {
      await chain.setTime((p + 1) * period + 1)
      try await validator.markProofAsMissing(sid, period: p)
    }
    #expect(try await host.slotState(sid) == .failed)  // Repair is shadowed by the failed request
    #expect(try await client.requestState(id) == .failed)
    try await client.withdrawFunds(id)
    #expect(await chain.balance(of: clientAddr) == 1_000_000)  // failed: full maxPrice back
    #expect(await chain.emitted.contains(.requestFailed(requestID: id)))
  }

  @Test func expiredRequestIsCancelled() async throws {
    let chain = MockChain(startTime: 9_000)
    await chain.mint(clientAddr, 1_000_000)
    let client = MockMarket(chain: chain, account: clientAddr)
    let r = request(slots: 2, maxSlotLoss: 1)
    let id = try r.id()
    try await client.requestStorage(r)
    await #expect(throws: MarketError.contract(.invalidState)) { try await client.withdrawFunds(id) }
    await chain.advanceTime(by: 301)
    #expect(try await client.requestState(id) == .cancelled)
    try await client.withdrawFunds(id)
    #expect(await chain.balance(of: clientAddr) == 1_000_000)
    #expect(try await client.requestState(UInt256(5).bigEndianBytes) == nil)
  }
}
