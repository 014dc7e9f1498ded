import ArgumentParser
import CodexAPI
import CodexNode
import CodexStore
import Foundation
import Hummingbird
import Logging
import Metrics
import NIOCore
import Prometheus
import ServiceLifecycle
import UnixSignals

/// `codex [options]`: runs a node. Option names and defaults follow nim-codex (`rest-and-cli.md` §5).
/// `codex [options] persistence [options]` runs it with the marketplace (`PersistenceCommand`).
struct DaemonCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "daemon",
    abstract:
      "Run a Codex node (the default when no subcommand is given); `codex [options] persistence [options]` adds the "
      + "marketplace.",
    discussion: """
      Every option can also come from the environment (CODEX_ + the option name in upper case with - as _, e.g. \
      CODEX_DATA_DIR) or from a TOML --config-file whose keys are the option names. Command line beats \
      environment beats file.
      """,
    subcommands: [PersistenceCommand.self])

  @OptionGroup var options: NodeOptions

  func run() async throws {
    let resolved: (config: NodeConfig, sources: SettingSources)
    do { resolved = try options.resolveWithSources() } catch let e as SettingSources.ConfigError {
      throw ValidationError(e.description)
    }
    try await Self.runNode(
      config: resolved.config, persistence: nil,
      warnings: [resolved.sources.unusedFileKeysWarning()].compactMap { $0 })
  }
}

/// The global (node) options, shared by `codex` and `codex persistence`: they may stand before or after the
/// subcommand name.
struct NodeOptions: ParsableArguments {
  @Option(help: "TOML configuration file.") var configFile: String?
  @Option(help: "Log level: trace, debug, info, notice, warn, error, fatal (default info).") var logLevel: String?
  @Option(help: "Log format: auto, colors, nocolors, json, none (default auto).") var logFormat: String?
  @Flag(help: "Serve Prometheus metrics.") var metrics = false
  @Option(help: "Metrics listen address (default 127.0.0.1).") var metricsAddress: String?
  @Option(help: "Metrics port (default 8008).") var metricsPort: String?
  @Option(name: [.customShort("d"), .long], help: "Data directory (default ~/.cache/codex).") var dataDir: String?
  @Option(name: [.customShort("i"), .long], help: "Listen multiaddrs (repeatable, default /ip4/0.0.0.0/tcp/0).")
  var listenAddrs: [String] = []
  @Option(help: "NAT: any, none, extip:<IP> (default any).") var nat: String?
  @Option(name: [.customShort("u"), .long], help: "UDP discovery port (default 8090).") var discPort: String?
  @Option(help: "Node key file, relative to the data directory unless absolute (default key).") var netPrivkey: String?
  @Option(
    name: [.customShort("b"), .long],
    help: "Bootstrap node: an spr: record or a multiaddr ending in /p2p/<peer id> (repeatable).") var bootstrapNode:
    [String] = []
  @Option(help: "Maximum connected peers (default 160).") var maxPeers: String?
  @Option(help: "Worker threads, 0 = CPU cores (default 0).") var numThreads: String?
  @Option(help: "Identify agent string (default Codex).") var agentString: String?
  @Option(help: "REST API bind address (default 127.0.0.1).") var apiBindaddr: String?
  @Option(name: [.customShort("p"), .long], help: "REST API port (default 8080).") var apiPort: String?
  @Option(help: "CORS origin for the REST API; * allows all (default: no CORS headers).") var apiCorsOrigin: String?
  @Option(
    help:
      "Close a REST connection silent this long with no request, or in an upload that stopped sending, e.g. 2m; 0 never (default 2m)."
  )
  var apiIdleTimeout: String?
  @Option(help: "Repo backend (only the built-in pack/SQLite repo is supported; fs, sqlite and leveldb map to it).")
  var repoKind: String?
  @Option(name: [.customShort("q"), .long], help: "Storage quota, e.g. 20GiB (default 20GiB).") var storageQuota:
    String?
  @Option(
    name: [.customShort("t"), .long],
    help: "Block TTL, e.g. 30d (default 30d). 0 means blocks expire at the next maintenance cycle, as in nim-codex.")
  var blockTtl: String?
  @Option(help: "Block maintenance interval, e.g. 10m (default 10m).") var blockMi: String?
  @Option(help: "Expired datasets (each whole) and blocks deleted per maintenance cycle (default 1000).")
  var blockMn: String?
  @Option(help: "Block-exchange retries per block (default 3000).") var blockRetries: String?
  /// Swift extension, hidden: block-exchange serving passes of one peer at once (`ExchangeConfig.maxPassesPerPeer`).
  @Option(help: .hidden) var blockPasses: String?
  @Option(name: [.customShort("c"), .long], help: "Block cache size (default 0, disabled).") var cacheSize: String?

