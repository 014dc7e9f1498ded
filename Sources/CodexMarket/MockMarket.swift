/// TEST DOUBLE — an in-process, deterministic stand-in for the Marketplace contract, for unit tests of the
/// purchasing, sales and validator state machines. Not a chain: no gas, no blocks, no entropy. Time moves only
/// when a test calls `advanceTime(by:)`/`setTime(_:)`; whether a proof is required is set by the test
/// (`setProofRequired`), not computed from block hashes.
///
/// It keeps the contract's bookkeeping and checks of spec §1.4–1.6 (lazily computed request/slot states,
/// reservations, collateral, slashing, payouts, withdrawals) and emits the same events. Several accounts share
/// one `MockChain`; each `MockMarket` is that chain seen by one signer.
public actor MockChain {
  public private(set) var now: UInt64
  public let config: MarketplaceConfig
  public let tokenAddress = EthereumAddress(bytes: [UInt8](repeating: 0x70, count: 20))!
  /// The address holding the marketplace's funds.
  public let marketplaceAddress = EthereumAddress(bytes: [UInt8](repeating: 0x4d, count: 20))!
  private var balances: [EthereumAddress: UInt256] = [:]

  struct RequestContext {
    var request: StorageRequest
    var state: RequestState
    var slotsFilled: UInt64 = 0
    var startedAt: UInt64 = 0
    var endsAt: UInt64
    var expiresAt: UInt64
    var fundsToReturn: UInt256
  }
  struct Slot {
    var requestID: RequestID
    var slotIndex: UInt64
    var state: SlotState = .free
    var host: EthereumAddress?
    var filledAt: UInt64 = 0
    var collateral: UInt256 = .zero
    var missed: UInt64 = 0
  }
  private var requests: [RequestID: RequestContext] = [:]
  private var slots: [SlotID: Slot] = [:]
  private var reservations: [SlotID: [EthereumAddress]] = [:]
  private var proofsReceived: Set<[UInt8]> = []
  private var proofsMarked: Set<[UInt8]> = []
  private var proofRequired: Set<SlotID> = []
  private var proofWillBeRequired: Set<SlotID> = []
  private var challenges: [SlotID: [UInt8]] = [:]
  private var subscribers: [Int: AsyncThrowingStream<MarketEvent, any Error>.Continuation] = [:]
  private var nextSubscriber = 0
  private var history: [MarketEvent] = []
  /// Errors to throw from the next call of a named function (e.g. "fillSlot"), for failure-path tests.
  private var injected: [String: MarketError] = [:]

  public init(startTime: UInt64 = 1_700_000_000, config: MarketplaceConfig = .localDefaults) {
    self.now = startTime
    self.config = config
  }

  // MARK: test controls

  public func setTime(_ t: UInt64) { now = t }
  public func advanceTime(by seconds: UInt64) { now += seconds }
  public func mint(_ account: EthereumAddress, _ amount: UInt256) { balances[account, default: .zero] += amount }
  public func balance(of account: EthereumAddress) -> UInt256 { balances[account] ?? .zero }
  public func setProofRequired(_ slotID: SlotID, _ required: Bool) {
    if required { proofRequired.insert(slotID) } else { proofRequired.remove(slotID) }
  }
  public func setProofWillBeRequired(_ slotID: SlotID, _ required: Bool) {
    if required { proofWillBeRequired.insert(slotID) } else { proofWillBeRequired.remove(slotID) }
  }
  public func setChallenge(_ slotID: SlotID, _ challenge: [UInt8]) { challenges[slotID] = challenge }
  /// Makes the next call of `function` throw `error`.
  public func inject(_ error: MarketError, into function: String) { injected[function] = error }
  /// All events emitted so far, in order.
  public var emitted: [MarketEvent] { history }

  // MARK: internals

  private func check(_ function: String) throws(MarketError) {
    if let e = injected.removeValue(forKey: function) { throw e }
  }

  private func emit(_ e: MarketEvent) {
    history.append(e)
    for c in subscribers.values { c.yield(e) }
  }

  func subscribe(_ c: AsyncThrowingStream<MarketEvent, any Error>.Continuation, replayFrom: Int?) -> Int {
    let id = nextSubscriber
    nextSubscriber += 1
    if let replayFrom, replayFrom < history.count { for e in history[replayFrom...] { c.yield(e) } }
    subscribers[id] = c
    return id
  }

  func unsubscribe(_ id: Int) { subscribers[id] = nil }

  private func transfer(_ from: EthereumAddress, _ to: EthereumAddress, _ amount: UInt256) throws(MarketError) {
    let have = balances[from] ?? .zero
    guard have >= amount else { throw .contract(.transferFailed) }
    balances[from] = have - amount
    balances[to, default: .zero] += amount
  }

  private func ctx(_ id: RequestID) throws(MarketError) -> RequestContext {
    guard let c = requests[id] else { throw .contract(.unknownRequest) }
    return c
  }

  func requestStateOf(_ id: RequestID) throws(MarketError) -> RequestState {
    let c = try ctx(id)
    if c.state == .new && now > c.expiresAt { return .cancelled }
    if (c.state == .new || c.state == .started) && now > c.endsAt { return .finished }
    return c.state
  }

  func slotStateOf(_ slotID: SlotID) throws(MarketError) -> SlotState {
    guard let s = slots[slotID] else { return .free }
    if s.state == .paid { return .paid }
    switch try requestStateOf(s.requestID) {
    case .cancelled: return .cancelled
    case .finished: return .finished
    case .failed: return .failed
    default: return s.state
    }
  }

  private func period(_ t: UInt64) -> UInt64 { t / config.proofs.period }

  // MARK: contract functions (signer passed explicitly)

  func requestStorage(_ r: StorageRequest, by signer: EthereumAddress) throws(MarketError) {
    try check("requestStorage")
    guard r.client == signer else { throw .contract(.invalidClientAddress) }
    let id: RequestID
    do { id = try r.id() } catch { throw .decoding("\(error)") }
    guard requests[id] == nil else { throw .contract(.requestAlreadyExists) }
    guard r.expiry > 0, r.expiry < r.ask.duration else { throw .contract(.invalidExpiry) }
    guard r.ask.slots > 0 else { throw .contract(.insufficientSlots) }
    guard r.ask.maxSlotLoss <= r.ask.slots else { throw .contract(.invalidMaxSlotLoss) }
    guard r.ask.duration > 0 else { throw .contract(.insufficientDuration) }
    guard !r.ask.proofProbability.isZero else { throw .contract(.insufficientProofProbability) }
    guard !r.ask.collateralPerByte.isZero else { throw .contract(.insufficientCollateral) }
    guard !r.ask.pricePerBytePerSecond.isZero else { throw .contract(.insufficientReward) }
    guard !r.content.cid.isEmpty else { throw .contract(.invalidCid) }
    guard r.ask.duration <= config.requestDurationLimit else { throw .contract(.durationExceedsLimit) }
    try transfer(signer, marketplaceAddress, r.ask.maxPrice)
    requests[id] = RequestContext(
      request: r, state: .new, endsAt: now + r.ask.duration, expiresAt: now + r.expiry, fundsToReturn: r.ask.maxPrice)
    emit(.storageRequested(requestID: id, ask: r.ask, expiresAt: now + r.expiry))
  }

  func canReserveSlot(_ id: RequestID, _ index: UInt64, by signer: EthereumAddress) throws(MarketError) -> Bool {
    let sid = StorageRequest.slotID(requestID: id, slotIndex: index)
    let state = try slotStateOf(sid)
    let list = reservations[sid] ?? []
    return (state == .free || state == .repair) && list.count < Int(config.maxReservations) && !list.contains(signer)
  }

  func reserveSlot(_ id: RequestID, _ index: UInt64, by signer: EthereumAddress) throws(MarketError) {
    try check("reserveSlot")
    guard try canReserveSlot(id, index, by: signer) else { throw .contract(.reservationNotAllowed) }
    let sid = StorageRequest.slotID(requestID: id, slotIndex: index)
    reservations[sid, default: []].append(signer)
    if reservations[sid]!.count == Int(config.maxReservations) {
      emit(.slotReservationsFull(requestID: id, slotIndex: index))
    }
  }

  func fillSlot(_ id: RequestID, _ index: UInt64, _ proof: Groth16Proof, by signer: EthereumAddress) throws(MarketError)
  {
    try check("fillSlot")
    var c = try ctx(id)
    guard index < c.request.ask.slots else { throw .contract(.invalidSlot) }
    let sid = StorageRequest.slotID(requestID: id, slotIndex: index)
    guard (reservations[sid] ?? []).contains(signer) else { throw .contract(.reservationRequired) }
    if slots[sid] == nil { slots[sid] = Slot(requestID: id, slotIndex: index) }
    let state = try slotStateOf(sid)
    guard state == .free || state == .repair else { throw .contract(.slotNotFree) }
    guard proof != .zero else { throw .contract(.invalidProof) }
    let ask = c.request.ask
    let collateral = ask.slotCollateral(state: state, config: config)
    try transfer(signer, marketplaceAddress, collateral)
    proofsReceived.insert(sid + UInt256(period(now)).bigEndianBytes)
    c.slotsFilled += 1
    c.fundsToReturn -= UInt256(c.endsAt - now) * ask.pricePerSlotPerSecond
    slots[sid] = Slot(
      requestID: id, slotIndex: index, state: .filled, host: signer, filledAt: now, collateral: ask.collateralPerSlot)
    emit(.slotFilled(requestID: id, slotIndex: index))
    if c.slotsFilled == ask.slots && c.state == .new {
      c.state = .started
      c.startedAt = now
      requests[id] = c
      emit(.requestFulfilled(requestID: id))
    } else {
      requests[id] = c
    }
  }

  private func forceFree(_ sid: SlotID) {
    guard var s = slots[sid], var c = requests[s.requestID] else { return }
    c.fundsToReturn += UInt256(c.endsAt - s.filledAt) * c.request.ask.pricePerSlotPerSecond
    reservations[sid] = nil
    s.state = .repair
    s.filledAt = 0
    s.collateral = .zero
    s.host = nil
    s.missed = 0
    slots[sid] = s
    c.slotsFilled -= 1
    requests[s.requestID] = c
    emit(.slotFreed(requestID: s.requestID, slotIndex: s.slotIndex))
    if c.state == .started && c.request.ask.slots - c.slotsFilled > c.request.ask.maxSlotLoss {
      c.state = .failed
      c.endsAt = now - 1
      requests[s.requestID] = c
      emit(.requestFailed(requestID: s.requestID))
    }
  }

  func freeSlot(_ sid: SlotID, by signer: EthereumAddress) throws(MarketError) {
    try check("freeSlot")
    guard var s = slots[sid] else { throw .contract(.slotIsFree) }
    let state = try slotStateOf(sid)
    guard state != .free else { throw .contract(.slotIsFree) }
    guard s.host == signer else { throw .contract(.invalidSlotHost) }
    guard state != .paid else { throw .contract(.alreadyPaid) }
    var c = try ctx(s.requestID)
    let price = c.request.ask.pricePerSlotPerSecond
    switch state {
    case .finished:
      try transfer(marketplaceAddress, signer, UInt256(c.endsAt - s.filledAt) * price + s.collateral)
      s.state = .paid
      c.state = .finished
      requests[s.requestID] = c
      slots[sid] = s
    case .cancelled:
      try transfer(marketplaceAddress, signer, UInt256(c.expiresAt - s.filledAt) * price + s.collateral)
      s.state = .paid
      slots[sid] = s
    case .failed:
      s.host = nil
      slots[sid] = s
    case .filled:
      forceFree(sid)
    default:
      throw .contract(.slotIsFree)
    }
  }

  func submitProof(_ sid: SlotID, _ proof: Groth16Proof, by signer: EthereumAddress) throws(MarketError) {
    try check("submitProof")
    guard let s = slots[sid] else { throw .contract(.unknownRequest) }
    guard s.host == signer else { throw .contract(.proofNotSubmittedByHost) }
    let key = sid + UInt256(period(now)).bigEndianBytes
    guard !proofsReceived.contains(key) else { throw .contract(.proofAlreadySubmitted) }
    guard proof != .zero else { throw .contract(.invalidProof) }
    proofsReceived.insert(key)
    emit(.proofSubmitted(slotID: sid))
  }

  private func checkMissing(_ sid: SlotID, _ p: UInt64) throws(MarketError) {
    guard try slotStateOf(sid) == .filled else { throw .contract(.slotNotAcceptingProofs) }
    let end = (p + 1) * config.proofs.period
    guard end < now else { throw .contract(.periodNotEnded) }
    guard now < end + config.proofs.timeout else { throw .contract(.validationTimedOut) }
    let key = sid + UInt256(p).bigEndianBytes
    guard !proofsReceived.contains(key) else { throw .contract(.proofNotMissing) }
    guard proofRequired.contains(sid) else { throw .contract(.proofNotRequired) }
    guard !proofsMarked.contains(key) else { throw .contract(.proofAlreadyMarkedMissing) }
  }

  func canMarkProofAsMissing(_ sid: SlotID, _ p: UInt64) -> Bool { (try? checkMissing(sid, p)) != nil }

  func markProofAsMissing(_ sid: SlotID, _ p: UInt64, by signer: EthereumAddress) throws(MarketError) {
    try check("markProofAsMissing")
    try checkMissing(sid, p)
    proofsMarked.insert(sid + UInt256(p).bigEndianBytes)
    guard var s = slots[sid], let c = requests[s.requestID] else { return }
    s.missed += 1
    let slashed = c.request.ask.collateralPerSlot * UInt256(UInt64(config.collateral.slashPercentage)) / 100
    let reward = slashed * UInt256(UInt64(config.collateral.validatorRewardPercentage)) / 100
    try transfer(marketplaceAddress, signer, reward)
    s.collateral = s.collateral &- slashed
    slots[sid] = s
    if s.missed >= UInt64(config.collateral.maxNumberOfSlashes) { forceFree(sid) }
  }

  func withdrawFunds(_ id: RequestID, by signer: EthereumAddress) throws(MarketError) {
    try check("withdrawFunds")
    var c = try ctx(id)
    guard c.request.client == signer else { throw .contract(.invalidClientAddress) }
    let state = try requestStateOf(id)
    guard state == .cancelled || state == .failed || state == .finished else { throw .contract(.invalidState) }
    guard !c.fundsToReturn.isZero else { throw .contract(.nothingToWithdraw) }
    var amount = c.fundsToReturn
    switch state {
    case .cancelled:
      c.state = .cancelled
      emit(.requestCancelled(requestID: id))
      amount += UInt256(c.slotsFilled) * UInt256(c.endsAt - c.expiresAt) * c.request.ask.pricePerSlotPerSecond
    case .failed:
      amount = c.request.ask.maxPrice
    default:
      c.state = .finished
    }
    try transfer(marketplaceAddress, signer, amount)
    c.fundsToReturn = .zero
    requests[id] = c
  }

  // MARK: views

  func request(_ id: RequestID) -> StorageRequest? { requests[id]?.request }
  func requestEnd(_ id: RequestID) throws(MarketError) -> UInt64 {
    let c = try ctx(id)
    switch try requestStateOf(id) {
    case .new, .started: return c.endsAt
    case .cancelled: return c.expiresAt
    default: return min(c.endsAt, now)
    }
  }
  func requestExpiresAt(_ id: RequestID) throws(MarketError) -> UInt64 { try ctx(id).expiresAt }
  func slot(_ sid: SlotID) -> Slot? { slots[sid] }
  func isProofRequired(_ sid: SlotID) throws(MarketError) -> Bool {
    try slotStateOf(sid) == .filled && proofRequired.contains(sid)
  }
  func willProofBeRequired(_ sid: SlotID) throws(MarketError) -> Bool {
    try slotStateOf(sid) == .filled && proofWillBeRequired.contains(sid)
  }
  func challenge(_ sid: SlotID) -> [UInt8] { challenges[sid] ?? Keccak256.hash(sid) }
  func requests(of client: EthereumAddress) -> [RequestID] {
    requests.filter { $0.value.request.client == client && $0.value.state != .finished }.map(\.key).sorted {
      $0.lexicographicallyPrecedes($1)
    }
  }
  func slots(of host: EthereumAddress) -> [SlotID] {
    slots.filter { $0.value.host == host && $0.value.state != .paid }.map(\.key).sorted {
      $0.lexicographicallyPrecedes($1)
    }
  }
}

