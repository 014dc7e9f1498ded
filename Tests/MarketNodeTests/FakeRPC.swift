import CodexMarket
import CodexNode
import Foundation
import Synchronization

/// A scripted JSON-RPC endpoint: `handler` answers each request; every method called is recorded.
final class FakeRPC: EthereumProvider {
  let endpoint: String
  let handler: @Sendable (String, [JSONValue]) throws(EthereumError) -> JSONValue
  let calls = Mutex<[String]>([])

  init(endpoint: String, handler: @escaping @Sendable (String, [JSONValue]) throws(EthereumError) -> JSONValue) {
    self.endpoint = endpoint
    self.handler = handler
  }

  func request(_ method: String, _ params: [JSONValue]) async throws(EthereumError) -> JSONValue {
    calls.withLock { $0.append(method) }
    return try handler(method, params)
  }

  /// An endpoint that refuses every connection.
  static func down(_ url: String) -> FakeRPC {
    FakeRPC(endpoint: url) { _, _ throws(EthereumError) in
      throw EthereumError.unreachable(endpoint: url, reason: "connection refused")
    }
  }

  /// A chain with a Marketplace (local default configuration) at `marketplace` when `hasCode`, token `token`,
  /// and balances `eth` / `tokens` for every account.
  static func chain(
    _ url: String, chainID: UInt64 = 31337, hasCode: Bool = true, token: EthereumAddress,
    eth: UInt256 = UInt256(decimal: "10000000000000000000000")!, tokens: UInt256 = 1_000_000_000_000_000
  ) -> FakeRPC {
    FakeRPC(endpoint: url) { method, params throws(EthereumError) in
      switch method {
      case "eth_chainId": return .quantity(chainID)
      case "eth_getCode": return .string(hasCode ? "0x6080604052" : "0x")
      case "eth_getBalance": return .quantity(eth)
      case "eth_getTransactionCount": return .quantity(UInt64(0))
      case "eth_call":
        guard let data = params.first?["data"]?.stringValue, let bytes = try? Hex.decode(data), bytes.count >= 4 else {
          throw EthereumError.invalidResponse("bad eth_call")
        }
        let selector = Array(bytes.prefix(4))
        do {
          if selector == MarketplaceABI.configuration.selector {
            return .data(
              try ABI.encode([MarketplaceConfig.localDefaults.abiValue], as: [MarketplaceConfig.abiType]))
          }
          if selector == MarketplaceABI.token.selector {
            return .data(try ABI.encode([.address(token)], as: [.address]))
          }
          if selector == MarketplaceABI.balanceOf.selector {
            return .data(try ABI.encode([.uint(tokens)], as: [.uint(256)]))
          }
        } catch { throw EthereumError.local("\(error)") }
        throw EthereumError.rpc(code: 3, message: "execution reverted")
      default:
        throw EthereumError.rpc(code: -32601, message: "method \(method) not found")
      }
    }
  }
}

/// Delays every answer of `inner` (to check that start-up does not depend on which endpoint answers first).
struct SlowRPC: EthereumProvider {
  let inner: FakeRPC
  let delay: Duration
  var endpoint: String { inner.endpoint }
  func request(_ method: String, _ params: [JSONValue]) async throws(EthereumError) -> JSONValue {
    try? await Task.sleep(for: delay)
    return try await inner.request(method, params)
  }
}

/// Temporary files for one test, removed at the end.
struct TempDir {
  let path: String
  init() throws {
    path = FileManager.default.temporaryDirectory.appendingPathComponent("codex-mn-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  }
  func file(_ name: String, _ text: String, mode: Int = 0o600) throws -> String {
    let p = path + "/" + name
    try Data(text.utf8).write(to: URL(fileURLWithPath: p))
    try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: p)
    return p
  }
  func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// Hardhat account 0 (the dev chain's deployer).
let hardhatKey0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
let hardhatAddress0 = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
