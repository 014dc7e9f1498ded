/// A block selector for JSON-RPC calls.
public enum BlockTag: Hashable, Sendable {
  case latest, pending, earliest
  case number(UInt64)

  var json: JSONValue {
    switch self {
    case .latest: return .string("latest")
    case .pending: return .string("pending")
    case .earliest: return .string("earliest")
    case .number(let n): return .quantity(n)
    }
  }
}

/// A mined transaction's receipt (the fields the node uses).
public struct TransactionReceipt: Hashable, Sendable {
  public var transactionHash: [UInt8]
  public var blockNumber: UInt64
  public var status: Bool
  public var gasUsed: UInt64
  public var effectiveGasPrice: UInt256
  public var logs: [EthereumLog]
  /// The created contract, for a deployment.
  public var contractAddress: EthereumAddress?
}

/// An event log.
public struct EthereumLog: Hashable, Sendable {
  public var address: EthereumAddress
  public var topics: [[UInt8]]
  public var data: [UInt8]
  public var blockNumber: UInt64
  public var transactionHash: [UInt8]
  public var logIndex: UInt64
}

/// The block header fields the node uses.
public struct BlockHeader: Hashable, Sendable {
  public var number: UInt64
  public var timestamp: UInt64
  public var hash: [UInt8]
  public var baseFeePerGas: UInt256?
}

/// A log filter: `address` and topic positions (nil = any; several values = any of them).
public struct LogFilter: Hashable, Sendable {
  public var address: EthereumAddress?
  public var topics: [[[UInt8]]?]
  public init(address: EthereumAddress?, topics: [[[UInt8]]?] = []) {
    self.address = address
    self.topics = topics
  }

  /// Whether `log` passes the filter (applied again client-side: some endpoints filter loosely).
  public func matches(_ log: EthereumLog) -> Bool {
    if let address, log.address != address { return false }
    for (i, alternatives) in topics.enumerated() {
      guard let alternatives else { continue }
      guard i < log.topics.count, alternatives.contains(log.topics[i]) else { return false }
    }
    return true
  }
}

/// Typed Ethereum JSON-RPC methods over any `EthereumProvider`. Stateless and `Sendable`.
public struct EthereumClient: Sendable {
  public let provider: any EthereumProvider

  public init(provider: any EthereumProvider) { self.provider = provider }

  // MARK: parsing helpers

  static func quantity(_ v: JSONValue?, _ what: String) throws(EthereumError) -> UInt256 {
    guard let s = v?.stringValue, let n = UInt256(hex: s) else {
      if case .number(let d)? = v, d >= 0, d < 9e15 { return UInt256(UInt64(d)) }
      throw .invalidResponse("\(what): expected a hex quantity, got \(v.map { "\($0)" } ?? "nothing")")
    }
    return n
  }
  static func quantity64(_ v: JSONValue?, _ what: String) throws(EthereumError) -> UInt64 {
    guard let n = try quantity(v, what).uint64Value else { throw .invalidResponse("\(what): too large") }
    return n
  }
  static func bytes(_ v: JSONValue?, _ what: String) throws(EthereumError) -> [UInt8] {
    guard let s = v?.stringValue, let b = try? Hex.decode(s) else {
      throw .invalidResponse("\(what): expected hex data, got \(v.map { "\($0)" } ?? "nothing")")
    }
    return b
  }

  // MARK: methods

  public func chainID() async throws(EthereumError) -> UInt64 {
    try Self.quantity64(try await provider.request("eth_chainId", []), "eth_chainId")
  }

  public func blockNumber() async throws(EthereumError) -> UInt64 {
    try Self.quantity64(try await provider.request("eth_blockNumber", []), "eth_blockNumber")
  }

  public func balance(of address: EthereumAddress, at block: BlockTag = .latest) async throws(EthereumError) -> UInt256
  {
    try Self.quantity(
      try await provider.request("eth_getBalance", [.string(address.hex), block.json]), "eth_getBalance")
  }

  public func transactionCount(of address: EthereumAddress, at block: BlockTag = .pending) async throws(EthereumError)
    -> UInt64
  {
    try Self.quantity64(
      try await provider.request("eth_getTransactionCount", [.string(address.hex), block.json]),
      "eth_getTransactionCount")
  }

  static func callObject(from: EthereumAddress?, to: EthereumAddress?, data: [UInt8], value: UInt256?) -> JSONValue {
    var o: [String: JSONValue] = ["data": .data(data)]
    if let from { o["from"] = .string(from.hex) }
    if let to { o["to"] = .string(to.hex) }
    if let value, !value.isZero { o["value"] = .quantity(value) }
    return .object(o)
  }

  /// `eth_call`; a revert throws `EthereumError.reverted` with the decoded reason.
  public func call(
    to: EthereumAddress, data: [UInt8], from: EthereumAddress? = nil, at block: BlockTag = .latest
  ) async throws(EthereumError) -> [UInt8] {
    let r = try await provider.request(
      "eth_call", [Self.callObject(from: from, to: to, data: data, value: nil), block.json])
    return try Self.bytes(r, "eth_call")
  }

  /// `eth_estimateGas`; a revert throws `EthereumError.reverted`.
  public func estimateGas(
    from: EthereumAddress, to: EthereumAddress?, data: [UInt8], value: UInt256 = .zero
  ) async throws(EthereumError) -> UInt64 {
    try Self.quantity64(
      try await provider.request("eth_estimateGas", [Self.callObject(from: from, to: to, data: data, value: value)]),
      "eth_estimateGas")
  }

