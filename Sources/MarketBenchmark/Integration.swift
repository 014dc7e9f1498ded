import CodexMarket
import Foundation
import Logging

/// Collects events from a stream in the background.
actor EventLog {
  private(set) var events: [MarketEvent] = []
  func add(_ e: MarketEvent) { events.append(e) }
}

/// Counts named checks; prints one line per check.
final class Checks: @unchecked Sendable {
  private(set) var passed = 0
  private(set) var failed = 0
  func check(_ name: String, _ ok: Bool, _ detail: @autoclosure () -> String = "") {
    if ok {
      passed += 1
      print("PASS \(name)")
    } else {
      failed += 1
      print("FAIL \(name) \(detail())")
    }
  }
  func expectError(_ name: String, _ expected: MarketError, _ body: () async throws -> Void) async {
    do {
      try await body()
      check(name, false, "no error, expected \(expected)")
    } catch {
      check(name, (error as? MarketError) == expected, "got \(error), expected \(expected)")
    }
  }
}

/// The marketplace lifecycle on a real EVM: request → reserve → fill → proof → missed proof marked and slashed →
/// finish → payouts; balances must equal the spec formulas (marketplace.md §1.5–1.6).
func runIntegration(chain: DevChain, artifacts: String) async throws -> Checks {
  let c = Checks()
  let config = MarketplaceConfig(
    collateral: CollateralConfig(
      repairRewardPercentage: 10, maxNumberOfSlashes: 2, slashPercentage: 20, validatorRewardPercentage: 20),
    proofs: ProofConfig(period: 20, timeout: 10, downtime: 0, downtimeProduct: 67, zkeyHash: ""),
    maxReservations: 3, requestDurationLimit: 30 * 24 * 3600)
  let deployer = try await chain.sender(chain.key(1))
  let d = try await chain.deployMarketplace(artifacts: artifacts, deployer: deployer, config: config)
  print("deployed marketplace \(d.marketplace) token \(d.token)")

  let logger = chain.logger
  let client = OnChainMarket(
    address: d.marketplace, sender: try await chain.sender(chain.key(2)), logger: logger)
  let host = OnChainMarket(
    address: d.marketplace, sender: try await chain.sender(chain.key(3)), logger: logger)
  let validator = OnChainMarket(
    address: d.marketplace, sender: try await chain.sender(chain.key(4)), logger: logger)
  let clientAddr = try await client.signer()
  let hostAddr = try await host.signer()
  let validatorAddr = try await validator.signer()
  let funds: UInt256 = 1_000_000_000_000
  for a in [clientAddr, hostAddr] { try await chain.mint(deployer, token: d.token, to: a, amount: funds) }

  c.check("configuration round-trips", try await host.configuration() == config)
  c.check("token address", try await host.token() == d.token)

  let log = EventLog()
  let startBlock = try await chain.client.blockNumber()
  let stream = host.events(fromBlock: startBlock)
  let collector = Task {
    for try await e in stream { await log.add(e) }
  }
  defer { collector.cancel() }

  let before = (
    client: try await client.tokenBalance(of: clientAddr), host: try await client.tokenBalance(of: hostAddr),
    validator: try await client.tokenBalance(of: validatorAddr)
  )

  var nonce = [UInt8](repeating: 0, count: 32)
  for i in 0..<32 { nonce[i] = UInt8.random(in: 0...255) }
  let request = StorageRequest(
    client: clientAddr,
    ask: Ask(
      proofProbability: 1, pricePerBytePerSecond: 3, collateralPerByte: 5, slots: 1, slotSize: 1024, duration: 300,
      maxSlotLoss: 0),
    content: Content(cid: Array("zb2rhheVmk3bLks5MgzTqyznLu1zqGH5jrfTA1eAZXrjx7Vob".utf8), merkleRoot: Array(0..<32)),
    expiry: 100, nonce: nonce)
  let id = try request.id()
  let sid = StorageRequest.slotID(requestID: id, slotIndex: 0)

  try await client.requestStorage(request)
  c.check("request state New", try await client.requestState(id) == .new)
  c.check("getRequest returns the request", try await host.getRequest(id) == request)
  c.check("myRequests lists it", try await client.myRequests().contains(id))
  c.check("unknown request is nil", try await host.requestState([UInt8](repeating: 7, count: 32)) == nil)
  await c.expectError("duplicate request reverts RequestAlreadyExists", .contract(.requestAlreadyExists)) {
    try await client.requestStorage(request)
  }

  c.check("host can reserve", try await host.canReserveSlot(id, slotIndex: 0))
  await c.expectError("fill without reservation reverts ReservationRequired", .contract(.reservationRequired)) {
    try await host.fillSlot(id, slotIndex: 0, proof: .dummy, collateral: request.ask.collateralPerSlot)
  }
  try await host.reserveSlot(id, slotIndex: 0)
  let collateral = request.ask.slotCollateral(state: .free, config: config)
  try await host.fillSlot(id, slotIndex: 0, proof: .dummy, collateral: collateral)
  c.check("slot Filled", try await host.slotState(sid) == .filled)
  c.check("request Started", try await host.requestState(id) == .started)
  c.check("getHost is the host", try await host.getHost(sid) == hostAddr)
  c.check("getActiveSlot", try await host.getActiveSlot(sid)?.slotIndex == 0)
  c.check("mySlots lists the slot", try await host.mySlots() == [sid])
  c.check("collateral deposited", try await host.currentCollateral(sid) == collateral)
  await c.expectError("second fill reverts SlotNotFree", .contract(.slotNotFree)) {
    try await host.fillSlot(id, slotIndex: 0, proof: .dummy, collateral: collateral)
  }

  // filledAt = timestamp of the block holding SlotFilled (read through eth_getLogs).
  let filledLogs = try await chain.client.logs(
    LogFilter(address: d.marketplace, topics: [[MarketplaceABI.slotFilled.topic0], [id]]), from: startBlock,
    to: try await chain.client.blockNumber())
  c.check("one SlotFilled log", filledLogs.count == 1, "\(filledLogs.count)")
  let filledAt = try await chain.client.block(.number(filledLogs[0].blockNumber)).timestamp

  // A proof in the next period through the TestVerifier.
  let period = config.proofs.period
  let p1 = filledAt / period + 1
  try await chain.advance(to: p1 * period + 1)
  await c.expectError("all-zero proof reverts InvalidProof", .contract(.invalidProof)) {
    try await host.submitProof(sid, proof: .zero)
  }
  try await host.submitProof(sid, proof: .dummy)
  await c.expectError("second proof in a period reverts ProofAlreadySubmitted", .contract(.proofAlreadySubmitted)) {
    try await host.submitProof(sid, proof: .dummy)
  }

  // The next period's proof is missed; the validator marks it once the period has ended.
  let p2 = p1 + 1
  try await chain.advance(to: (p2 + 1) * period + 1)
  c.check("missed proof can be marked", try await validator.canMarkProofAsMissing(sid, period: p2))
  c.check("submitted proof cannot be marked", try await validator.canMarkProofAsMissing(sid, period: p1) == false)
  try await validator.markProofAsMissing(sid, period: p2)
  let slashed = request.ask.collateralPerSlot * UInt256(UInt64(config.collateral.slashPercentage)) / 100
  c.check("collateral slashed", try await host.currentCollateral(sid) == collateral - slashed)
  await c.expectError("marking twice reverts ProofAlreadyMarkedMissing", .contract(.proofAlreadyMarkedMissing)) {
    try await validator.markProofAsMissing(sid, period: p2)
  }
  c.check("slot still Filled after one slash", try await host.slotState(sid) == .filled)

  // Run to the end; the host collects payment and remaining collateral, the client the rest.
  let endsAt = try await host.requestEnd(id)
  try await chain.advance(to: endsAt + 1)
  c.check("request Finished", try await client.requestState(id) == .finished)
  c.check("slot Finished", try await host.slotState(sid) == .finished)
  await c.expectError("client cannot free the host's slot", .contract(.invalidSlotHost)) {
    try await client.freeSlot(sid)
  }
  try await host.freeSlot(sid)
  c.check("slot Paid", try await host.slotState(sid) == .paid)
  try await client.withdrawFunds(id)
  await c.expectError("second withdrawal reverts NothingToWithdraw", .contract(.nothingToWithdraw)) {
    try await client.withdrawFunds(id)
  }

  let pay = UInt256(endsAt - filledAt) * request.ask.pricePerSlotPerSecond
  let reward = slashed * UInt256(UInt64(config.collateral.validatorRewardPercentage)) / 100
  let after = (
    client: try await client.tokenBalance(of: clientAddr), host: try await client.tokenBalance(of: hostAddr),
    validator: try await client.tokenBalance(of: validatorAddr)
  )
  c.check("host balance = before + pay − slashed", after.host == before.host + pay - slashed, "\(after.host)")
  c.check("client balance = before − pay", after.client == before.client - pay, "\(after.client)")
  c.check("validator balance = before + reward", after.validator == before.validator + reward, "\(after.validator)")
  print(
    "{\"filledAt\":\(filledAt),\"endsAt\":\(endsAt),\"pay\":\"\(pay)\",\"slashed\":\"\(slashed)\",\"reward\":\"\(reward)\"}"
  )

  // Events arrive through the log poller.
  let deadline = ContinuousClock.now + .seconds(10)
  while await log.events.count < 5 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(100)) }
  let events = await log.events
  let expectedEvents: [MarketEvent] = [
    .storageRequested(requestID: id, ask: request.ask, expiresAt: try await client.requestExpiresAt(id)),
    .proofSubmitted(slotID: sid),  // fillSlot submits the filling proof first
    .slotFilled(requestID: id, slotIndex: 0), .requestFulfilled(requestID: id), .proofSubmitted(slotID: sid),
  ]
  c.check("events in order", events == expectedEvents, "\(events)".prefix(400).description)

  // Chain clock follows block time, not wall time.
  let clockNow = try await ChainClock(client: chain.client).now()
  c.check("chain clock follows block timestamps", clockNow >= endsAt, "\(clockNow) < \(endsAt)")

  // Typed transport errors.
  let wrongChain = await wrongChainError(chain: chain, logger: logger)
  c.check(
    "wrong chain id rejected", wrongChain == .wrongChainID(expected: chain.chainID + 1, actual: chain.chainID),
    "\(String(describing: wrongChain))")
  let dead = HTTPEthereumProvider(url: "http://127.0.0.1:9", timeoutSeconds: 2)
  let deadError = await blockNumberError(EthereumClient(provider: dead))
  var isUnreachable = false
  if case .unreachable? = deadError { isUnreachable = true }
  c.check("unreachable endpoint", isUnreachable, "\(String(describing: deadError))")
  let failover = FailoverProvider([dead, chain.client.provider], expectedChainID: chain.chainID, logger: logger)
  c.check("failover to the live endpoint", try await EthereumClient(provider: failover).blockNumber() > 0)
  return c
}

/// The error of constructing a sender with the wrong chain id (nil if none).
func wrongChainError(chain: DevChain, logger: Logger) async -> EthereumError? {
  let r: Result<TransactionSender, EthereumError> = await {
    do throws(EthereumError) {
      return .success(
        try await TransactionSender(
          key: chain.key(5), client: chain.client, chainID: chain.chainID + 1, nonceStorePath: nil,
          logger: logger))
    } catch {
      return .failure(error)
    }
  }()
  if case .failure(let e) = r { return e }
  return nil
}

/// The error of `eth_blockNumber` (nil if it succeeded).
func blockNumberError(_ client: EthereumClient) async -> EthereumError? {
  do throws(EthereumError) {
    _ = try await client.blockNumber()
    return nil
  } catch {
    return error
  }
}
