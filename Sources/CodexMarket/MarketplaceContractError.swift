/// A revert reason decoded from revert data: a custom error of the Marketplace ABI, a Solidity `Error(string)`,
/// a `Panic(uint256)`, or unknown bytes.
public enum ContractRevert: Error, Hashable, Sendable, CustomStringConvertible {
  /// A custom error with no arguments, e.g. `Marketplace_SlotNotFree`.
  case custom(MarketplaceError)
  /// `Error(string)`: `require(cond, "message")` / Vyper `assert cond, "message"`.
  case message(String)
  /// `Panic(uint256)`.
  case panic(UInt256)
  /// A revert without data (e.g. a bare `assert` or out of gas).
  case empty
  /// Data that matches no known error.
  case unknown([UInt8])

  /// Decodes revert data (never throws; unknown shapes become `.unknown`).
  public static func decode(_ data: [UInt8]) -> ContractRevert {
    guard data.count >= 4 else { return data.isEmpty ? .empty : .unknown(data) }
    let sel = Array(data[0..<4])
    if let e = MarketplaceError.bySelector[sel] { return .custom(e) }
    if sel == [0x08, 0xc3, 0x79, 0xa0], let v = try? ABI.decode([.string], from: Array(data[4...])),
      let s = v[0].stringValue
    {
      return .message(s)
    }
    if sel == [0x4e, 0x48, 0x7b, 0x71], let v = try? ABI.decode([.uint(256)], from: Array(data[4...])),
      let c = v[0].uintValue
    {
      return .panic(c)
    }
    return .unknown(data)
  }

  public var description: String {
    switch self {
    case .custom(let e): return "reverted: \(e.rawValue)"
    case .message(let m): return "reverted: \(m)"
    case .panic(let c): return "reverted: panic \(c)"
    case .empty: return "reverted without data"
    case .unknown(let d): return "reverted with unknown data \(Hex.encode(d))"
    }
  }
}

/// The custom errors of Marketplace and its bases (selector = first 4 bytes of `keccak256("Name()")`).
public enum MarketplaceError: String, CaseIterable, Hashable, Sendable {
  case repairRewardPercentageTooHigh = "Marketplace_RepairRewardPercentageTooHigh"
  case slashPercentageTooHigh = "Marketplace_SlashPercentageTooHigh"
  case maximumSlashingTooHigh = "Marketplace_MaximumSlashingTooHigh"
  case invalidExpiry = "Marketplace_InvalidExpiry"
  case invalidMaxSlotLoss = "Marketplace_InvalidMaxSlotLoss"
  case insufficientSlots = "Marketplace_InsufficientSlots"
  case insufficientDuration = "Marketplace_InsufficientDuration"
  case insufficientProofProbability = "Marketplace_InsufficientProofProbability"
  case insufficientCollateral = "Marketplace_InsufficientCollateral"
  case insufficientReward = "Marketplace_InsufficientReward"
  case invalidClientAddress = "Marketplace_InvalidClientAddress"
  case requestAlreadyExists = "Marketplace_RequestAlreadyExists"
  case invalidSlot = "Marketplace_InvalidSlot"
  case invalidCid = "Marketplace_InvalidCid"
  case slotNotFree = "Marketplace_SlotNotFree"
  case invalidSlotHost = "Marketplace_InvalidSlotHost"
  case alreadyPaid = "Marketplace_AlreadyPaid"
  case transferFailed = "Marketplace_TransferFailed"
  case unknownRequest = "Marketplace_UnknownRequest"
  case invalidState = "Marketplace_InvalidState"
  case startNotBeforeExpiry = "Marketplace_StartNotBeforeExpiry"
  case slotNotAcceptingProofs = "Marketplace_SlotNotAcceptingProofs"
  case proofNotSubmittedByHost = "Marketplace_ProofNotSubmittedByHost"
  case slotIsFree = "Marketplace_SlotIsFree"
  case reservationRequired = "Marketplace_ReservationRequired"
  case nothingToWithdraw = "Marketplace_NothingToWithdraw"
  case durationExceedsLimit = "Marketplace_DurationExceedsLimit"
  case insufficientBlockHeight = "Proofs_InsufficientBlockHeight"
  case invalidProof = "Proofs_InvalidProof"
  case proofAlreadySubmitted = "Proofs_ProofAlreadySubmitted"
  case periodNotEnded = "Proofs_PeriodNotEnded"
  case validationTimedOut = "Proofs_ValidationTimedOut"
  case proofNotMissing = "Proofs_ProofNotMissing"
  case proofNotRequired = "Proofs_ProofNotRequired"
  case proofAlreadyMarkedMissing = "Proofs_ProofAlreadyMarkedMissing"
  case invalidSecondsPerPeriod = "Periods_InvalidSecondsPerPeriod"
  case reservationNotAllowed = "SlotReservations_ReservationNotAllowed"

  /// `Name()`.
  public var signature: String { rawValue + "()" }
  /// The 4-byte selector.
  public var selector: [UInt8] { ABI.selector(signature) }

  static let bySelector: [[UInt8]: MarketplaceError] = Dictionary(
    uniqueKeysWithValues: allCases.map { ($0.selector, $0) })
}
