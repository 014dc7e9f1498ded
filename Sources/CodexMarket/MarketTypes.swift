/// A 32-byte request id: `keccak256(abi.encode(request))`.
public typealias RequestID = [UInt8]
/// A 32-byte slot id: `keccak256(abi.encode(requestId, uint64 slotIndex))`.
public typealias SlotID = [UInt8]

/// `Ask` of `Requests.sol`: what the client pays and requires.
public struct Ask: Hashable, Sendable {
  public var proofProbability: UInt256
  public var pricePerBytePerSecond: UInt256
  public var collateralPerByte: UInt256
  public var slots: UInt64
  public var slotSize: UInt64
  public var duration: UInt64
  public var maxSlotLoss: UInt64

  public init(
    proofProbability: UInt256, pricePerBytePerSecond: UInt256, collateralPerByte: UInt256, slots: UInt64,
    slotSize: UInt64, duration: UInt64, maxSlotLoss: UInt64
  ) {
    self.proofProbability = proofProbability
    self.pricePerBytePerSecond = pricePerBytePerSecond
    self.collateralPerByte = collateralPerByte
    self.slots = slots
    self.slotSize = slotSize
    self.duration = duration
    self.maxSlotLoss = maxSlotLoss
  }

  /// `collateralPerByte × slotSize`.
  public var collateralPerSlot: UInt256 { collateralPerByte * UInt256(slotSize) }
  /// `pricePerBytePerSecond × slotSize`.
  public var pricePerSlotPerSecond: UInt256 { pricePerBytePerSecond * UInt256(slotSize) }
  /// `slots × duration × pricePerSlotPerSecond`: the client's deposit.
  public var maxPrice: UInt256 { UInt256(slots) * UInt256(duration) * pricePerSlotPerSecond }

  public static let abiType = ABIType.tuple([
    .uint(256), .uint(256), .uint(256), .uint(64), .uint(64), .uint(64), .uint(64),
  ])

  public var abiValue: ABIValue {
    .tuple([
      .uint(proofProbability), .uint(pricePerBytePerSecond), .uint(collateralPerByte), .uint64(slots),
      .uint64(slotSize), .uint64(duration), .uint64(maxSlotLoss),
    ])
  }

  public init(abi v: ABIValue) throws(ABIError) {
    let f = try MarketABI.fields(v, 7, "Ask")
    self.init(
      proofProbability: try MarketABI.u256(f[0]), pricePerBytePerSecond: try MarketABI.u256(f[1]),
      collateralPerByte: try MarketABI.u256(f[2]), slots: try MarketABI.u64(f[3]), slotSize: try MarketABI.u64(f[4]),
      duration: try MarketABI.u64(f[5]), maxSlotLoss: try MarketABI.u64(f[6]))
  }
}

/// `Content` of `Requests.sol`: the verifiable manifest CID and the 32-byte (little-endian) verify root.
public struct Content: Hashable, Sendable {
  public var cid: [UInt8]
  public var merkleRoot: [UInt8]

  public init(cid: [UInt8], merkleRoot: [UInt8]) {
    self.cid = cid
    self.merkleRoot = merkleRoot
  }

  public static let abiType = ABIType.tuple([.bytes, .fixedBytes(32)])
  public var abiValue: ABIValue { .tuple([.bytes(cid), .fixedBytes(merkleRoot)]) }

  public init(abi v: ABIValue) throws(ABIError) {
    let f = try MarketABI.fields(v, 2, "Content")
    guard let cid = f[0].bytesValue, let root = f[1].bytesValue else {
      throw .typeMismatch(expected: "Content", got: "\(v)")
    }
    self.init(cid: cid, merkleRoot: root)
  }
}

/// `Request` of `Requests.sol` (named `StorageRequest` as in nim-codex). `expiry` is a duration in seconds.
public struct StorageRequest: Hashable, Sendable {
  public var client: EthereumAddress
  public var ask: Ask
  public var content: Content
  public var expiry: UInt64
  public var nonce: [UInt8]

  public init(client: EthereumAddress, ask: Ask, content: Content, expiry: UInt64, nonce: [UInt8]) {
    self.client = client
    self.ask = ask
    self.content = content
    self.expiry = expiry
    self.nonce = nonce
  }

  public static let abiType = ABIType.tuple([.address, Ask.abiType, Content.abiType, .uint(64), .fixedBytes(32)])

  public var abiValue: ABIValue {
    .tuple([.address(client), ask.abiValue, content.abiValue, .uint64(expiry), .fixedBytes(nonce)])
  }