  /// Resolves every option from the command line, environment and config file.
  func resolve(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> NodeConfig {
    try resolveWithSources(environment: environment).config
  }

  /// `resolve`, and the sources it read (which know the config file's keys no option asked for).
  func resolveWithSources(
    environment: [String: String] = ProcessInfo.processInfo.environment
  ) throws -> (config: NodeConfig, sources: SettingSources) {
    let src = try SettingSources(configFile: configFile, environment: environment)
    var c = NodeConfig(
      dataDir: try src.string("data-dir", cli: dataDir).map(Self.expandTilde) ?? NodeConfig.defaultDataDir)
    func int(_ name: String, _ cli: String?, _ range: ClosedRange<Int>) throws -> Int? {
      guard let s = try src.string(name, cli: cli) else { return nil }
      guard let v = Int(s), range.contains(v) else {
        throw SettingSources.ConfigError(description: "--\(name): '\(s)' must be a whole number in \(range)")
      }
      return v
    }
    c.logLevel = try src.string("log-level", cli: logLevel) ?? c.logLevel
    c.logFormat = try src.string("log-format", cli: logFormat) ?? c.logFormat
    c.metricsEnabled = try src.flag("metrics", cli: metrics)
    c.metricsAddress = try src.string("metrics-address", cli: metricsAddress) ?? c.metricsAddress
    c.metricsPort = try int("metrics-port", metricsPort, 0...65535) ?? c.metricsPort
    c.listenAddresses = try src.list("listen-addrs", cli: listenAddrs) ?? c.listenAddresses
    c.nat = try src.string("nat", cli: nat) ?? c.nat
    c.discoveryPort = try int("disc-port", discPort, 0...65535) ?? c.discoveryPort
    c.netPrivKeyFile = try src.string("net-privkey", cli: netPrivkey) ?? c.netPrivKeyFile
    c.bootstrapNodes = try src.list("bootstrap-node", cli: bootstrapNode) ?? c.bootstrapNodes
    for text in c.bootstrapNodes {
      do { _ = try BootstrapNode(text: text) } catch {
        throw SettingSources.ConfigError(description: error.description)
      }
    }
    c.maxPeers = try int("max-peers", maxPeers, 1...100_000) ?? c.maxPeers
    c.agentString = try src.string("agent-string", cli: agentString) ?? c.agentString
    c.apiBindAddress = try src.string("api-bindaddr", cli: apiBindaddr) ?? c.apiBindAddress
    c.apiPort = try int("api-port", apiPort, 0...65535) ?? c.apiPort
    c.apiCorsOrigin = try src.string("api-cors-origin", cli: apiCorsOrigin)
    if let t = try src.string("api-idle-timeout", cli: apiIdleTimeout) {
      c.apiIdleTimeout = try SettingSources.parseDuration(t, option: "api-idle-timeout")
    }
    if let q = try src.string("storage-quota", cli: storageQuota) {
      c.storageQuota = try SettingSources.parseSize(q, option: "storage-quota")
    }
    if let t = try src.string("block-ttl", cli: blockTtl) {
      c.blockTTL = try SettingSources.parseDuration(t, option: "block-ttl")
    }
    if let t = try src.string("block-mi", cli: blockMi) {
      c.blockMaintenanceInterval = try SettingSources.parseDuration(t, option: "block-mi")
      guard c.blockMaintenanceInterval > .zero else {
        throw SettingSources.ConfigError(description: "--block-mi must be longer than zero")
      }
    }
    c.blockMaintenanceBatch = try int("block-mn", blockMn, 1...10_000_000) ?? c.blockMaintenanceBatch
    _ = try int("num-threads", numThreads, 0...256)
    c.blockRetries = try int("block-retries", blockRetries, 0...1_000_000) ?? c.blockRetries
    c.blockPassesPerPeer = try int("block-passes", blockPasses, 1...64) ?? c.blockPassesPerPeer
    _ = try int("cache-size", cacheSize, 0...Int.max)
    if let kind = try src.string("repo-kind", cli: repoKind), !["fs", "sqlite", "leveldb"].contains(kind) {
      throw SettingSources.ConfigError(description: "--repo-kind: '\(kind)' is not one of fs, sqlite, leveldb")
    }
    _ = try LogSetup.level(c.logLevel)
    try LogSetup.checkFormat(c.logFormat)
    do { try NodeNetwork.checkOptions(c) } catch let e as NodeNetwork.StartError {
      throw SettingSources.ConfigError(description: e.description)
    }
    return (c, src)
  }

  static func expandTilde(_ path: String) -> String {
    guard path.hasPrefix("~") else { return path }
    return FileManager.default.homeDirectoryForCurrentUser.path + path.dropFirst()
  }

}

extension DaemonCommand {
  /// True for the errors of binding a server to an address that is not this machine's: a name or text that does
  /// not resolve (`SocketAddressError`) or an IP address no interface has (EADDRNOTAVAIL).
  static func isUnusableBindAddress(_ error: any Error) -> Bool {
    if error is SocketAddressError || error is SocketAddressError.UnknownHost { return true }
    return (error as? IOError)?.errnoCode == EADDRNOTAVAIL
  }

