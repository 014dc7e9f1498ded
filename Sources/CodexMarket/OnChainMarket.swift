import Logging

/// `Market` over JSON-RPC: calls the deployed Marketplace contract, signs transactions locally through a
/// `TransactionSender` (one nonce sequence per account), approves ERC-20 amounts before `requestStorage` and
/// `fillSlot`, pads gas estimates like nim-codex, and waits for `confirmations` blocks per transaction.
public actor OnChainMarket: Market {
  public nonisolated let address: EthereumAddress
  public let sender: TransactionSender
  public let client: EthereumClient
  /// Block tag used for views (`pending`, as nim-codex hosts do).
  public var viewBlock: BlockTag = .pending
  /// Blocks to wait for per transaction.
  public var confirmations: UInt64 = 1
  /// Delay between event polls.
  public var eventPollMilliseconds: Int64 = 200
  private var cachedConfig: MarketplaceConfig?
  private var cachedToken: EthereumAddress?
  private let approvalLock = AsyncLock()
  private let clock: ChainClock
  private let logger: Logger

  /// `address` is the Marketplace contract.
  public init(address: EthereumAddress, sender: TransactionSender, logger: Logger) {
    self.address = address
    self.sender = sender
    self.client = sender.client
    self.clock = ChainClock(client: sender.client)
    self.logger = logger
  }

  /// Sets the delay between event polls.
  public func setEventPoll(milliseconds: Int64) { eventPollMilliseconds = milliseconds }

  // MARK: plumbing

  private func view(_ f: MarketplaceABI.Function, _ args: [ABIValue], to: EthereumAddress? = nil)
    async throws(MarketError)
    -> [ABIValue]
  {
    let data: [UInt8]
    do { data = try f.encode(args) } catch { throw .decoding("\(f.signature): \(error)") }
    do {
      let out = try await client.call(to: to ?? address, data: data, from: sender.address, at: viewBlock)
      return try f.decodeOutput(out)
    } catch let e as EthereumError {
      throw MarketError(e)
    } catch {
      throw .decoding("\(f.signature): \(error)")
    }
  }

  private func transact(
    _ f: MarketplaceABI.Function, _ args: [ABIValue], to: EthereumAddress? = nil, gasPercent: UInt64 = 100
  ) async throws(MarketError) {
    let data: [UInt8]
    do { data = try f.encode(args) } catch { throw .decoding("\(f.signature): \(error)") }
    do throws(EthereumError) {
      let receipt = try await sender.sendAndWait(
        to: to ?? address, data: data, gasMultiplierPercent: gasPercent, confirmations: confirmations)
      logger.trace("transaction mined", metadata: ["function": "\(f.name)", "block": "\(receipt.blockNumber)"])
    } catch {
      throw MarketError(error)
    }
  }

  /// Raises the allowance for the marketplace by `amount` (allowance + amount), serialised under a lock.
  private func approve(_ amount: UInt256) async throws(MarketError) {
    let token = try await self.token()
    await approvalLock.acquire()
    let result: Result<Void, MarketError>
    do throws(MarketError) {
      let current = try await view(MarketplaceABI.allowance, [.address(sender.address), .address(address)], to: token)
      let allowance = try Self.u256(current[0])
      try await transact(MarketplaceABI.approve, [.address(address), .uint(allowance &+ amount)], to: token)
      result = .success(())
    } catch {
      result = .failure(error)
    }
    await approvalLock.release()
    try result.get()
  }

  private static func u256(_ v: ABIValue) throws(MarketError) -> UInt256 {
    guard let x = v.uintValue else { throw .decoding("expected uint, got \(v)") }
    return x
  }

  private static func u64(_ v: ABIValue) throws(MarketError) -> UInt64 {
    guard let x = try u256(v).uint64Value else { throw .decoding("expected uint64, got \(v)") }
    return x
  }

  private static func bytes32(_ v: ABIValue) throws(MarketError) -> [UInt8] {
    guard let b = v.bytesValue else { throw .decoding("expected bytes32, got \(v)") }
    return b
  }

  // MARK: Market

  public func signer() async throws(MarketError) -> EthereumAddress { sender.address }

  public func configuration() async throws(MarketError) -> MarketplaceConfig {
    if let c = cachedConfig { return c }
    let v = try await view(MarketplaceABI.configuration, [])
    do {
      let c = try MarketplaceConfig(abi: v[0])
      cachedConfig = c
      return c
    } catch { throw .decoding("configuration: \(error)") }
  }

  public func token() async throws(MarketError) -> EthereumAddress {
    if let t = cachedToken { return t }
    let v = try await view(MarketplaceABI.token, [])
    guard let a = v[0].addressValue else { throw .decoding("token") }
    cachedToken = a
    return a
  }

  public func currentTime() async throws(MarketError) -> UInt64 {
    do { return try await clock.now() } catch let e as EthereumError { throw .ethereum(e) } catch {
      throw .ethereum(.local("\(error)"))
    }
  }

  public func tokenBalance(of account: EthereumAddress) async throws(MarketError) -> UInt256 {
    let t = try await token()
    return try Self.u256(try await view(MarketplaceABI.balanceOf, [.address(account)], to: t)[0])
  }

  public func requestStorage(_ request: StorageRequest) async throws(MarketError) {
    try await approve(request.ask.maxPrice)
    try await transact(MarketplaceABI.requestStorage, [request.abiValue])
  }

  public func canReserveSlot(_ requestID: RequestID, slotIndex: UInt64) async throws(MarketError) -> Bool {
    try await view(MarketplaceABI.canReserveSlot, [.fixedBytes(requestID), .uint64(slotIndex)])[0].boolValue ?? false
  }

  public func reserveSlot(_ requestID: RequestID, slotIndex: UInt64) async throws(MarketError) {
    try await transact(MarketplaceABI.reserveSlot, [.fixedBytes(requestID), .uint64(slotIndex)], gasPercent: 125)
  }

  public func fillSlot(_ requestID: RequestID, slotIndex: UInt64, proof: Groth16Proof, collateral: UInt256)
    async throws(MarketError)
  {
    try await approve(collateral)
    try await transact(
      MarketplaceABI.fillSlot, [.fixedBytes(requestID), .uint64(slotIndex), proof.abiValue], gasPercent: 110)
  }

  public func freeSlot(_ slotID: SlotID) async throws(MarketError) {
    try await transact(MarketplaceABI.freeSlot, [.fixedBytes(slotID)], gasPercent: 300)
  }

  /// `freeSlot(slotId, rewardRecipient, collateralRecipient)`: the payout goes to `rewardRecipient` and the
  /// collateral to `collateralRecipient` (nim-codex uses this form when `--reward-recipient` is set).
  public func freeSlot(_ slotID: SlotID, rewardRecipient: EthereumAddress, collateralRecipient: EthereumAddress)
    async throws(MarketError)
  {
    try await transact(
      MarketplaceABI.freeSlotWithRecipients,
      [.fixedBytes(slotID), .address(rewardRecipient), .address(collateralRecipient)], gasPercent: 300)
  }

  public func submitProof(_ slotID: SlotID, proof: Groth16Proof) async throws(MarketError) {
    try await transact(MarketplaceABI.submitProof, [.fixedBytes(slotID), proof.abiValue])
  }

  public func markProofAsMissing(_ slotID: SlotID, period: UInt64) async throws(MarketError) {
    try await transact(MarketplaceABI.markProofAsMissing, [.fixedBytes(slotID), .uint64(period)], gasPercent: 150)
  }

  public func canMarkProofAsMissing(_ slotID: SlotID, period: UInt64) async throws(MarketError) -> Bool {
    do throws(MarketError) {
      _ = try await view(MarketplaceABI.canMarkProofAsMissing, [.fixedBytes(slotID), .uint64(period)])
      return true
    } catch {
      switch error {
      case .contract, .reverted: return false
      default: throw error
      }
    }
  }

  public func withdrawFunds(_ requestID: RequestID) async throws(MarketError) {
    try await transact(MarketplaceABI.withdrawFunds, [.fixedBytes(requestID)])
  }

  public func getRequest(_ requestID: RequestID) async throws(MarketError) -> StorageRequest? {
    do throws(MarketError) {
      let v = try await view(MarketplaceABI.getRequest, [.fixedBytes(requestID)])
      do { return try StorageRequest(abi: v[0]) } catch { throw MarketError.decoding("getRequest: \(error)") }
    } catch {
      if error == .contract(.unknownRequest) { return nil }
      throw error
    }
  }

  public func requestState(_ requestID: RequestID) async throws(MarketError) -> RequestState? {
    do throws(MarketError) {
      let v = try await view(MarketplaceABI.requestState, [.fixedBytes(requestID)])
      guard let s = try? MarketABI.u8(v[0]), let state = RequestState(rawValue: s) else {
        throw MarketError.decoding("requestState \(v)")
      }
      return state
    } catch {
      if error == .contract(.unknownRequest) { return nil }
      throw error
    }
  }

  public func slotState(_ slotID: SlotID) async throws(MarketError) -> SlotState {
    let v = try await view(MarketplaceABI.slotState, [.fixedBytes(slotID)])
    guard let s = try? MarketABI.u8(v[0]), let state = SlotState(rawValue: s) else {
      throw .decoding("slotState \(v)")
    }
    return state
  }

  public func getHost(_ slotID: SlotID) async throws(MarketError) -> EthereumAddress? {
    let v = try await view(MarketplaceABI.getHost, [.fixedBytes(slotID)])
    guard let a = v[0].addressValue else { throw .decoding("getHost") }
    return a == .zero ? nil : a
  }

  public func getActiveSlot(_ slotID: SlotID) async throws(MarketError) -> ActiveSlot? {
    do throws(MarketError) {
      let v = try await view(MarketplaceABI.getActiveSlot, [.fixedBytes(slotID)])
      guard case .tuple(let f) = v[0], f.count == 2, let r = try? StorageRequest(abi: f[0]),
        let i = try? MarketABI.u64(f[1])
      else { throw MarketError.decoding("getActiveSlot") }
      return ActiveSlot(request: r, slotIndex: i)
    } catch {
      if error == .contract(.slotIsFree) { return nil }
      throw error
    }
  }

  public func currentCollateral(_ slotID: SlotID) async throws(MarketError) -> UInt256 {
    try Self.u256(try await view(MarketplaceABI.currentCollateral, [.fixedBytes(slotID)])[0])
  }

  private func u64View(_ f: MarketplaceABI.Function, _ id: [UInt8]) async throws(MarketError) -> UInt64 {
    try Self.u64(try await view(f, [.fixedBytes(id)])[0])
  }

  public func requestEnd(_ requestID: RequestID) async throws(MarketError) -> UInt64 {
    try await u64View(MarketplaceABI.requestEnd, requestID)
  }

  public func requestExpiresAt(_ requestID: RequestID) async throws(MarketError) -> UInt64 {
    try await u64View(MarketplaceABI.requestExpiry, requestID)
  }

  public func isProofRequired(_ slotID: SlotID) async throws(MarketError) -> Bool {
    try await view(MarketplaceABI.isProofRequired, [.fixedBytes(slotID)])[0].boolValue ?? false
  }

  public func willProofBeRequired(_ slotID: SlotID) async throws(MarketError) -> Bool {
    try await view(MarketplaceABI.willProofBeRequired, [.fixedBytes(slotID)])[0].boolValue ?? false
  }

  public func getChallenge(_ slotID: SlotID) async throws(MarketError) -> [UInt8] {
    try Self.bytes32(try await view(MarketplaceABI.getChallenge, [.fixedBytes(slotID)])[0])
  }

  public func getPointer(_ slotID: SlotID) async throws(MarketError) -> UInt8 {
    let v = try Self.u64(try await view(MarketplaceABI.getPointer, [.fixedBytes(slotID)])[0])
    guard v <= 255 else { throw .decoding("getPointer: \(v)") }
    return UInt8(v)
  }

  public func myRequests() async throws(MarketError) -> [RequestID] {
    let v = try await view(MarketplaceABI.myRequests, [])
    var out: [RequestID] = []
    for e in v[0].elements ?? [] { out.append(try Self.bytes32(e)) }
    return out
  }

  public func mySlots() async throws(MarketError) -> [SlotID] {
    let v = try await view(MarketplaceABI.mySlots, [])
    var out: [SlotID] = []
    for e in v[0].elements ?? [] { out.append(try Self.bytes32(e)) }
    return out
  }

  /// Polls `eth_getLogs` for the eight Marketplace events. `fromBlock` nil starts at the current head.
  public nonisolated func events(fromBlock: UInt64?) -> AsyncThrowingStream<MarketEvent, any Error> {
    let client = self.client
    let filter = LogFilter(address: address, topics: [MarketplaceABI.events.map(\.topic0)])
    return AsyncThrowingStream { continuation in
      let task = Task {
        do {
          var start: UInt64
          if let fromBlock { start = fromBlock } else { start = try await client.blockNumber() }
          var poller = LogPoller(client: client, filter: filter, fromBlock: start)
          let interval = await self.eventPollMilliseconds
          while !Task.isCancelled {
            for log in try await poller.poll() {
              if let e = try MarketEvent.decode(topics: log.topics, data: log.data) { continuation.yield(e) }
            }
            try await Task.sleep(for: .milliseconds(interval))
          }
          continuation.finish()
        } catch is CancellationError {
          continuation.finish()
        } catch {
          continuation.finish(throwing: error)
        }
      }
      continuation.onTermination = { _ in task.cancel() }
    }
  }
}