  public init(abi v: ABIValue) throws(ABIError) {
    let f = try MarketABI.fields(v, 5, "Request")
    guard let client = f[0].addressValue, let nonce = f[4].bytesValue else {
      throw .typeMismatch(expected: "Request", got: "\(v)")
    }
    self.init(
      client: client, ask: try Ask(abi: f[1]), content: try Content(abi: f[2]), expiry: try MarketABI.u64(f[3]),
      nonce: nonce)
  }

  /// `keccak256(abi.encode(request))`. Throws only if a field has an invalid size (e.g. a nonce that is not
  /// 32 bytes).
  public func id() throws(ABIError) -> RequestID {
    Keccak256.hash(try ABI.encode([abiValue], as: [Self.abiType]))
  }

  /// The id of slot `index` of the request with id `requestID`.
  public static func slotID(requestID: RequestID, slotIndex: UInt64) -> SlotID {
    Keccak256.hash(requestID + UInt256(slotIndex).bigEndianBytes)
  }
}

/// `CollateralConfig`.
public struct CollateralConfig: Hashable, Sendable {
  public var repairRewardPercentage: UInt8
  public var maxNumberOfSlashes: UInt8
  public var slashPercentage: UInt8
  public var validatorRewardPercentage: UInt8

  public init(
    repairRewardPercentage: UInt8, maxNumberOfSlashes: UInt8, slashPercentage: UInt8, validatorRewardPercentage: UInt8
  ) {
    self.repairRewardPercentage = repairRewardPercentage
    self.maxNumberOfSlashes = maxNumberOfSlashes
    self.slashPercentage = slashPercentage
    self.validatorRewardPercentage = validatorRewardPercentage
  }
}

/// `ProofConfig`.
public struct ProofConfig: Hashable, Sendable {
  public var period: UInt64
  public var timeout: UInt64
  public var downtime: UInt8
  public var downtimeProduct: UInt8
  public var zkeyHash: String

  public init(period: UInt64, timeout: UInt64, downtime: UInt8, downtimeProduct: UInt8, zkeyHash: String) {
    self.period = period
    self.timeout = timeout
    self.downtime = downtime
    self.downtimeProduct = downtimeProduct
    self.zkeyHash = zkeyHash
  }
}

/// `MarketplaceConfig` as returned by `configuration()`.
public struct MarketplaceConfig: Hashable, Sendable {
  public var collateral: CollateralConfig
  public var proofs: ProofConfig
  public var maxReservations: UInt8
  public var requestDurationLimit: UInt64

  public init(collateral: CollateralConfig, proofs: ProofConfig, maxReservations: UInt8, requestDurationLimit: UInt64) {
    self.collateral = collateral
    self.proofs = proofs
    self.maxReservations = maxReservations
    self.requestDurationLimit = requestDurationLimit
  }

  /// The hardhat/local defaults of the spec (§1.2).
  public static let localDefaults = MarketplaceConfig(
    collateral: CollateralConfig(
      repairRewardPercentage: 10, maxNumberOfSlashes: 2, slashPercentage: 20, validatorRewardPercentage: 20),
    proofs: ProofConfig(period: 90, timeout: 30, downtime: 96, downtimeProduct: 97, zkeyHash: ""),
    maxReservations: 3, requestDurationLimit: 2_592_000)

  public static let abiType = ABIType.tuple([
    .tuple([.uint(8), .uint(8), .uint(8), .uint(8)]),
    .tuple([.uint(64), .uint(64), .uint(8), .uint(8), .string]),
    .tuple([.uint(8)]),
    .uint(64),
  ])

  public var abiValue: ABIValue {
    .tuple([
      .tuple([
        .uint64(UInt64(collateral.repairRewardPercentage)), .uint64(UInt64(collateral.maxNumberOfSlashes)),
        .uint64(UInt64(collateral.slashPercentage)), .uint64(UInt64(collateral.validatorRewardPercentage)),
      ]),
      .tuple([
        .uint64(proofs.period), .uint64(proofs.timeout), .uint64(UInt64(proofs.downtime)),
        .uint64(UInt64(proofs.downtimeProduct)), .string(proofs.zkeyHash),
      ]),
      .tuple([.uint64(UInt64(maxReservations))]),
      .uint64(requestDurationLimit),
    ])
  }

