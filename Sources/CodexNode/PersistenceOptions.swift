import CodexMarket

/// The `persistence` subcommand's options (`rest-and-cli.md` §5.3), as resolved from the command line, the
/// environment and the config file. `validate()` applies the spec's rules.
public struct PersistenceOptions: Sendable, Equatable {
  /// JSON-RPC endpoints in order of preference; several mean failover (an extension of nim-codex, which takes one).
  /// nim-codex's default is `ws://localhost:8545`; this client speaks HTTP only, so ours is `http://localhost:8545`.
  public var ethProviders: [String] = ["http://localhost:8545"]
  /// `--eth-account`. nim-codex, given only an account, signs through the provider (its unlocked account, i.e.
  /// `eth_sendTransaction`); this node signs locally, so it needs `--eth-private-key` and only checks that the key's
  /// address equals this one.
  public var ethAccount: String? = nil
  /// `--eth-private-key`: path of the hex key file (mode 0600).
  public var ethPrivateKeyFile: String? = nil
  /// `--marketplace-address`: else chosen by chain id (`marketplace.md` §1.2).
  public var marketplaceAddress: String? = nil
  /// `--validator`.
  public var validator: Bool = false
  /// `--validator-max-slots`: 0 = unlimited.
  public var validatorMaxSlots: Int = 1000
  /// `--validator-groups`: 2…65535, or nil.
  public var validatorGroups: Int? = nil
  /// `--validator-group-index`: < `validatorGroups`.
  public var validatorGroupIndex: Int = 0
  /// `--reward-recipient`: payout address for `freeSlot`.
  public var rewardRecipient: String? = nil
  /// `--max-priority-fee-per-gas` (hidden upstream): the EIP-1559 tip in wei.
  public var maxPriorityFeePerGas: UInt64 = 1_000_000_000

  public init() {}

  /// Known Marketplace deployments by chain id (`marketplace.md` §1.2, nim-codex `deployment.nim`).
  public static let knownMarketplaces: [UInt64: String] = [
    31337: "0x322813Fd9A801c5507c9de605d63CEA4f2CE6c44",
    167005: "0x948CF9291b77Bd7ad84781b9047129Addf1b894F",
    789987: "0x5378a4EA5dA2a548ce22630A3AE74b052000C62D",
    1_660_990_954: "0x34F606C65869277f236ce07aBe9af0B8c88F486B",
  ]

  /// Checks every rule that needs no chain: an account source, provider URL schemes, address syntax, validator
  /// group bounds. Returns the parsed addresses.
  /// - Throws: `MarketplaceStartError` (`.noAccount`, `.invalidOption`, `.providerAccountUnsupported`).
  public func validate() throws(MarketplaceStartError) -> (
    account: EthereumAddress?, marketplace: EthereumAddress?, rewardRecipient: EthereumAddress?
  ) {
    guard ethAccount != nil || ethPrivateKeyFile != nil else { throw .noAccount }
    guard !ethProviders.isEmpty else { throw .invalidOption("--eth-provider: give at least one JSON-RPC URL") }
    for url in ethProviders {
      let lower = url.lowercased()
      if lower.hasPrefix("ws://") || lower.hasPrefix("wss://") {
        throw .invalidOption(
          "--eth-provider \(url): WebSocket endpoints are not supported by this node; give the HTTP JSON-RPC URL "
            + "(e.g. http://localhost:8545)")
      }
      guard lower.hasPrefix("http://") || lower.hasPrefix("https://"), url.count > 8 else {
        throw .invalidOption("--eth-provider '\(url)' is not an http:// or https:// URL")
      }
    }
    func address(_ option: String, _ text: String?) throws(MarketplaceStartError) -> EthereumAddress? {
      guard let text else { return nil }
      guard let a = EthereumAddress(hex: text) else {
        throw .invalidOption("--\(option) '\(text)' is not an Ethereum address (0x + 40 hex digits, valid EIP-55 case)")
      }
      return a
    }
    let account = try address("eth-account", ethAccount)
    let marketplace = try address("marketplace-address", marketplaceAddress)
    let reward = try address("reward-recipient", rewardRecipient)
    guard validatorMaxSlots >= 0 else {
      throw .invalidOption("--validator-max-slots must be 0 (unlimited) or more, not \(validatorMaxSlots)")
    }
    if let g = validatorGroups {
      guard (2...65535).contains(g) else { throw .invalidOption("--validator-groups must be in 2…65535, not \(g)") }
      guard (0..<g).contains(validatorGroupIndex) else {
        throw .invalidOption(
          "--validator-group-index \(validatorGroupIndex) must be in 0…\(g - 1) (below --validator-groups \(g))")
      }
    } else if validatorGroupIndex != 0 {
      throw .invalidOption("--validator-group-index \(validatorGroupIndex) needs --validator-groups")
    }
    if ethPrivateKeyFile == nil, let ethAccount { throw .providerAccountUnsupported(account: ethAccount) }
    return (account, marketplace, reward)
  }
}
