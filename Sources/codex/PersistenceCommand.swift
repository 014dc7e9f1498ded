import ArgumentParser
import CodexNode
import Foundation

/// `codex [global options] persistence [options]`: runs the node with the marketplace (`rest-and-cli.md` §5.3).
/// Options come from the command line, else `CODEX_*` environment variables, else the TOML config file (keys are
/// the option names), as for the global options.
struct PersistenceCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "persistence",
    abstract: "Run the node with the storage marketplace (Ethereum JSON-RPC provider, account, Marketplace contract).",
    discussion: """
      Start-up fails with one log line saying what to fix when no provider answers, the chain has no known \
      Marketplace deployment and --marketplace-address is not given, the address holds no contract, or the key \
      file is missing, not a key, or not mode 0600.
      """)

  /// The daemon with the global options (given before `persistence`).
  @ParentCommand var daemon: DaemonCommand
  var options: NodeOptions { daemon.options }

  @Option(
    help: ArgumentHelp(
      "Ethereum JSON-RPC endpoint (HTTP). Repeatable or comma-separated: several endpoints of the same chain are "
        + "used with failover (default http://localhost:8545; WebSocket is not supported).",
      valueName: "url"))
  var ethProvider: [String] = []
  @Option(help: "Account address; must match --eth-private-key (provider-managed accounts are not supported).")
  var ethAccount: String?
  @Option(help: ArgumentHelp("File with the account's hex private key; must be mode 0600.", valueName: "file"))
  var ethPrivateKey: String?
  @Option(help: "Marketplace contract address (default: the known deployment of the provider's chain id).")
  var marketplaceAddress: String?
  @Flag(help: "Run the validator.") var validator = false
  @Option(help: "Maximum slots the validator watches, 0 = unlimited (default 1000).") var validatorMaxSlots: String?
  @Option(help: "Split validation into this many groups (2…65535).") var validatorGroups: String?
  @Option(help: "The group this validator covers, below --validator-groups (default 0).") var validatorGroupIndex:
    String?
  @Option(help: "Address paid when this host frees a slot.") var rewardRecipient: String?
  @Option(help: .hidden) var maxPriorityFeePerGas: String?

  /// Resolves the marketplace options from the command line, environment and config file and validates them.
  func resolvePersistence(environment: [String: String] = ProcessInfo.processInfo.environment) throws
    -> PersistenceOptions
  {
    try resolvePersistenceWithSources(environment: environment).options
  }

  /// `resolvePersistence`, and the sources it read (which know the config file's keys no option asked for).
  func resolvePersistenceWithSources(
    environment: [String: String] = ProcessInfo.processInfo.environment
  ) throws -> (options: PersistenceOptions, sources: SettingSources) {
    let src = try SettingSources(configFile: options.configFile, environment: environment)
    func int(_ name: String, _ cli: String?, _ range: ClosedRange<Int>) throws -> Int? {
      guard let s = try src.string(name, cli: cli) else { return nil }
      guard let v = Int(s), range.contains(v) else {
        throw SettingSources.ConfigError(description: "--\(name): '\(s)' must be a whole number in \(range)")
      }
      return v
    }
    var p = PersistenceOptions()
    if let providers = try src.list("eth-provider", cli: ethProvider) {
      let split = providers.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
        .filter { !$0.isEmpty }
      if !split.isEmpty { p.ethProviders = split }
    }
    p.ethAccount = try src.string("eth-account", cli: ethAccount)
    p.ethPrivateKeyFile = try src.string("eth-private-key", cli: ethPrivateKey).map(NodeOptions.expandTilde)
    p.marketplaceAddress = try src.string("marketplace-address", cli: marketplaceAddress)
    p.validator = try src.flag("validator", cli: validator)
    p.validatorMaxSlots = try int("validator-max-slots", validatorMaxSlots, 0...Int(Int32.max)) ?? p.validatorMaxSlots
    p.validatorGroups = try int("validator-groups", validatorGroups, 2...65535)
    p.validatorGroupIndex = try int("validator-group-index", validatorGroupIndex, 0...65534) ?? p.validatorGroupIndex
    p.rewardRecipient = try src.string("reward-recipient", cli: rewardRecipient)
    if let s = try src.string("max-priority-fee-per-gas", cli: maxPriorityFeePerGas) {
      guard let v = UInt64(s) else {
        throw SettingSources.ConfigError(description: "--max-priority-fee-per-gas: '\(s)' must be a number of wei")
      }
      p.maxPriorityFeePerGas = v
    }
    do { _ = try p.validate() } catch { throw SettingSources.ConfigError(description: error.description) }
    return (p, src)
  }

  /// The node's and the marketplace's options, and warnings about the configuration (config-file keys neither
  /// asked for).
  func resolveAll(
    environment: [String: String] = ProcessInfo.processInfo.environment
  ) throws -> (config: NodeConfig, persistence: PersistenceOptions, warnings: [String]) {
    let node = try options.resolveWithSources(environment: environment)
    let market = try resolvePersistenceWithSources(environment: environment)
    let unused = market.sources.unusedFileKeysWarning(alsoAsked: node.sources.askedOptions)
    return (node.config, market.options, [unused].compactMap { $0 })
  }

  func run() async throws {
    let resolved: (config: NodeConfig, persistence: PersistenceOptions, warnings: [String])
    do { resolved = try resolveAll() } catch let e as SettingSources.ConfigError {
      throw ValidationError(e.description)
    }
    try await DaemonCommand.runNode(
      config: resolved.config, persistence: resolved.persistence, warnings: resolved.warnings)
  }
}
