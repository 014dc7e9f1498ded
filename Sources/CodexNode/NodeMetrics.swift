import CodexExchange
import Metrics
import Synchronization

/// Block-exchange figures exported as Prometheus metrics at each scrape (`CodexNode.exportMetrics()`): the engine
/// keeps plain counters (no metrics calls on its hot path); the counters here advance by what the engine counted
/// since the last scrape. Names follow nim-codex where it has the metric (`codex_block_exchange_blocks_sent`,
/// `codex_block_exchange_blocks_received`).
final class NodeMetrics: Sendable {
  private let exported = Mutex(BlockExchangeEngine.Stats())

  /// Advances the counters to `stats` and sets the gauges.
  func export(_ stats: BlockExchangeEngine.Stats, connectedPeers: Int, runningDownloads: Int) {
    exported.withLock { last in
      func advance(_ label: String, _ value: Int, _ old: Int) {
        let counter = Counter(label: label)  // registered (and exported as 0) from the first scrape on
        if value > old { counter.increment(by: Int64(value - old)) }
      }
      advance("codex_block_exchange_blocks_sent", stats.blocksSent, last.blocksSent)
      advance("codex_block_exchange_blocks_received", stats.blocksReceived, last.blocksReceived)
      advance("codex_block_exchange_messages_received", stats.messagesReceived, last.messagesReceived)
      advance("codex_block_exchange_delivery_messages_sent", stats.deliveryMessagesSent, last.deliveryMessagesSent)
      advance("codex_block_exchange_rejected_deliveries", stats.rejectedDeliveries, last.rejectedDeliveries)
      advance("codex_block_exchange_malformed_messages", stats.malformedMessages, last.malformedMessages)
      advance("codex_block_exchange_peers_evicted", stats.peersEvicted, last.peersEvicted)
      last.blocksSent = max(last.blocksSent, stats.blocksSent)
      last.blocksReceived = max(last.blocksReceived, stats.blocksReceived)
      last.messagesReceived = max(last.messagesReceived, stats.messagesReceived)
      last.deliveryMessagesSent = max(last.deliveryMessagesSent, stats.deliveryMessagesSent)
      last.rejectedDeliveries = max(last.rejectedDeliveries, stats.rejectedDeliveries)
      last.malformedMessages = max(last.malformedMessages, stats.malformedMessages)
      last.peersEvicted = max(last.peersEvicted, stats.peersEvicted)
    }
    Gauge(label: "codex_block_exchange_connected_peers").record(connectedPeers)
    Gauge(label: "codex_network_downloads_running").record(runningDownloads)
  }
}
