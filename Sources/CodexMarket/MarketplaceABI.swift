/// Function and event definitions of the Marketplace contract (and the ERC-20 calls it needs), matching the
/// upstream Solidity ABI (spec `marketplace.md` §1.9).
public enum MarketplaceABI {
  public static let request = StorageRequest.abiType
  public static let proof = Groth16Proof.abiType

  /// A function: name, argument types, return types.
  public struct Function: Sendable, Hashable {
    public let name: String
    public let inputs: [ABIType]
    public let outputs: [ABIType]
    public init(_ name: String, _ inputs: [ABIType], _ outputs: [ABIType] = []) {
      self.name = name
      self.inputs = inputs
      self.outputs = outputs
    }
    public var signature: String { ABI.signature(name, inputs) }
    public var selector: [UInt8] { ABI.selector(signature) }
    /// Call data for `args`.
    public func encode(_ args: [ABIValue]) throws(ABIError) -> [UInt8] {
      selector + (try ABI.encode(args, as: inputs))
    }
    /// Decodes return data.
    public func decodeOutput(_ data: [UInt8]) throws(ABIError) -> [ABIValue] { try ABI.decode(outputs, from: data) }
  }

  public static let configuration = Function("configuration", [], [MarketplaceConfig.abiType])
  public static let token = Function("token", [], [.address])
  public static let currentCollateral = Function("currentCollateral", [.fixedBytes(32)], [.uint(256)])
  public static let requestStorage = Function("requestStorage", [request])
  public static let reserveSlot = Function("reserveSlot", [.fixedBytes(32), .uint(64)])
  public static let canReserveSlot = Function("canReserveSlot", [.fixedBytes(32), .uint(64)], [.bool])
  public static let fillSlot = Function("fillSlot", [.fixedBytes(32), .uint(64), proof])
  public static let freeSlot = Function("freeSlot", [.fixedBytes(32)])
  public static let freeSlotWithRecipients = Function("freeSlot", [.fixedBytes(32), .address, .address])
  public static let submitProof = Function("submitProof", [.fixedBytes(32), proof])
  public static let canMarkProofAsMissing = Function("canMarkProofAsMissing", [.fixedBytes(32), .uint(64)])
  public static let markProofAsMissing = Function("markProofAsMissing", [.fixedBytes(32), .uint(64)])
  public static let withdrawFunds = Function("withdrawFunds", [.fixedBytes(32)])
  public static let withdrawFundsTo = Function("withdrawFunds", [.fixedBytes(32), .address])
  public static let getActiveSlot = Function(
    "getActiveSlot", [.fixedBytes(32)], [.tuple([request, .uint(64)])])
  public static let getRequest = Function("getRequest", [.fixedBytes(32)], [request])
  public static let requestEnd = Function("requestEnd", [.fixedBytes(32)], [.uint(64)])
  public static let requestExpiry = Function("requestExpiry", [.fixedBytes(32)], [.uint(64)])
  public static let getHost = Function("getHost", [.fixedBytes(32)], [.address])
  public static let requestState = Function("requestState", [.fixedBytes(32)], [.uint(8)])
  public static let slotState = Function("slotState", [.fixedBytes(32)], [.uint(8)])
  public static let slotProbability = Function("slotProbability", [.fixedBytes(32)], [.uint(256)])
  public static let missingProofs = Function("missingProofs", [.fixedBytes(32)], [.uint(256)])
  public static let getPointer = Function("getPointer", [.fixedBytes(32)], [.uint(8)])
  public static let getChallenge = Function("getChallenge", [.fixedBytes(32)], [.fixedBytes(32)])
  public static let isProofRequired = Function("isProofRequired", [.fixedBytes(32)], [.bool])
  public static let willProofBeRequired = Function("willProofBeRequired", [.fixedBytes(32)], [.bool])
  public static let myRequests = Function("myRequests", [], [.array(.fixedBytes(32))])
  public static let mySlots = Function("mySlots", [], [.array(.fixedBytes(32))])

  // ERC-20
  public static let approve = Function("approve", [.address, .uint(256)], [.bool])
  public static let allowance = Function("allowance", [.address, .address], [.uint(256)])
  public static let balanceOf = Function("balanceOf", [.address], [.uint(256)])
  public static let transfer = Function("transfer", [.address, .uint(256)], [.bool])
  public static let transferFrom = Function("transferFrom", [.address, .address, .uint(256)], [.bool])

