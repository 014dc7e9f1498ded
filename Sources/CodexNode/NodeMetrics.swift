import CodexExchange
import CodexStore
import Metrics
import Synchronization

/// Block-exchange figures exported as Prometheus metrics at each scrape (`CodexNode.exportMetrics()`): the engine
/// keeps plain counters (no metrics calls on its hot path); the counters here advance by what the engine counted
/// since the last scrape. Names follow nim-codex where it has the metric (`codex_block_exchange_blocks_sent`,
/// `codex_block_exchange_blocks_received`).
final class NodeMetrics: Sendable {
  private let exported = Mutex(BlockExchangeEngine.Stats())

  /// The exported counters and the engine figure each counts.
  private static let counters: [(label: String, field: WritableKeyPath<BlockExchangeEngine.Stats, Int> & Sendable)] = [
    ("codex_block_exchange_blocks_sent", \.blocksSent),
    ("codex_block_exchange_blocks_received", \.blocksReceived),
    ("codex_block_exchange_blocks_not_stored", \.blocksNotStored),
    ("codex_block_exchange_messages_received", \.messagesReceived),
    ("codex_block_exchange_delivery_messages_sent", \.deliveryMessagesSent),
    ("codex_block_exchange_rejected_deliveries", \.rejectedDeliveries),
    ("codex_block_exchange_malformed_messages", \.malformedMessages),
    ("codex_block_exchange_peers_evicted", \.peersEvicted),
  ]

  /// Advances the counters to `stats` and sets the gauges.
  func export(_ stats: BlockExchangeEngine.Stats, connectedPeers: Int, runningDownloads: Int, promised: QuotaHold) {
    exported.withLock { last in
      for (label, field) in Self.counters {
        let counter = Counter(label: label)  // registered (and exported as 0) from the first scrape on
        if stats[keyPath: field] > last[keyPath: field] {
          counter.increment(by: Int64(stats[keyPath: field] - last[keyPath: field]))
          last[keyPath: field] = stats[keyPath: field]
        }
      }
    }
    Gauge(label: "codex_block_exchange_connected_peers").record(connectedPeers)
    Gauge(label: "codex_network_downloads_running").record(runningDownloads)
    // Quota the running downloads and sized uploads will still take (others are refused what they hold).
    Gauge(label: "codex_quota_promised_bytes").record(Int64(clamping: promised.bytes))
    Gauge(label: "codex_quota_promised_uploads").record(promised.uploads)
  }
}
