import Foundation

/// A source of "now" in seconds since the Unix epoch.
public protocol MarketClock: Sendable {
  func now() async throws -> UInt64
}

/// Follows block timestamps: `now = wall clock + offset`, with `offset = latest block timestamp − wall time`,
/// refreshed at most every `refreshInterval` seconds. On a dev chain block time can run ahead of wall time
/// (time travel); this clock follows the chain.
public actor ChainClock: MarketClock {
  private let client: EthereumClient
  private let refreshInterval: Double
  private var offset: Double = 0
  private var lastRefresh: Double = -.infinity

  public init(client: EthereumClient, refreshInterval: Double = 1) {
    self.client = client
    self.refreshInterval = refreshInterval
  }

  static func wall() -> Double { Date().timeIntervalSince1970 }

  /// Re-reads the latest block's timestamp.
  public func refresh() async throws(EthereumError) {
    let header = try await client.block(.latest)
    let w = Self.wall()
    offset = Double(header.timestamp) - w
    lastRefresh = w
  }

  /// Chain time now (whole seconds). The chain can only be ahead of its latest block, never behind it.
  public func now() async throws -> UInt64 {
    if Self.wall() - lastRefresh >= refreshInterval { try await refresh() }
    return UInt64(max(0, Self.wall() + offset))
  }

  /// Sleeps until chain time reaches `timestamp`, re-reading the chain as it goes.
  public func wait(until timestamp: UInt64, pollMilliseconds: Int64 = 250) async throws {
    while try await now() < timestamp {
      try await Task.sleep(for: .milliseconds(pollMilliseconds))
      try await refresh()
    }
  }
}