  // Events
  public static let storageRequested = ABIEvent(
    "StorageRequested", [.init(.fixedBytes(32)), .init(Ask.abiType), .init(.uint(64))])
  public static let requestFulfilled = ABIEvent("RequestFulfilled", [.init(.fixedBytes(32), indexed: true)])
  public static let requestFailed = ABIEvent("RequestFailed", [.init(.fixedBytes(32), indexed: true)])
  public static let requestCancelled = ABIEvent("RequestCancelled", [.init(.fixedBytes(32), indexed: true)])
  public static let slotFilled = ABIEvent("SlotFilled", [.init(.fixedBytes(32), indexed: true), .init(.uint(64))])
  public static let slotFreed = ABIEvent("SlotFreed", [.init(.fixedBytes(32), indexed: true), .init(.uint(64))])
  public static let slotReservationsFull = ABIEvent(
    "SlotReservationsFull", [.init(.fixedBytes(32), indexed: true), .init(.uint(64))])
  public static let proofSubmitted = ABIEvent("ProofSubmitted", [.init(.fixedBytes(32))])

  /// The eight Marketplace events, in a fixed order.
  public static let events: [ABIEvent] = [
    storageRequested, requestFulfilled, requestFailed, requestCancelled, slotFilled, slotFreed,
    slotReservationsFull, proofSubmitted,
  ]
}

/// A decoded Marketplace event.
public enum MarketEvent: Hashable, Sendable {
  /// `expiresAt` is the absolute expiry time (block timestamp).
  case storageRequested(requestID: RequestID, ask: Ask, expiresAt: UInt64)
  case requestFulfilled(requestID: RequestID)
  case requestFailed(requestID: RequestID)
  case requestCancelled(requestID: RequestID)
  case slotFilled(requestID: RequestID, slotIndex: UInt64)
  case slotFreed(requestID: RequestID, slotIndex: UInt64)
  case slotReservationsFull(requestID: RequestID, slotIndex: UInt64)
  case proofSubmitted(slotID: SlotID)

  /// Decodes a log; nil when topic 0 is not a Marketplace event. Throws on malformed data for a known event.
  public static func decode(topics: [[UInt8]], data: [UInt8]) throws(ABIError) -> MarketEvent? {
    guard let t0 = topics.first else { return nil }
    typealias M = MarketplaceABI
    func b(_ v: ABIValue) throws(ABIError) -> [UInt8] {
      guard let x = v.bytesValue else { throw .typeMismatch(expected: "bytes32", got: "\(v)") }
      return x
    }
    switch t0 {
    case M.storageRequested.topic0:
      let v = try M.storageRequested.decode(topics: topics, data: data)
      return .storageRequested(requestID: try b(v[0]), ask: try Ask(abi: v[1]), expiresAt: try MarketABI.u64(v[2]))
    case M.requestFulfilled.topic0:
      return .requestFulfilled(requestID: try b(M.requestFulfilled.decode(topics: topics, data: data)[0]))
    case M.requestFailed.topic0:
      return .requestFailed(requestID: try b(M.requestFailed.decode(topics: topics, data: data)[0]))
    case M.requestCancelled.topic0:
      return .requestCancelled(requestID: try b(M.requestCancelled.decode(topics: topics, data: data)[0]))
    case M.slotFilled.topic0:
      let v = try M.slotFilled.decode(topics: topics, data: data)
      return .slotFilled(requestID: try b(v[0]), slotIndex: try MarketABI.u64(v[1]))
    case M.slotFreed.topic0:
      let v = try M.slotFreed.decode(topics: topics, data: data)
      return .slotFreed(requestID: try b(v[0]), slotIndex: try MarketABI.u64(v[1]))
    case M.slotReservationsFull.topic0:
      let v = try M.slotReservationsFull.decode(topics: topics, data: data)
      return .slotReservationsFull(requestID: try b(v[0]), slotIndex: try MarketABI.u64(v[1]))
    case M.proofSubmitted.topic0:
      return .proofSubmitted(slotID: try b(M.proofSubmitted.decode(topics: topics, data: data)[0]))
    default:
      return nil
    }
  }
}
