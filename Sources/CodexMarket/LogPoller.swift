/// Polls `eth_getLogs` with a block cursor: each `poll()` returns the logs of blocks not seen before, in order.
/// The cursor (next block to read) can be saved and restored by the caller.
public struct LogPoller: Sendable {
  public let client: EthereumClient
  public let filter: LogFilter
  /// The next block to read.
  public private(set) var cursor: UInt64
  /// At most this many blocks per `eth_getLogs` request.
  public var maxRange: UInt64 = 2000

  public init(client: EthereumClient, filter: LogFilter, fromBlock: UInt64) {
    self.client = client
    self.filter = filter
    self.cursor = fromBlock
  }

  /// Logs from `cursor` up to the latest block; advances the cursor past it.
  public mutating func poll() async throws(EthereumError) -> [EthereumLog] {
    let head = try await client.blockNumber()
    var out: [EthereumLog] = []
    while cursor <= head {
      let end = min(head, cursor + maxRange - 1)
      out += try await client.logs(filter, from: cursor, to: end)
      cursor = end + 1
    }
    return out.sorted { ($0.blockNumber, $0.logIndex) < ($1.blockNumber, $1.logIndex) }
  }
}
