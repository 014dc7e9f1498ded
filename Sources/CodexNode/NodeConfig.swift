import Foundation

/// Everything a node needs to start, resolved from the command line, the environment and the config file.
public struct NodeConfig: Sendable, Equatable {
  /// The data directory (created with mode 0700).
  public var dataDir: String
  public var apiBindAddress: String = "127.0.0.1"
  public var apiPort: Int = 8080
  /// `nil`: no CORS headers; otherwise the `Access-Control-Allow-Origin` value.
  public var apiCorsOrigin: String? = nil
  /// How long a REST connection may go without receiving anything while it has no request, or while a request's
  /// body is still arriving (an upload that stopped sending), before the node closes it; a request being answered
  /// is never cut. `.zero`: never (`--api-idle-timeout`, a Swift option).
  public var apiIdleTimeout: Duration = .seconds(120)
  public var storageQuota: UInt64 = 20 * 1024 * 1024 * 1024
  public var blockTTL: Duration = .seconds(30 * 24 * 3600)
  public var blockMaintenanceInterval: Duration = .seconds(600)
  public var blockMaintenanceBatch: Int = 1000
  public var metricsEnabled: Bool = false
  public var metricsAddress: String = "127.0.0.1"
  public var metricsPort: Int = 8008
  public var listenAddresses: [String] = ["/ip4/0.0.0.0/tcp/0"]
  public var nat: String = "any"
  public var discoveryPort: Int = 8090
  public var netPrivKeyFile: String = "key"
  public var bootstrapNodes: [String] = []
  public var maxPeers: Int = 160
  /// Passes of the block-exchange download loop without any provider before a block request fails
  /// (`--block-retries`, nim-codex's default 3000).
  public var blockRetries: Int = 3000
  /// Block-exchange serving passes of one peer running at once (`--block-passes`, a hidden Swift option; nil: the
  /// engine's default, `ExchangeConfig.maxPassesPerPeer`).
  public var blockPassesPerPeer: Int? = nil
  public var agentString: String = "Codex"
  public var logLevel: String = "info"
  public var logFormat: String = "auto"

  public init(dataDir: String) { self.dataDir = dataDir }

  /// `~/.cache/codex` on Linux, `~/Library/Application Support/Codex` on macOS (as nim-codex).
  public static var defaultDataDir: String {
    let home = FileManager.default.homeDirectoryForCurrentUser.path
    #if os(macOS)
      return home + "/Library/Application Support/Codex"
    #else
      return home + "/.cache/codex"
    #endif
  }

  /// The repo directory inside the data directory.
  public var repoDir: String { dataDir + "/repo" }
}
