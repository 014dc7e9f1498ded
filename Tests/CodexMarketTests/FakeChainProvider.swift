@testable import CodexMarket

/// An in-process JSON-RPC endpoint that enforces strict nonces (like eth-tester: a transaction must carry exactly
/// the sender's next nonce), mines each transaction into its own block, and reverts `eth_call`s to `revertingAddress`
/// with `Marketplace_SlotNotFree`.
actor FakeChainProvider: EthereumProvider {
  nonisolated let endpoint: String
  let chainID: UInt64
  var nonces: [EthereumAddress: UInt64] = [:]
  var receipts: [[UInt8]: UInt64] = [:]
  var block: UInt64 = 100
  var accepted: [(EthereumAddress, UInt64)] = []
  var calls = 0
  static let revertingAddress = EthereumAddress(bytes: [UInt8](repeating: 0xee, count: 20))!

  init(endpoint: String = "fake://chain", chainID: UInt64 = 1337) {
    self.endpoint = endpoint
    self.chainID = chainID
  }

  func setNonce(_ a: EthereumAddress, _ n: UInt64) { nonces[a] = n }

  func request(_ method: String, _ params: [JSONValue]) async throws(EthereumError) -> JSONValue {
    calls += 1
    switch method {
    case "eth_chainId": return .quantity(chainID)
    case "eth_blockNumber": return .quantity(block)
    case "eth_getTransactionCount":
      guard let a = params.first?.stringValue.flatMap({ EthereumAddress(hex: $0) }) else {
        throw .rpc(code: -32602, message: "bad address")
      }
      return .quantity(nonces[a] ?? 0)
    case "eth_estimateGas": return .quantity(UInt64(50_000))
    case "eth_feeHistory":
      return .object(["baseFeePerGas": .array([.quantity(UInt64(7)), .quantity(UInt64(8))]), "reward": .array([])])
    case "eth_call":
      if params.first?["to"]?.stringValue == Self.revertingAddress.hex {
        throw HTTPEthereumProviderTestHook.unwrapError(
          .object(["code": .number(3), "message": .string("execution reverted"), "data": .string("0xff556acf")]))
      }
      return .data(UInt256(1).bigEndianBytes)
    case "eth_sendRawTransaction":
      guard let raw = params.first?.stringValue, let bytes = try? Hex.decode(raw),
        let tx = try? SignedTransaction.decode(bytes), let from = try? tx.sender()
      else { throw .rpc(code: -32602, message: "invalid transaction") }
      guard tx.transaction.chainID == chainID else { throw .rpc(code: -32000, message: "invalid chain id") }
      let expected = nonces[from] ?? 0
      if tx.transaction.nonce < expected { throw .rpc(code: -32000, message: "nonce too low") }
      if tx.transaction.nonce > expected { throw .rpc(code: -32000, message: "nonce too high") }
      nonces[from] = expected + 1
      block += 1
      receipts[tx.hash] = block
      accepted.append((from, tx.transaction.nonce))
      return .data(tx.hash)
    case "eth_getTransactionReceipt":
      guard let h = params.first?.stringValue.flatMap({ try? Hex.decode($0) }), let b = receipts[h] else {
        return .null
      }
      return .object([
        "transactionHash": .data(h), "blockNumber": .quantity(b), "status": .string("0x1"),
        "gasUsed": .quantity(UInt64(21000)), "logs": .array([]),
      ])
    default:
      throw .rpc(code: -32601, message: "method not found: \(method)")
    }
  }
}

/// Routes an error object through the HTTP provider's unwrapping, as if it came over the wire.
enum HTTPEthereumProviderTestHook {
  static func unwrapError(_ err: JSONValue) -> EthereumError {
    do {
      _ = try HTTPEthereumProvider.unwrap(.object(["error": err]), method: "test")
      return .invalidResponse("no error")
    } catch {
      return error
    }
  }
}

/// Always unreachable.
struct DeadProvider: EthereumProvider {
  let endpoint: String
  func request(_ method: String, _ params: [JSONValue]) async throws(EthereumError) -> JSONValue {
    throw .unreachable(endpoint: endpoint, reason: "connection refused")
  }
}