  public func gasPrice() async throws(EthereumError) -> UInt256 {
    try Self.quantity(try await provider.request("eth_gasPrice", []), "eth_gasPrice")
  }

  /// `eth_feeHistory`: base fees (one more than `blocks`, the last being the next block's) and the reward at
  /// `percentile` for each block.
  public func feeHistory(blocks: UInt64, percentile: Double) async throws(EthereumError)
    -> (baseFees: [UInt256], rewards: [UInt256])
  {
    let r = try await provider.request(
      "eth_feeHistory", [.quantity(blocks), .string("latest"), .array([.number(percentile)])])
    guard let base = r["baseFeePerGas"]?.arrayValue else { throw .invalidResponse("eth_feeHistory: no baseFeePerGas") }
    var baseFees: [UInt256] = []
    for b in base { baseFees.append(try Self.quantity(b, "baseFeePerGas")) }
    var rewards: [UInt256] = []
    for row in r["reward"]?.arrayValue ?? [] {
      if let first = row.arrayValue?.first { rewards.append(try Self.quantity(first, "reward")) }
    }
    return (baseFees, rewards)
  }

  /// Broadcasts signed bytes; returns the transaction hash.
  public func sendRawTransaction(_ raw: [UInt8]) async throws(EthereumError) -> [UInt8] {
    try Self.bytes(try await provider.request("eth_sendRawTransaction", [.data(raw)]), "eth_sendRawTransaction")
  }

  /// The receipt, or nil while the transaction is not mined.
  public func receipt(_ hash: [UInt8]) async throws(EthereumError) -> TransactionReceipt? {
    let r = try await provider.request("eth_getTransactionReceipt", [.data(hash)])
    if r.isNull { return nil }
    var logs: [EthereumLog] = []
    for l in r["logs"]?.arrayValue ?? [] { logs.append(try Self.log(l)) }
    let status = try Self.quantity(r["status"], "receipt.status")
    return TransactionReceipt(
      transactionHash: try Self.bytes(r["transactionHash"], "receipt.transactionHash"),
      blockNumber: try Self.quantity64(r["blockNumber"], "receipt.blockNumber"), status: status == .one,
      gasUsed: try Self.quantity64(r["gasUsed"], "receipt.gasUsed"),
      effectiveGasPrice: (try? Self.quantity(r["effectiveGasPrice"], "")) ?? .zero, logs: logs,
      contractAddress: r["contractAddress"]?.stringValue.flatMap { EthereumAddress(hex: $0.lowercased()) })
  }

  static func log(_ l: JSONValue) throws(EthereumError) -> EthereumLog {
    guard let a = l["address"]?.stringValue, let address = EthereumAddress(hex: a.lowercased()) else {
      throw .invalidResponse("log.address")
    }
    var topics: [[UInt8]] = []
    for t in l["topics"]?.arrayValue ?? [] { topics.append(try bytes(t, "log.topics")) }
    return EthereumLog(
      address: address, topics: topics, data: try bytes(l["data"], "log.data"),
      blockNumber: try quantity64(l["blockNumber"], "log.blockNumber"),
      transactionHash: try bytes(l["transactionHash"], "log.transactionHash"),
      logIndex: (try? quantity64(l["logIndex"], "log.logIndex")) ?? 0)
  }

  /// `eth_getLogs` over an inclusive block range.
  public func logs(_ filter: LogFilter, from: UInt64, to: UInt64) async throws(EthereumError) -> [EthereumLog] {
    var o: [String: JSONValue] = ["fromBlock": .quantity(from), "toBlock": .quantity(to)]
    if let a = filter.address { o["address"] = .array([.string(a.hex)]) }
    if !filter.topics.isEmpty {
      o["topics"] = .array(
        filter.topics.map { alts in
          guard let alts else { return .null }
          return alts.count == 1 ? .data(alts[0]) : .array(alts.map { .data($0) })
        })
    }
    let r = try await provider.request("eth_getLogs", [.object(o)])
    guard let arr = r.arrayValue else { throw .invalidResponse("eth_getLogs: not an array") }
    var out: [EthereumLog] = []
    for l in arr {
      let log = try Self.log(l)
      if filter.matches(log) && log.blockNumber >= from && log.blockNumber <= to { out.append(log) }
    }
    return out
  }

  public func block(_ tag: BlockTag) async throws(EthereumError) -> BlockHeader {
    let r = try await provider.request("eth_getBlockByNumber", [tag.json, .bool(false)])
    guard !r.isNull else { throw .invalidResponse("eth_getBlockByNumber: no such block") }
    return BlockHeader(
      number: try Self.quantity64(r["number"], "block.number"),
      timestamp: try Self.quantity64(r["timestamp"], "block.timestamp"),
      hash: (try? Self.bytes(r["hash"], "block.hash")) ?? [],
      baseFeePerGas: r["baseFeePerGas"].flatMap { try? Self.quantity($0, "baseFeePerGas") })
  }

  // MARK: development-chain helpers (hardhat/anvil/eth-tester shim)

  /// Mines `blocks` blocks (`evm_mine`).
  public func mine(blocks: UInt64 = 1) async throws(EthereumError) {
    _ = try await provider.request("evm_mine", [.quantity(blocks)])
  }

  /// Moves chain time to `timestamp` (`testing_timeTravel`); the next mined block carries it.
  public func timeTravel(to timestamp: UInt64) async throws(EthereumError) {
    _ = try await provider.request("testing_timeTravel", [.quantity(timestamp)])
  }
}