/// TEST DOUBLE — `Market` for one signer over a shared `MockChain`. See `MockChain`.
public struct MockMarket: Market {
  public let chain: MockChain
  public let account: EthereumAddress

  public init(chain: MockChain, account: EthereumAddress) {
    self.chain = chain
    self.account = account
  }

  public func signer() async throws(MarketError) -> EthereumAddress { account }
  public func configuration() async throws(MarketError) -> MarketplaceConfig { chain.config }
  public func token() async throws(MarketError) -> EthereumAddress { chain.tokenAddress }
  public func currentTime() async throws(MarketError) -> UInt64 { await chain.now }
  public func tokenBalance(of account: EthereumAddress) async throws(MarketError) -> UInt256 {
    await chain.balance(of: account)
  }
  public func requestStorage(_ request: StorageRequest) async throws(MarketError) {
    try await chain.requestStorage(request, by: account)
  }
  public func canReserveSlot(_ requestID: RequestID, slotIndex: UInt64) async throws(MarketError) -> Bool {
    try await chain.canReserveSlot(requestID, slotIndex, by: account)
  }
  public func reserveSlot(_ requestID: RequestID, slotIndex: UInt64) async throws(MarketError) {
    try await chain.reserveSlot(requestID, slotIndex, by: account)
  }
  public func fillSlot(_ requestID: RequestID, slotIndex: UInt64, proof: Groth16Proof, collateral: UInt256)
    async throws(MarketError)
  {
    try await chain.fillSlot(requestID, slotIndex, proof, by: account)
  }
  public func freeSlot(_ slotID: SlotID) async throws(MarketError) { try await chain.freeSlot(slotID, by: account) }
  public func submitProof(_ slotID: SlotID, proof: Groth16Proof) async throws(MarketError) {
    try await chain.submitProof(slotID, proof, by: account)
  }
  public func markProofAsMissing(_ slotID: SlotID, period: UInt64) async throws(MarketError) {
    try await chain.markProofAsMissing(slotID, period, by: account)
  }
  public func canMarkProofAsMissing(_ slotID: SlotID, period: UInt64) async throws(MarketError) -> Bool {
    await chain.canMarkProofAsMissing(slotID, period)
  }
  public func withdrawFunds(_ requestID: RequestID) async throws(MarketError) {
    try await chain.withdrawFunds(requestID, by: account)
  }
  public func getRequest(_ requestID: RequestID) async throws(MarketError) -> StorageRequest? {
    await chain.request(requestID)
  }
  public func requestState(_ requestID: RequestID) async throws(MarketError) -> RequestState? {
    guard await chain.request(requestID) != nil else { return nil }
    return try await chain.requestStateOf(requestID)
  }
  public func slotState(_ slotID: SlotID) async throws(MarketError) -> SlotState { try await chain.slotStateOf(slotID) }
  public func getHost(_ slotID: SlotID) async throws(MarketError) -> EthereumAddress? { await chain.slot(slotID)?.host }
  public func getActiveSlot(_ slotID: SlotID) async throws(MarketError) -> ActiveSlot? {
    guard try await chain.slotStateOf(slotID) != .free, let s = await chain.slot(slotID),
      let r = await chain.request(s.requestID)
    else { return nil }
    return ActiveSlot(request: r, slotIndex: s.slotIndex)
  }
  public func currentCollateral(_ slotID: SlotID) async throws(MarketError) -> UInt256 {
    await chain.slot(slotID)?.collateral ?? .zero
  }
  public func requestEnd(_ requestID: RequestID) async throws(MarketError) -> UInt64 {
    try await chain.requestEnd(requestID)
  }
  public func requestExpiresAt(_ requestID: RequestID) async throws(MarketError) -> UInt64 {
    try await chain.requestExpiresAt(requestID)
  }
  public func isProofRequired(_ slotID: SlotID) async throws(MarketError) -> Bool {
    try await chain.isProofRequired(slotID)
  }
  public func willProofBeRequired(_ slotID: SlotID) async throws(MarketError) -> Bool {
    try await chain.willProofBeRequired(slotID)
  }
  public func getChallenge(_ slotID: SlotID) async throws(MarketError) -> [UInt8] { await chain.challenge(slotID) }
  public func getPointer(_ slotID: SlotID) async throws(MarketError) -> UInt8 { 255 }
  public func myRequests() async throws(MarketError) -> [RequestID] { await chain.requests(of: account) }
  public func mySlots() async throws(MarketError) -> [SlotID] { await chain.slots(of: account) }

  /// Live events; `fromBlock` is an index into the chain's event history to replay first (nil: live only).
  public func events(fromBlock: UInt64?) -> AsyncThrowingStream<MarketEvent, any Error> {
    let chain = self.chain
    return AsyncThrowingStream { continuation in
      let registration = Task {
        let id = await chain.subscribe(continuation, replayFrom: fromBlock.map { Int(clamping: $0) })
        return id
      }
      continuation.onTermination = { _ in
        Task { await chain.unsubscribe(await registration.value) }
      }
    }
  }
}
