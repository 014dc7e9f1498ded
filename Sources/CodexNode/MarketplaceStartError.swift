/// Why the node could not join the marketplace at start-up (`persistence` subcommand). Each case says what to fix;
/// the daemon logs `description` as one line and exits non-zero.
public enum MarketplaceStartError: Error, Sendable, Hashable, CustomStringConvertible {
  /// An option value is invalid (the text names the option and the accepted values).
  case invalidOption(String)
  /// Neither `--eth-account` nor `--eth-private-key` was given.
  case noAccount
  /// `--eth-account` without a key: nim-codex signs with the provider's unlocked account; this client signs locally.
  case providerAccountUnsupported(account: String)
  /// `--eth-account` names another account than the one of `--eth-private-key`.
  case accountMismatch(given: String, key: String)
  /// The Ethereum private-key file cannot be used (missing, loose permissions, not a key).
  case keyFile(EthereumKeyFileError)
  /// No `--eth-provider` endpoint answered `eth_chainId`; every URL tried with its failure.
  case noProviderReachable(tried: [ProviderFailure])
  /// The chain has no known Marketplace deployment and `--marketplace-address` was not given.
  case unknownChain(chainID: UInt64)
  /// `eth_getCode` is empty at the Marketplace address.
  case noContractCode(address: String, chainID: UInt64, endpoint: String)
  /// The contract at the address did not answer the Marketplace getters.
  case notAMarketplace(address: String, reason: String)
  /// Another Ethereum failure during start-up.
  case ethereum(String)

  /// One endpoint that failed, with the reason.
  public struct ProviderFailure: Sendable, Hashable {
    public var url: String
    public var reason: String
    public init(url: String, reason: String) {
      self.url = url
      self.reason = reason
    }
  }

  public var description: String {
    switch self {
    case .invalidOption(let s): return s
    case .noAccount:
      return "persistence needs an account: give --eth-private-key FILE (a 0600 file holding the hex private key)"
    case .providerAccountUnsupported(let a):
      return
        "--eth-account \(a) without --eth-private-key: nim-codex would sign with the provider's unlocked account, "
        + "which this node does not support (it signs transactions locally); give --eth-private-key FILE with the "
        + "account's key"
    case .accountMismatch(let given, let key):
      return "--eth-account \(given) is not the account of --eth-private-key (\(key)); drop --eth-account or give "
        + "the matching key"
    case .keyFile(let e): return e.description
    case .noProviderReachable(let tried):
      let list = tried.map { "\($0.url) (\($0.reason))" }.joined(separator: ", ")
      return "no Ethereum provider is reachable; tried \(list); start the chain or fix --eth-provider"
    case .unknownChain(let id):
      return "chain id \(id) has no known Marketplace deployment; give --marketplace-address ADDR"
    case .noContractCode(let a, let id, let e):
      return "no contract code at marketplace address \(a) on chain \(id) (\(e)): wrong chain or wrong address; "
        + "fix --marketplace-address or --eth-provider"
    case .notAMarketplace(let a, let r):
      return "the contract at \(a) does not answer as a Codex Marketplace (\(r)); fix --marketplace-address"
    case .ethereum(let s): return "Ethereum provider error during start-up: \(s)"
    }
  }
}