  /// Runs the node until SIGTERM/SIGINT. With `persistence`, the marketplace is connected and checked first; a
  /// failure there is logged as one line saying what to fix and exits with status 1.
  /// `warnings` (about the configuration) are logged once logging is set up.
  static func runNode(config: NodeConfig, persistence: PersistenceOptions?, warnings: [String] = []) async throws {
    MallocTuning.apply()
    let logLevel = LogLevelControl(try LogSetup.level(config.logLevel))
    try LogSetup.bootstrap(control: logLevel, format: config.logFormat)
    let logger = Logger(label: "codex")
    for warning in warnings { logger.warning("\(warning)") }

    var registry: PrometheusCollectorRegistry? = nil
    if config.metricsEnabled {
      let r = PrometheusCollectorRegistry()
      MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: r))
      registry = r
    }

    // One node per data dir: a second one fails here, before it touches the marketplace state, the keys or the repo.
    let dataDirLock: DirectoryLock
    do {
      try DataDirectory.prepare(config.dataDir)
      dataDirLock = try DirectoryLock(directory: config.dataDir)
    } catch {
      logger.critical("cannot start the node: \(error)")
      throw ExitCode.failure
    }
    defer { dataDirLock.release() }

    var marketplace: NodeMarketplace? = nil
    if let persistence {
      do {
        marketplace = try await NodeMarketplace.connect(options: persistence, dataDir: config.dataDir, logger: logger)
        if persistence.validator {
          logger.warning(
            "--validator: the validator is not built yet; the node only reports the flag in /debug/info")
        }
      } catch {
        logger.critical("cannot start the marketplace: \(error.description)")
        throw ExitCode.failure
      }
    }
    let node: CodexNode
    do { node = try CodexNode(config: config, logger: logger, marketplace: marketplace) } catch {
      logger.critical("cannot start the node", metadata: ["error": "\(error)"])
      await marketplace?.close()
      throw ExitCode.failure
    }
    do { try await node.start() } catch {
      if let e = error as? IOError, e.errnoCode == EADDRINUSE {
        let addrs = config.listenAddresses.joined(separator: ", ")
        logger.critical(
          "cannot start the network: a listen address (\(addrs)) is already in use (is another node running?); choose another with --listen-addrs",
          metadata: ["error": "\(error)"])
      } else {
        logger.critical("cannot start the network", metadata: ["error": "\(error)"])
      }
      await node.close()
      await marketplace?.close()
      throw ExitCode.failure
    }
    let api = CodexAPI.application(
      node: node, logger: logger,
      setLogLevel: { spec in if let level = try LogSetup.mainLevel(spec) { logLevel.level = level } }
    ) { channel in
      logger.notice(
        "REST API listening",
        metadata: ["address": "\(channel.localAddress?.description ?? "?")", "dataDir": "\(config.dataDir)"])
    }
    var services: [any Service] = [api, MaintenanceService(node: node)]
    if let registry {
      let router = Router()
      router.get("metrics") { _, _ in
        await node.exportMetrics()
        return Response(
          status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
          body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
      }
      services.append(
        Application(
          router: router,
          configuration: .init(
            address: .hostname(config.metricsAddress, port: config.metricsPort), serverName: "codex-metrics"),
          logger: logger))
    }
    let group = ServiceGroup(
      configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
    var failed = false
    var stopped: Logger.Message = "node stopped"
    do {
      try await Self.runEscalating(group, logger: logger)
    } catch is CancellationError {
      stopped = "node stopped (requests in progress were aborted)"
    } catch let error as IOError where error.errnoCode == EADDRINUSE {
      var taken = "the REST API's \(config.apiBindAddress):\(config.apiPort)"
      if registry != nil { taken += " or the metrics' \(config.metricsAddress):\(config.metricsPort)" }
      let options = registry != nil ? "--api-port or --metrics-port" : "--api-port"
      logger.error(
        "node stopped: \(taken) is already in use (is another node running?); choose another port with \(options)",
        metadata: ["error": "\(error)"])
      failed = true
    } catch let error where Self.isUnusableBindAddress(error) {
      var which = "--api-bindaddr '\(config.apiBindAddress)'"
      if registry != nil { which += " or --metrics-address '\(config.metricsAddress)'" }
      logger.error(
        "node stopped: \(which) is not an address of this machine; use 127.0.0.1 (this machine only), 0.0.0.0 (every interface) or one of its own IP addresses",
        metadata: ["error": "\(error)"])
      failed = true
    } catch {
      logger.error("node stopped with an error", metadata: ["error": "\(error)"])
      failed = true
    }
    await node.close()
    await marketplace?.close()
    guard !failed else { throw ExitCode.failure }
    logger.notice(stopped)
  }
}

extension DaemonCommand {
  /// Runs `group` until it ends. The first SIGINT/SIGTERM shuts it down gracefully (requests in progress, e.g. a
  /// long upload, are finished first); a second one cancels it, aborting those requests (an aborted upload leaves
  /// nothing behind). Throws `CancellationError` when it was cancelled that way.
  static func runEscalating(_ group: ServiceGroup, logger: Logger) async throws {
    let run = Task { try await group.run() }
    let escalation = Task {
      var signals = 0
      for await signal in await UnixSignalsSequence(trapping: .sigterm, .sigint) {
        signals += 1
        if signals == 1 {
          logger.notice(
            "stopping (requests in progress are finished first; send \(signal) again to abort them and stop now)")
        } else {
          logger.warning("stopping now: aborting the requests in progress")
          run.cancel()
          return
        }
      }
    }
    defer { escalation.cancel() }
    try await withTaskCancellationHandler {
      try await run.value
    } onCancel: {
      run.cancel()
    }
  }
}

/// Runs the repo's block maintenance until shutdown.
struct MaintenanceService: Service {
  let node: CodexNode
  func run() async throws {
    await cancelWhenGracefulShutdown { await node.runMaintenance() }
  }
}
