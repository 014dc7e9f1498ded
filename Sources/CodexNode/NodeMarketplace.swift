import AsyncHTTPClient
import CodexMarket
import Foundation
import Logging

/// The node's side of the marketplace when it runs with the `persistence` subcommand: the chain it is on, the
/// account it signs with, the Marketplace binding and the contract's configuration, all checked at start-up.
///
/// `connect` fails fast with a typed `MarketplaceStartError` saying what to fix; once it returns, `market` is
/// ready for the purchasing/sales/validator machinery still to come and `status()` feeds `/debug/info`.
public final class NodeMarketplace: Sendable {
  public let options: PersistenceOptions
  public let chainID: UInt64
  /// The account that signs (derived from the private key).
  public let account: EthereumAddress
  public let marketplaceAddress: EthereumAddress
  /// The ERC-20 token the marketplace pays in (read from the contract).
  public let tokenAddress: EthereumAddress
  /// The contract's configuration, read at start-up.
  public let configuration: MarketplaceConfig
  /// The typed Marketplace binding (or a `MockMarket` in tests).
  public let market: any Market
  /// How long `connect` took, from the first provider request to the token address.
  public let startupDuration: Duration
  let client: EthereumClient
  let endpointInUse: @Sendable () async -> String
  let onClose: @Sendable () async -> Void

  /// Assembles an already connected marketplace (used by `connect`, and by tests with a `MockMarket`).
  public init(
    options: PersistenceOptions, chainID: UInt64, account: EthereumAddress, marketplaceAddress: EthereumAddress,
    tokenAddress: EthereumAddress, configuration: MarketplaceConfig, market: any Market, client: EthereumClient,
    startupDuration: Duration = .zero, endpointInUse: @escaping @Sendable () async -> String,
    onClose: @escaping @Sendable () async -> Void = {}
  ) {
    self.options = options
    self.chainID = chainID
    self.account = account
    self.marketplaceAddress = marketplaceAddress
    self.tokenAddress = tokenAddress
    self.configuration = configuration
    self.market = market
    self.client = client
    self.startupDuration = startupDuration
    self.endpointInUse = endpointInUse
    self.onClose = onClose
  }

  /// Releases the HTTP client of the JSON-RPC endpoints. Call once, after the node stopped using `market`.
  public func close() async { await onClose() }

  /// Makes the JSON-RPC provider for one URL with a request timeout in seconds; `probe` is true for the first
  /// `eth_chainId` of each endpoint at start-up.
  public typealias ProviderFactory =
    @Sendable (_ url: String, _ timeoutSeconds: Int64, _ probe: Bool) ->
    any EthereumProvider

  /// Validates the options, loads the key, finds a reachable provider, checks the chain and the contract, and reads
  /// the Marketplace configuration and token address.
  ///
  /// - Parameters:
  ///   - dataDir: where the nonce of the account is persisted (`marketplace-nonce-<chain>-<account>.json`).
  ///   - probeTimeoutSeconds: timeout of the first `eth_chainId` of every endpoint (probed concurrently, on an HTTP
  ///     client that does not retry refused connections), which bounds start-up when none is reachable.
  ///   - makeProvider: nil for HTTP JSON-RPC (`HTTPEthereumProvider`); tests pass fakes.
  /// - Throws: `MarketplaceStartError`.
  public static func connect(
    options: PersistenceOptions, dataDir: String?, logger: Logger, probeTimeoutSeconds: Int64 = 5,
    makeProvider: ProviderFactory? = nil
  ) async throws(MarketplaceStartError) -> NodeMarketplace {
    let checked = try options.validate()
    guard let keyPath = options.ethPrivateKeyFile else { throw .noAccount }
    let key: CodexMarket.PrivateKey
    do { key = try EthereumKeyFile.load(at: keyPath) } catch { throw .keyFile(error) }
    if let given = checked.account, given != key.address {
      throw .accountMismatch(given: given.checksummed, key: key.address.checksummed)
    }

    // One HTTP client for every endpoint, without connection retries: a refused connection fails at once, so a
    // dead endpoint costs nothing at start-up and failover to the next one is immediate.
    var httpClient: HTTPClient? = nil
    let factory: ProviderFactory
    if let makeProvider {
      factory = makeProvider
    } else {
      var configuration = HTTPClient.Configuration()
      configuration.connectionPool.retryConnectionEstablishment = false
      configuration.timeout.connect = .seconds(probeTimeoutSeconds)
      let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
      httpClient = client
      factory = { url, timeout, _ in HTTPEthereumProvider(url: url, client: client, timeoutSeconds: timeout) }
    }
    do {
      return try await establish(
        options: options, checked: checked, key: key, dataDir: dataDir, logger: logger,
        probeTimeoutSeconds: probeTimeoutSeconds, factory: factory,
        onClose: { [httpClient] in try? await httpClient?.shutdown() })
    } catch {
      try? await httpClient?.shutdown()
      throw error
    }
  }

