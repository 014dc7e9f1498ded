/// The storage marketplace as the node sees it (nim-codex `Market`): contract calls, views and events.
///
/// Two implementations: `OnChainMarket` (JSON-RPC against the deployed contract, signing locally) and
/// `MockMarket` (an in-process test double). Errors: contract reverts surface as `MarketError.contract`
/// with the named custom error; transport and chain problems as `MarketError.ethereum`.
public protocol Market: Sendable {
  /// The account that signs this market's transactions.
  func signer() async throws(MarketError) -> EthereumAddress
  /// The contract's configuration (cached after the first call).
  func configuration() async throws(MarketError) -> MarketplaceConfig
  /// The ERC-20 token the marketplace pays in.
  func token() async throws(MarketError) -> EthereumAddress
  /// Chain time (block timestamps), seconds since the epoch.
  func currentTime() async throws(MarketError) -> UInt64
  /// ERC-20 balance of `account`.
  func tokenBalance(of account: EthereumAddress) async throws(MarketError) -> UInt256

  /// Approves `maxPrice` and submits the request (its `client` must be the signer).
  func requestStorage(_ request: StorageRequest) async throws(MarketError)
  func canReserveSlot(_ requestID: RequestID, slotIndex: UInt64) async throws(MarketError) -> Bool
  func reserveSlot(_ requestID: RequestID, slotIndex: UInt64) async throws(MarketError)
  /// Approves `collateral` and fills the slot with `proof`.
  func fillSlot(_ requestID: RequestID, slotIndex: UInt64, proof: Groth16Proof, collateral: UInt256)
    async throws(MarketError)
  /// Frees (or collects the payout of) a slot; pays the signer.
  func freeSlot(_ slotID: SlotID) async throws(MarketError)
  func submitProof(_ slotID: SlotID, proof: Groth16Proof) async throws(MarketError)
  func markProofAsMissing(_ slotID: SlotID, period: UInt64) async throws(MarketError)
  /// False when the contract's check reverts (as nim-codex does).
  func canMarkProofAsMissing(_ slotID: SlotID, period: UInt64) async throws(MarketError) -> Bool
  func withdrawFunds(_ requestID: RequestID) async throws(MarketError)

  /// Nil for an unknown request.
  func getRequest(_ requestID: RequestID) async throws(MarketError) -> StorageRequest?
  /// Nil for an unknown request.
  func requestState(_ requestID: RequestID) async throws(MarketError) -> RequestState?
  func slotState(_ slotID: SlotID) async throws(MarketError) -> SlotState
  /// Nil when the slot has no host.
  func getHost(_ slotID: SlotID) async throws(MarketError) -> EthereumAddress?
  /// Nil when the slot is free.
  func getActiveSlot(_ slotID: SlotID) async throws(MarketError) -> ActiveSlot?
  func currentCollateral(_ slotID: SlotID) async throws(MarketError) -> UInt256
  func requestEnd(_ requestID: RequestID) async throws(MarketError) -> UInt64
  func requestExpiresAt(_ requestID: RequestID) async throws(MarketError) -> UInt64
  func isProofRequired(_ slotID: SlotID) async throws(MarketError) -> Bool
  func willProofBeRequired(_ slotID: SlotID) async throws(MarketError) -> Bool
  func getChallenge(_ slotID: SlotID) async throws(MarketError) -> [UInt8]
  func getPointer(_ slotID: SlotID) async throws(MarketError) -> UInt8
  func myRequests() async throws(MarketError) -> [RequestID]
  func mySlots() async throws(MarketError) -> [SlotID]

  /// Events from `fromBlock` on (block numbers are opaque cursors for the mock), delivered in order until the
  /// stream is cancelled.
  func events(fromBlock: UInt64?) -> AsyncThrowingStream<MarketEvent, any Error>
}

/// A market operation failed.
public enum MarketError: Error, Hashable, Sendable, CustomStringConvertible {
  /// The contract reverted with a known custom error.
  case contract(MarketplaceError)
  /// The contract reverted for another reason.
  case reverted(ContractRevert)
  /// Transport, chain id, nonce or encoding trouble.
  case ethereum(EthereumError)
  /// A value returned by the contract could not be decoded.
  case decoding(String)

  public var description: String {
    switch self {
    case .contract(let e): return "marketplace error \(e.rawValue)"
    case .reverted(let r): return "\(r)"
    case .ethereum(let e): return "\(e)"
    case .decoding(let s): return "cannot decode contract response: \(s)"
    }
  }

  init(_ e: EthereumError) {
    if case .reverted(let r, _) = e {
      if case .custom(let c) = r { self = .contract(c) } else { self = .reverted(r) }
    } else {
      self = .ethereum(e)
    }
  }
}

extension Ask {
  /// Collateral a host must deposit to fill a slot in `state` (Repair gets the repair reward discount).
  public func slotCollateral(state: SlotState, config: MarketplaceConfig) -> UInt256 {
    let full = collateralPerSlot
    guard state == .repair else { return full }
    return full - full * UInt256(UInt64(config.collateral.repairRewardPercentage)) / 100
  }
}
