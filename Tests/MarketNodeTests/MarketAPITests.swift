import CodexAPI
import CodexMarket
import CodexNode
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

/// `/debug/info`'s marketplace section and the marketplace routes, with and without persistence.
@Suite struct MarketAPITests {
  func withNode<T: Sendable>(
    marketplace: NodeMarketplace?, _ body: @Sendable (any TestClientProtocol) async throws -> T
  ) async throws -> T {
    let dir = try TempDir()
    defer { dir.remove() }
    var config = NodeConfig(dataDir: dir.path + "/data")
    config.listenAddresses = ["/ip4/127.0.0.1/tcp/0"]
    var logger = Logger(label: "test")
    logger.logLevel = .critical
    let node = try CodexNode(config: config, logger: logger, marketplace: marketplace)
    let app = Application(router: CodexAPI.router(node: node, corsOrigin: nil))
    let result = try await app.test(.router) { client in try await body(client) }
    await node.close()
    return result
  }

  func mockMarketplace() async -> (NodeMarketplace, MockChain) {
    let chain = MockChain()
    let account = EthereumAddress(hex: hardhatAddress0)!
    await chain.mint(account, UInt256(decimal: "1000000000000000")!)
    let tokenAddress = await chain.tokenAddress
    var options = PersistenceOptions()
    options.ethProviders = ["http://127.0.0.1:9"]
    options.validator = true
    let rpc = FakeRPC.chain("http://127.0.0.1:9", token: tokenAddress, eth: 12345)
    let m = NodeMarketplace(
      options: options, chainID: 31337, account: account,
      marketplaceAddress: EthereumAddress(hex: "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0")!,
      tokenAddress: tokenAddress, configuration: .localDefaults, market: MockMarket(chain: chain, account: account),
      client: EthereumClient(provider: rpc), endpointInUse: { "http://127.0.0.1:9" })
    return (m, chain)
  }

  @Test func debugInfoWithoutPersistenceHasNoMarketplace() async throws {
    try await withNode(marketplace: nil) { client in
      let r = try await client.execute(uri: "/api/codex/v1/debug/info", method: .get)
      #expect(r.status == .ok)
      let json = try #require(try JSONSerialization.jsonObject(with: Data(buffer: r.body)) as? [String: Any])
      #expect(json["id"] != nil)
      #expect(json["marketplace"] == nil)
    }
  }

  @Test func debugInfoShowsChainAccountAndBalances() async throws {
    let (m, chain) = await mockMarketplace()
    let tokenAddress = await chain.tokenAddress
    try await withNode(marketplace: m) { client in
      let r = try await client.execute(uri: "/api/codex/v1/debug/info", method: .get)
      #expect(r.status == .ok)
      let json = try #require(try JSONSerialization.jsonObject(with: Data(buffer: r.body)) as? [String: Any])
      let mp = try #require(json["marketplace"] as? [String: Any])
      #expect(mp["chainId"] as? Int == 31337)
      #expect(mp["account"] as? String == hardhatAddress0)
      #expect(mp["ethBalance"] as? String == "12345")
      #expect(mp["tokenBalance"] as? String == "1000000000000000")
      #expect(mp["marketplaceAddress"] as? String == "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0")
      #expect(mp["tokenAddress"] as? String == tokenAddress.checksummed)
      #expect(mp["provider"] as? String == "http://127.0.0.1:9")
      #expect(mp["validator"] as? Bool == true)
      let cfg = try #require(mp["configuration"] as? [String: Any])
      #expect(cfg["periodSeconds"] as? Int == 90)
      #expect(cfg["maxReservations"] as? Int == 3)
    }
  }

  @Test func marketRoutesAnswer503WithoutPersistence() async throws {
    try await withNode(marketplace: nil) { client in
      for (method, path) in [
        (HTTPRequest.Method.get, "sales/slots"), (.get, "sales/slots/0x01"), (.get, "sales/availability"),
        (.post, "sales/availability"), (.patch, "sales/availability/0x01"),
        (.get, "sales/availability/0x01/reservations"),
        (.post, "storage/request/zDvZRwzm"), (.get, "storage/purchases"), (.get, "storage/purchases/0x01"),
      ] {
        let r = try await client.execute(uri: "/api/codex/v1/" + path, method: method)
        #expect(r.status == .serviceUnavailable, "\(method) \(path)")
        #expect(String(buffer: r.body) == "Persistence is not enabled", "\(method) \(path)")
      }
    }
  }

  @Test func marketRoutesWithPersistence() async throws {
    let (m, _) = await mockMarketplace()
    try await withNode(marketplace: m) { client in
      let slots = try await client.execute(uri: "/api/codex/v1/sales/slots", method: .get)
      #expect(slots.status == .ok)
      #expect(String(buffer: slots.body) == "[]")
      for (method, path) in [
        (HTTPRequest.Method.get, "sales/availability"), (.post, "storage/request/zDvZRwzm"),
        (.get, "storage/purchases"),
      ] {
        let r = try await client.execute(uri: "/api/codex/v1/" + path, method: method)
        #expect(r.status == .notImplemented, "\(method) \(path)")
        #expect(String(buffer: r.body).contains("not implemented by this node yet"), "\(method) \(path)")
      }
    }
  }
}
