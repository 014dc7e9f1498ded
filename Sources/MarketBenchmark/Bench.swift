import CodexMarket
import Foundation

func milliseconds(_ d: Duration) -> Double {
  Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
}

/// Prints one JSON object per measurement.
func emit(_ name: String, _ value: Double, _ unit: String, _ extra: [String: String] = [:]) {
  var fields = ["\"name\":\"\(name)\"", "\"value\":\(String(format: "%.3f", value))", "\"unit\":\"\(unit)\""]
  for (k, v) in extra.sorted(by: { $0.key < $1.key }) { fields.append("\"\(k)\":\(v)") }
  print("{" + fields.joined(separator: ",") + "}")
}

/// Sends token transfers from `senders` concurrent tasks sharing ONE account (one nonce sequence) for `seconds`;
/// returns (mined transactions, elapsed seconds) after checking the chain's nonce equals the count.
func measureThroughput(chain: DevChain, sender: TransactionSender, token: EthereumAddress, tasks: Int, seconds: Double)
  async throws -> (Int, Double)
{
  let startNonce = try await chain.client.transactionCount(of: sender.address, at: .pending)
  let data = try ABI.encodeCall(
    "transfer", [.address, .uint(256)], [.address(chain.key(9).address), .uint(1)])
  let start = ContinuousClock.now
  let deadline = start + .milliseconds(Int64(seconds * 1000))
  let counts = try await withThrowingTaskGroup(of: Int.self) { group in
    for _ in 0..<tasks {
      group.addTask {
        var n = 0
        while ContinuousClock.now < deadline {
          let hash = try await sender.send(to: token, data: data, gasLimit: 100_000)
          _ = try await sender.waitForReceipt(hash)
          n += 1
        }
        return n
      }
    }
    return try await group.reduce(0, +)
  }
  let elapsed = milliseconds(ContinuousClock.now - start) / 1000
  let endNonce = try await chain.client.transactionCount(of: sender.address, at: .latest)
  guard endNonce - startNonce == UInt64(counts) else {
    throw CheckFailure(description: "nonce gap: \(counts) sent, chain nonce moved \(endNonce - startNonce)")
  }
  return (counts, elapsed)
}

func runBenchmark(chain: DevChain, artifacts: String, seconds: Double, fills: Int) async throws {
  let config = MarketplaceConfig(
    collateral: CollateralConfig(
      repairRewardPercentage: 10, maxNumberOfSlashes: 2, slashPercentage: 20, validatorRewardPercentage: 20),
    proofs: ProofConfig(period: 20, timeout: 10, downtime: 0, downtimeProduct: 67, zkeyHash: ""),
    maxReservations: 3, requestDurationLimit: 30 * 24 * 3600)
  let deployer = try await chain.sender(chain.key(1))
  let d = try await chain.deployMarketplace(artifacts: artifacts, deployer: deployer, config: config)
  let benchSender = try await chain.sender(chain.key(6))
  try await chain.mint(deployer, token: d.token, to: benchSender.address, amount: 1_000_000_000)

  let (n1, t1) = try await measureThroughput(
    chain: chain, sender: benchSender, token: d.token, tasks: 1, seconds: seconds)
  emit("market.tx_per_second.1_task", Double(n1) / t1, "tx/s", ["transactions": "\(n1)"])
  let (n4, t4) = try await measureThroughput(
    chain: chain, sender: benchSender, token: d.token, tasks: 4, seconds: seconds)
  emit(
    "market.tx_per_second.4_tasks", Double(n4) / t4, "tx/s",
    ["transactions": "\(n4)", "baseline_1_task": String(format: "%.3f", Double(n1) / t1), "nonce_gaps": "0"])

  // fillSlot → SlotFilled latency: time from starting fillSlot (approve + fill, each waited) until the event
  // arrives through the log poller.
  let logger = chain.logger
  let client = OnChainMarket(
    address: d.marketplace, sender: try await chain.sender(chain.key(7)), logger: logger)
  let host = OnChainMarket(
    address: d.marketplace, sender: try await chain.sender(chain.key(8)), logger: logger)
  await host.setEventPoll(milliseconds: 20)
  for a in [try await client.signer(), try await host.signer()] {
    try await chain.mint(deployer, token: d.token, to: a, amount: 1_000_000_000_000)
  }
  var latencies: [Double] = []
  var txLatencies: [Double] = []
  for i in 0..<fills {
    var nonce = [UInt8](repeating: 0, count: 32)
    nonce[0] = UInt8(i)
    for j in 1..<32 { nonce[j] = UInt8.random(in: 0...255) }
    let request = StorageRequest(
      client: try await client.signer(),
      ask: Ask(
        proofProbability: 1, pricePerBytePerSecond: 1, collateralPerByte: 1, slots: 1, slotSize: 1024,
        duration: 10_000, maxSlotLoss: 0),
      content: Content(cid: [1, 2, 3], merkleRoot: [UInt8](repeating: 0, count: 32)), expiry: 5000, nonce: nonce)
    let id = try request.id()
    try await client.requestStorage(request)
    try await host.reserveSlot(id, slotIndex: 0)
    let head = try await chain.client.blockNumber()
    let stream = host.events(fromBlock: head + 1)
    let start = ContinuousClock.now
    // The event is awaited concurrently with the transaction, so its arrival time is measured on its own.
    let watcher = Task { () -> ContinuousClock.Instant? in
      for try await e in stream where e == .slotFilled(requestID: id, slotIndex: 0) { return ContinuousClock.now }
      return nil
    }
    try await host.fillSlot(id, slotIndex: 0, proof: .dummy, collateral: request.ask.collateralPerSlot)
    let mined = ContinuousClock.now
    guard let seen = try await watcher.value else { throw CheckFailure(description: "SlotFilled never arrived") }
    latencies.append(milliseconds(seen - start))
    txLatencies.append(milliseconds(mined - start))
  }
  latencies.sort()
  txLatencies.sort()
  emit(
    "market.fillSlot_to_SlotFilled.median", latencies[latencies.count / 2], "ms",
    [
      "samples": "\(fills)", "max": String(format: "%.3f", latencies.last!),
      "baseline_fillSlot_receipt_median": String(format: "%.3f", txLatencies[txLatencies.count / 2]),
    ])
}