  /// The chain part of `connect`, once the options and the key are checked.
  private static func establish(
    options: PersistenceOptions,
    checked: (account: EthereumAddress?, marketplace: EthereumAddress?, rewardRecipient: EthereumAddress?),
    key: CodexMarket.PrivateKey, dataDir: String?, logger: Logger, probeTimeoutSeconds: Int64,
    factory: @escaping ProviderFactory, onClose: @escaping @Sendable () async -> Void
  ) async throws(MarketplaceStartError) -> NodeMarketplace {
    let started = ContinuousClock.now
    // Every endpoint is probed at once; the first that answers eth_chainId sets the chain, and the failover
    // provider then holds every endpoint to it.
    let probes = await withTaskGroup(of: (Int, Result<UInt64, EthereumError>).self) { group in
      for (i, url) in options.ethProviders.enumerated() {
        group.addTask {
          do throws(EthereumError) {
            return (i, .success(try await EthereumClient(provider: factory(url, probeTimeoutSeconds, true)).chainID()))
          } catch {
            return (i, .failure(error))
          }
        }
      }
      // The chain is the one of the first endpoint in configured order that answers: a later endpoint's answer is
      // used only once every earlier one has failed (deterministic even if endpoints disagree on the chain).
      var results = [Result<UInt64, EthereumError>?](repeating: nil, count: options.ethProviders.count)
      for await (i, result) in group {
        results[i] = result
        for r in results {
          guard let r else { break }
          if case .success(let id) = r {
            group.cancelAll()
            return (chainID: Optional(id), results: results)
          }
        }
      }
      return (chainID: UInt64?.none, results: results)
    }
    let chainID = probes.chainID
    var failures: [MarketplaceStartError.ProviderFailure] = []
    for (url, result) in zip(options.ethProviders, probes.results) {
      if case .failure(let e)? = result { failures.append(.init(url: url, reason: Self.shortReason(e))) }
    }
    guard let chainID else { throw .noProviderReachable(tried: failures) }
    let failover = FailoverProvider(
      options.ethProviders.map { factory($0, 30, false) }, expectedChainID: chainID, logger: logger)
    let client = EthereumClient(provider: failover)

    guard
      let marketplace = checked.marketplace
        ?? PersistenceOptions.knownMarketplaces[chainID].flatMap({
          EthereumAddress(hex: $0)
        })
    else { throw .unknownChain(chainID: chainID) }

    do {
      let code = try await failover.request("eth_getCode", [.string(marketplace.hex), .string("latest")])
      guard let hex = code.stringValue, let bytes = try? Hex.decode(hex), !bytes.isEmpty else {
        throw MarketplaceStartError.noContractCode(
          address: marketplace.checksummed, chainID: chainID, endpoint: await failover.currentEndpoint)
      }
    } catch let e as MarketplaceStartError {
      throw e
    } catch {
      throw .ethereum("eth_getCode: \(error)")
    }

    let sender: TransactionSender
    do {
      sender = try await TransactionSender(
        key: key, client: client, chainID: chainID,
        nonceStorePath: dataDir.map { "\($0)/marketplace-nonce-\(chainID)-\(key.address.hex).json" },
        feePolicy: FeePolicy(maxPriorityFeePerGas: UInt256(options.maxPriorityFeePerGas)), logger: logger)
    } catch { throw .ethereum("\(error)") }
    let market = OnChainMarket(address: marketplace, sender: sender, logger: logger)
    let configuration: MarketplaceConfig
    let token: EthereumAddress
    do {
      configuration = try await market.configuration()
      token = try await market.token()
    } catch {
      switch error {
      case .ethereum(let e): throw .ethereum("\(e)")
      default: throw .notAMarketplace(address: marketplace.checksummed, reason: "\(error)")
      }
    }
    let elapsed = ContinuousClock.now - started
    let node = NodeMarketplace(
      options: options, chainID: chainID, account: key.address, marketplaceAddress: marketplace, tokenAddress: token,
      configuration: configuration, market: market, client: client, startupDuration: elapsed,
      endpointInUse: { await failover.currentEndpoint }, onClose: onClose)
    let endpoint = await failover.currentEndpoint
    logger.notice(
      "marketplace connected",
      metadata: [
        "chainId": "\(chainID)", "account": "\(key.address)", "marketplace": "\(marketplace)", "token": "\(token)",
        "provider": "\(endpoint)", "validator": "\(options.validator)",
        "periodSeconds": "\(configuration.proofs.period)", "startupMs": "\(elapsed.milliseconds)",
      ])
    return node
  }

