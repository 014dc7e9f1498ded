import CodexMarket
import Foundation
import Logging

/// A failed expectation in the integration run.
struct CheckFailure: Error, CustomStringConvertible {
  let description: String
}

/// Access to a running development chain (the eth-tester JSON-RPC shim of tools/devchain or any node with the
/// same dev methods): the eth-tester default keys, deployment from compiled artifacts, time travel.
struct DevChain {
  let client: EthereumClient
  let chainID: UInt64
  let logger: Logger
  /// Prefunded account keys: from the dev chain's JSON description when given, else eth-tester's defaults
  /// (secret keys 1, 2, 3, …).
  var keys: [PrivateKey] = (1...10).map { try! PrivateKey(bytes: UInt256(UInt64($0)).bigEndianBytes) }

  /// Account `i` (1-based, as in the scenario descriptions).
  func key(_ i: Int) -> PrivateKey { keys[(i - 1) % keys.count] }

  /// Reads `rpcUrl` and the account keys from tools/devchain's JSON description.
  static func describe(jsonPath: String) throws -> (url: String, keys: [PrivateKey]) {
    guard let data = FileManager.default.contents(atPath: jsonPath) else {
      throw CheckFailure(description: "cannot read \(jsonPath)")
    }
    let json = try JSONDecoder().decode(JSONValue.self, from: data)
    guard let url = json["rpcUrl"]?.stringValue else { throw CheckFailure(description: "\(jsonPath): no rpcUrl") }
    var keys: [PrivateKey] = []
    for a in json["accounts"]?.arrayValue ?? [] {
      if let k = a["privateKey"]?.stringValue { keys.append(try PrivateKey(hex: k)) }
    }
    guard keys.count >= 8 else { throw CheckFailure(description: "\(jsonPath): fewer than 8 accounts") }
    return (url, keys)
  }

  static func connect(url: String, logger: Logger) async throws -> DevChain {
    let client = EthereumClient(provider: HTTPEthereumProvider(url: url, timeoutSeconds: 60))
    var lastError: (any Error)?
    for _ in 0..<50 {  // the chain may still be starting
      do {
        let id = try await client.chainID()
        return DevChain(client: client, chainID: id, logger: logger)
      } catch {
        lastError = error
        try await Task.sleep(for: .milliseconds(200))
      }
    }
    throw CheckFailure(description: "dev chain at \(url) not reachable: \(lastError.map { "\($0)" } ?? "?")")
  }

  func sender(_ key: PrivateKey, noncePath: String? = nil) async throws -> TransactionSender {
    let s = try await TransactionSender(
      key: key, client: client, chainID: chainID, nonceStorePath: noncePath, logger: logger)
    await s.setPollInterval(milliseconds: 10)
    return s
  }

  /// Creation bytecode from an artifact JSON (`bytecode` member, hex).
  static func bytecode(artifacts: String, name: String) throws -> [UInt8] {
    let path = artifacts + "/" + name + ".json"
    guard let data = FileManager.default.contents(atPath: path) else {
      throw CheckFailure(description: "missing artifact \(path) (run contracts/build.py)")
    }
    let json = try JSONDecoder().decode(JSONValue.self, from: data)
    guard let hex = json["bytecode"]?.stringValue else { throw CheckFailure(description: "\(path): no bytecode") }
    return try Hex.decode(hex)
  }

  func deploy(_ sender: TransactionSender, code: [UInt8], args: [ABIValue] = [], types: [ABIType] = [])
    async throws -> EthereumAddress
  {
    let data = code + (try ABI.encode(args, as: types))
    let hash = try await sender.send(to: nil, data: data, gasLimit: 15_000_000)
    let receipt = try await sender.waitForReceipt(hash)
    guard let a = receipt.contractAddress else { throw CheckFailure(description: "deployment without address") }
    return a
  }

  /// Mines until the head is past block 256 (the Proofs constructor needs 256 block hashes).
  func ensureHeight() async throws {
    let n = try await client.blockNumber()
    if n <= 257 { try await client.mine(blocks: 258 - n) }
  }

  /// Sets chain time to at least `t` and mines a block carrying it. The dev chain also mines on a timer, so a
  /// rejected time travel (the chain got there first) is re-checked rather than treated as an error.
  func advance(to t: UInt64) async throws {
    for attempt in 0..<5 {
      let head = try await client.block(.latest)
      if head.timestamp + 1 >= t { break }
      do {
        try await client.timeTravel(to: t)
        break
      } catch {
        if attempt == 4 { throw error }
      }
    }
    try await client.mine(blocks: 1)
  }

  func latestTimestamp() async throws -> UInt64 { try await client.block(.latest).timestamp }

  struct Deployment {
    let token: EthereumAddress
    let marketplace: EthereumAddress
    let config: MarketplaceConfig
  }

  /// Deploys TestToken, TestVerifier and Marketplace with `config` from `deployer`.
  func deployMarketplace(artifacts: String, deployer: TransactionSender, config: MarketplaceConfig) async throws
    -> Deployment
  {
    try await ensureHeight()
    let token = try await deploy(deployer, code: Self.bytecode(artifacts: artifacts, name: "TestToken"))
    let verifier = try await deploy(deployer, code: Self.bytecode(artifacts: artifacts, name: "TestVerifier"))
    let market = try await deploy(
      deployer, code: Self.bytecode(artifacts: artifacts, name: "Marketplace"),
      args: [config.abiValue, .address(token), .address(verifier)],
      types: [MarketplaceConfig.abiType, .address, .address])
    return Deployment(token: token, marketplace: market, config: config)
  }

  func mint(_ deployer: TransactionSender, token: EthereumAddress, to: EthereumAddress, amount: UInt256) async throws {
    let mint = try ABI.encodeCall("mint", [.address, .uint(256)], [.address(to), .uint(amount)])
    _ = try await deployer.sendAndWait(to: token, data: mint)
  }
}
