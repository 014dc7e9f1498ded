import CodexMarket
import CodexNode
import Foundation
import Logging
import Testing

@Suite struct NodeMarketplaceTests {
  let token = EthereumAddress(hex: "0x5FbDB2315678afecb367f032d93F642f64180aa3")!
  let marketplace = "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0"
  var logger: Logger {
    var l = Logger(label: "test")
    l.logLevel = .critical
    return l
  }

  func options(_ dir: TempDir, providers: [String]) throws -> PersistenceOptions {
    var o = PersistenceOptions()
    o.ethProviders = providers
    o.ethPrivateKeyFile = try dir.file("eth.key", hardhatKey0 + "\n")
    o.marketplaceAddress = marketplace
    return o
  }

  func connect(_ o: PersistenceOptions, _ dir: TempDir, _ fakes: [String: any EthereumProvider])
    async throws(MarketplaceStartError) -> NodeMarketplace
  {
    try await NodeMarketplace.connect(
      options: o, dataDir: dir.path, logger: logger, makeProvider: { url, _, _ in fakes[url] ?? FakeRPC.down(url) })
  }

  @Test func theFirstAnsweringEndpointInConfiguredOrderSetsTheChain() async throws {
    let dir = try TempDir()
    defer { dir.remove() }
    let o = try options(dir, providers: ["http://down:1", "http://slow:2", "http://fast:3"])
    let m = try await connect(
      o, dir,
      [
        "http://slow:2": SlowRPC(
          inner: .chain("http://slow:2", chainID: 4242, token: token), delay: .milliseconds(200)),
        "http://fast:3": FakeRPC.chain("http://fast:3", chainID: 31337, token: token),
      ])
    #expect(m.chainID == 4242)
    #expect(await m.status().provider == "http://slow:2")
  }

  @Test func connectsReadsConfigurationAndFailsOver() async throws {
    let dir = try TempDir()
    defer { dir.remove() }
    let o = try options(dir, providers: ["http://down:1", "http://up:2"])
    let m = try await connect(o, dir, ["http://up:2": FakeRPC.chain("http://up:2", token: token)])
    #expect(m.chainID == 31337)
    #expect(m.account.checksummed == hardhatAddress0)
    #expect(m.marketplaceAddress.checksummed == marketplace)
    #expect(m.tokenAddress == token)
    #expect(m.configuration == .localDefaults)
    let s = await m.status()
    #expect(s.chainId == 31337)
    #expect(s.account == hardhatAddress0)
    #expect(s.ethBalance == "10000000000000000000000")
    #expect(s.tokenBalance == "1000000000000000")
    #expect(s.balanceError == nil)
    #expect(s.provider == "http://up:2")
    #expect(s.providers == ["http://down:1", "http://up:2"])
    #expect(s.configuration.periodSeconds == 90)
    #expect(s.validator == false)
  }

  @Test func unreachableProvidersAreNamed() async throws {
    let dir = try TempDir()
    defer { dir.remove() }
    let o = try options(dir, providers: ["http://a:1", "http://b:2"])
    let e = await #expect(throws: MarketplaceStartError.self) { _ = try await connect(o, dir, [:]) }
    guard case .noProviderReachable(let tried)? = e else {
      Issue.record("expected noProviderReachable, got \(String(describing: e))")
      return
    }
    #expect(tried.map(\.url) == ["http://a:1", "http://b:2"])
    #expect(e?.description.contains("http://a:1 (connection refused)") == true)
  }

  @Test func unknownChainWithoutAddress() async throws {
    let dir = try TempDir()
    defer { dir.remove() }
    var o = try options(dir, providers: ["http://x:1"])
    o.marketplaceAddress = nil
    await #expect(throws: MarketplaceStartError.unknownChain(chainID: 4242)) {
      _ = try await connect(o, dir, ["http://x:1": FakeRPC.chain("http://x:1", chainID: 4242, token: token)])
    }
  }

  @Test func knownChainAddressWithoutCodeIsWrongChainOrAddress() async throws {
    let dir = try TempDir()
    defer { dir.remove() }
    var o = try options(dir, providers: ["http://x:1"])
    o.marketplaceAddress = nil  // 31337 → hardhat's known address, which has no code on this chain
    let e = await #expect(throws: MarketplaceStartError.self) {
      _ = try await connect(o, dir, ["http://x:1": FakeRPC.chain("http://x:1", hasCode: false, token: token)])
    }
    #expect(
      e
        == .noContractCode(
          address: "0x322813Fd9A801c5507c9de605d63CEA4f2CE6c44", chainID: 31337, endpoint: "http://x:1"))
    #expect(e?.description.contains("wrong chain or wrong address") == true)
  }

  @Test func keyProblemsStopBeforeAnyRequest() async throws {
    let dir = try TempDir()
    defer { dir.remove() }
    var o = try options(dir, providers: ["http://x:1"])
    let fake = FakeRPC.chain("http://x:1", token: token)
    o.ethPrivateKeyFile = try dir.file("loose.key", hardhatKey0, mode: 0o644)
    let loose = await #expect(throws: MarketplaceStartError.self) {
      _ = try await connect(o, dir, ["http://x:1": fake])
    }
    guard case .keyFile(let k)? = loose else {
      Issue.record("expected keyFile, got \(String(describing: loose))")
      return
    }
    #expect(k.code == .unsafePermissions)
    o.ethPrivateKeyFile = try dir.file("bad.key", "not a key")
    let bad = await #expect(throws: MarketplaceStartError.self) { _ = try await connect(o, dir, ["http://x:1": fake]) }
    #expect(bad?.description.contains("does not hold a private key") == true)
    o.ethPrivateKeyFile = try dir.file("good.key", hardhatKey0)
    o.ethAccount = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
    let mismatch = await #expect(throws: MarketplaceStartError.self) {
      _ = try await connect(o, dir, ["http://x:1": fake])
    }
    #expect(mismatch == .accountMismatch(given: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", key: hardhatAddress0))
    #expect(fake.calls.withLock { $0.isEmpty })
  }

  @Test func contractThatIsNotAMarketplace() async throws {
    let dir = try TempDir()
    defer { dir.remove() }
    let o = try options(dir, providers: ["http://x:1"])
    let fake = FakeRPC(endpoint: "http://x:1") { method, _ throws(EthereumError) in
      switch method {
      case "eth_chainId": return .quantity(UInt64(31337))
      case "eth_getCode": return .string("0x6001")
      // What HTTPEthereumProvider makes of "execution reverted" without data.
      default: throw EthereumError.reverted(ContractRevert.decode([]), transaction: nil)
      }
    }
    let e = await #expect(throws: MarketplaceStartError.self) { _ = try await connect(o, dir, ["http://x:1": fake]) }
    guard case .notAMarketplace? = e else {
      Issue.record("expected notAMarketplace, got \(String(describing: e))")
      return
    }
  }

  @Test func statusReportsBalanceErrorsInsteadOfFailing() async throws {
    let chain = MockChain()
    let account = EthereumAddress(hex: hardhatAddress0)!
    await chain.mint(account, 5)
    let m = NodeMarketplace(
      options: PersistenceOptions(), chainID: 7, account: account, marketplaceAddress: .zero,
      tokenAddress: await chain.tokenAddress, configuration: .localDefaults,
      market: MockMarket(chain: chain, account: account),
      client: EthereumClient(provider: FakeRPC.down("http://gone:1")), endpointInUse: { "http://gone:1" })
    let s = await m.status()
    #expect(s.ethBalance == nil)
    #expect(s.tokenBalance == nil)
    #expect(s.balanceError?.contains("http://gone:1") == true)
  }
}