  /// A one-line reason for a failed endpoint.
  static func shortReason(_ error: EthereumError) -> String {
    switch error {
    case .unreachable(_, let reason):
      let lower = reason.lowercased()
      if lower.contains("connection refused") { return "connection refused" }
      if lower.contains("deadline") || lower.contains("timed out") || lower.contains("timeout") { return "timed out" }
      return reason
    default: return error.description
    }
  }

  /// What `/debug/info` shows: identity of chain, account and contracts, and live balances (nil with
  /// `balanceError` set when the chain does not answer within `timeout`).
  public func status(timeout: Duration = .seconds(5)) async -> MarketplaceStatus {
    let account = self.account
    let client = self.client
    let market = self.market
    let balances: Result<(UInt256, UInt256), any Error> = await Self.withTimeout(timeout) {
      async let eth = client.balance(of: account)
      async let tokens = market.tokenBalance(of: account)
      return (try await eth, try await tokens)
    }
    var s = MarketplaceStatus(
      chainId: chainID, account: account.checksummed, marketplaceAddress: marketplaceAddress.checksummed,
      tokenAddress: tokenAddress.checksummed, provider: await endpointInUse(), providers: options.ethProviders,
      validator: options.validator, configuration: .init(configuration))
    switch balances {
    case .success(let (eth, tokens)):
      s.ethBalance = eth.description
      s.tokenBalance = tokens.description
    case .failure(let e):
      s.balanceError = "\(e)"
    }
    return s
  }

  struct TimedOut: Error, CustomStringConvertible {
    let after: Duration
    var description: String { "the Ethereum provider did not answer within \(after)" }
  }

  static func withTimeout<T: Sendable>(
    _ limit: Duration, _ body: @escaping @Sendable () async throws -> T
  ) async -> Result<T, any Error> {
    await withTaskGroup(of: Result<T, any Error>?.self) { group in
      group.addTask {
        do { return .success(try await body()) } catch { return .failure(error) }
      }
      group.addTask {
        try? await Task.sleep(for: limit)
        return Task.isCancelled ? nil : .failure(TimedOut(after: limit))
      }
      var result: Result<T, any Error> = .failure(TimedOut(after: limit))
      for await r in group {
        if let r {
          result = r
          break
        }
      }
      group.cancelAll()
      return result
    }
  }
}

/// The `marketplace` section of `/debug/info` (an extension of nim-codex's shape). Amounts are decimal wei strings.
public struct MarketplaceStatus: Sendable, Codable, Equatable {
  /// The contract configuration fields a person checks first.
  public struct Configuration: Sendable, Codable, Equatable {
    public var periodSeconds: UInt64
    public var timeoutSeconds: UInt64
    public var downtime: UInt8
    public var downtimeProduct: UInt8
    public var maxReservations: UInt8
    public var requestDurationLimit: UInt64
    public var repairRewardPercentage: UInt8
    public var maxNumberOfSlashes: UInt8
    public var slashPercentage: UInt8
    public var validatorRewardPercentage: UInt8
    public var zkeyHash: String

    public init(_ c: MarketplaceConfig) {
      periodSeconds = c.proofs.period
      timeoutSeconds = c.proofs.timeout
      downtime = c.proofs.downtime
      downtimeProduct = c.proofs.downtimeProduct
      maxReservations = c.maxReservations
      requestDurationLimit = c.requestDurationLimit
      repairRewardPercentage = c.collateral.repairRewardPercentage
      maxNumberOfSlashes = c.collateral.maxNumberOfSlashes
      slashPercentage = c.collateral.slashPercentage
      validatorRewardPercentage = c.collateral.validatorRewardPercentage
      zkeyHash = c.proofs.zkeyHash
    }
  }

  public var chainId: UInt64
  /// EIP-55 address of the signing account.
  public var account: String
  /// ETH balance of the account in wei.
  public var ethBalance: String? = nil
  /// Marketplace-token balance of the account in the token's smallest unit.
  public var tokenBalance: String? = nil
  /// Why the balances are missing, when they are.
  public var balanceError: String? = nil
  public var marketplaceAddress: String
  public var tokenAddress: String
  /// The endpoint currently used.
  public var provider: String
  /// Every configured endpoint, in failover order.
  public var providers: [String]
  public var validator: Bool
  public var configuration: Configuration
}

extension Duration {
  fileprivate var milliseconds: Int64 {
    let (s, a) = components
    return s * 1000 + a / 1_000_000_000_000_000
  }
}