  public init(abi v: ABIValue) throws(ABIError) {
    let f = try MarketABI.fields(v, 4, "MarketplaceConfig")
    let c = try MarketABI.fields(f[0], 4, "CollateralConfig")
    let p = try MarketABI.fields(f[1], 5, "ProofConfig")
    let r = try MarketABI.fields(f[2], 1, "SlotReservationsConfig")
    guard let zkey = p[4].stringValue else { throw .typeMismatch(expected: "string", got: "\(p[4])") }
    self.init(
      collateral: CollateralConfig(
        repairRewardPercentage: try MarketABI.u8(c[0]), maxNumberOfSlashes: try MarketABI.u8(c[1]),
        slashPercentage: try MarketABI.u8(c[2]), validatorRewardPercentage: try MarketABI.u8(c[3])),
      proofs: ProofConfig(
        period: try MarketABI.u64(p[0]), timeout: try MarketABI.u64(p[1]), downtime: try MarketABI.u8(p[2]),
        downtimeProduct: try MarketABI.u8(p[3]), zkeyHash: zkey),
      maxReservations: try MarketABI.u8(r[0]), requestDurationLimit: try MarketABI.u64(f[3]))
  }
}

/// A point on BN254 G1.
public struct G1Point: Hashable, Sendable {
  public var x: UInt256, y: UInt256
  public init(x: UInt256, y: UInt256) {
    self.x = x
    self.y = y
  }
}
/// An element of Fp2.
public struct Fp2Element: Hashable, Sendable {
  public var real: UInt256, imag: UInt256
  public init(real: UInt256, imag: UInt256) {
    self.real = real
    self.imag = imag
  }
}
/// A point on BN254 G2.
public struct G2Point: Hashable, Sendable {
  public var x: Fp2Element, y: Fp2Element
  public init(x: Fp2Element, y: Fp2Element) {
    self.x = x
    self.y = y
  }
}

/// `Groth16Proof { a, b, c }`. The all-zero proof is rejected by the test verifier.
public struct Groth16Proof: Hashable, Sendable {
  public var a: G1Point, b: G2Point, c: G1Point
  public init(a: G1Point, b: G2Point, c: G1Point) {
    self.a = a
    self.b = b
    self.c = c
  }

  public static let zero = Groth16Proof(
    a: G1Point(x: 0, y: 0), b: G2Point(x: Fp2Element(real: 0, imag: 0), y: Fp2Element(real: 0, imag: 0)),
    c: G1Point(x: 0, y: 0))

  /// A non-zero proof accepted by the `TestVerifier` (any proof except the all-zero one).
  public static let dummy = Groth16Proof(
    a: G1Point(x: 1, y: 2), b: G2Point(x: Fp2Element(real: 1, imag: 2), y: Fp2Element(real: 3, imag: 4)),
    c: G1Point(x: 1, y: 2))

  public static let abiType = ABIType.tuple([
    .tuple([.uint(256), .uint(256)]),
    .tuple([.tuple([.uint(256), .uint(256)]), .tuple([.uint(256), .uint(256)])]),
    .tuple([.uint(256), .uint(256)]),
  ])

  public var abiValue: ABIValue {
    .tuple([
      .tuple([.uint(a.x), .uint(a.y)]),
      .tuple([.tuple([.uint(b.x.real), .uint(b.x.imag)]), .tuple([.uint(b.y.real), .uint(b.y.imag)])]),
      .tuple([.uint(c.x), .uint(c.y)]),
    ])
  }
}

/// `RequestState` (0…4).
public enum RequestState: UInt8, Hashable, Sendable, CaseIterable {
  case new = 0, started, cancelled, finished, failed
}

/// `SlotState` (0…6).
public enum SlotState: UInt8, Hashable, Sendable, CaseIterable {
  case free = 0, filled, finished, failed, paid, cancelled, repair
}

/// `getActiveSlot` result.
public struct ActiveSlot: Hashable, Sendable {
  public var request: StorageRequest
  public var slotIndex: UInt64
  public init(request: StorageRequest, slotIndex: UInt64) {
    self.request = request
    self.slotIndex = slotIndex
  }
}

/// Helpers to pick ABI values apart with typed errors.
enum MarketABI {
  static func fields(_ v: ABIValue, _ n: Int, _ name: String) throws(ABIError) -> [ABIValue] {
    guard case .tuple(let f) = v, f.count == n else { throw .typeMismatch(expected: name, got: "\(v)") }
    return f
  }
  static func u256(_ v: ABIValue) throws(ABIError) -> UInt256 {
    guard let x = v.uintValue else { throw .typeMismatch(expected: "uint", got: "\(v)") }
    return x
  }
  static func u64(_ v: ABIValue) throws(ABIError) -> UInt64 {
    guard let x = try u256(v).uint64Value else { throw .valueOutOfRange("uint64") }
    return x
  }
  static func u8(_ v: ABIValue) throws(ABIError) -> UInt8 {
    let x = try u64(v)
    guard x <= 255 else { throw .valueOutOfRange("uint8") }
    return UInt8(x)
  }
}
