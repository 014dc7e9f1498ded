/// Limits and timers of the block-exchange engine. Defaults are nim-codex's (`blockexc.md` §5) unless noted.
public struct ExchangeConfig: Sendable {
  /// Deliveries per message we send, and the length of the runs of consecutive leaves asked of one peer. nim's
  /// `DefaultMaxBlocksPerMessage` is 20; we use 16 (within what nim peers accept): a receiving swift node hashes a
  /// message's deliveries 16 at a time in vector lanes, and the 4 extra blocks of a 20-block message, hashed one by
  /// one, cost it ~5% more CPU per GiB (measured, 7 alternated 1 GiB pairs). Without AVX-512 they are hashed in
  /// pairs (`SHA256Method.pairs`), which 16 suits as well.
  public var maxBlocksPerMessage = 16
  /// Presences per message.
  public var maxPresencesPerMessage = 1024
  /// Want-list entries per message (`MaxWantListBatchSize`).
  public var maxWantListBatch = 1024
  /// Concurrent provider task runners (`DefaultConcurrentTasks`).
  public var concurrentTasks = 10
  /// Most want-block entries remembered per peer (Swift bound; extra wants are ignored).
  public var maxWantsPerPeer = 65_536
  /// Most addresses remembered as "peer has it" per peer (Swift bound).
  public var maxKnownPerPeer = 1 << 20
  /// Store lookups per serving pass of one peer (Swift bound, keeps the runners fair).
  public var maxLookupsPerPass = 64
  /// Serving passes of one peer running at once on different task runners (Swift bound): a fast peer's link stays
  /// busy while one pass reads the store and another sends; a peer whose sends hang holds at most this many runners.
  public var maxPassesPerPeer = 1
  /// Delivery bytes queued on one peer's link before its serving passes wait (Swift bound): the next pass reads the
  /// store while the previous message is written, and a slow link holds at most this much memory.
  public var maxQueuedDeliveryBytes = 3 << 20
  /// Want-blocks outstanding at one peer at a time (Swift addition; nim has no limit). High enough that one peer
  /// can keep a whole prefetch window in flight (many blocks per round trip).
  public var maxInflightPerPeer = 512
  /// How long after a want-have a peer that has not answered it still counts as a possible holder when the
  /// in-flight share of each holder is computed (`BlockExchangeEngine.inflightCap`; Swift addition). Peers without
  /// the block say nothing (want-haves go out without `sendDontHave`), so this bounds the wait for them.
  public var presenceGrace: Duration = .milliseconds(500)
  /// Fetched blocks queued for the store before reading more from the peers that sent them (Swift bound).
  public var maxStoreQueueBytes = 16 << 20
  /// Most bytes written to the store in one batch (one sync). Well under the prefetch window, so syncing one batch
  /// overlaps with fetching the next instead of stalling the whole window.
  public var maxStoreBatchBytes = 4 << 20
  /// A peer that sent nothing for this long while we wait on it is dropped.
  public var peerActivityTimeout: Duration = .seconds(60)
  /// A want-block unanswered for this long is re-issued to another peer that has the block (Swift addition). The
  /// slow peer stays connected and a late delivery from it is still accepted.
  public var requestTimeout: Duration = .seconds(5)
  /// Passes of the download loop without any provider before a request fails (`--block-retries`).
  public var blockRetries = 3000
  /// Upper bound of the random sleep between passes.
  public var retryInterval: Duration = .seconds(2)
  /// At most one provider search per CID in this interval.
  public var discoveryRateLimit: Duration = .seconds(3)
  /// Knowledge refresh: a peer is re-asked after `minRefreshInterval × backoff`, backoff doubling up to this.
  public var maxRefreshBackoff = 36
  public var minRefreshInterval: Duration = .seconds(1)
  /// Bad deliveries (failed proof, unrequested block, undecodable message) before a peer is evicted.
  public var maxPeerFailures = 3
  /// Re-hash blocks read from the local store before serving them (never send a delivery that does not match its
  /// CID: the Nim side would close the stream).
  public var verifyServedBlocks = true
  /// Seed of the peer-selection RNG (nil: random).
  public var seed: UInt64? = nil

  public init() {}
}
