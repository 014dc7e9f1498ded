import CodexFormats
import CodexStore
import LibP2P
import Logging
import Multiformats
import Synchronization

/// Block exchange wired for a node: the engine on a libp2p host, a `NetworkStore` over the local store, and
/// discovery for providers and announcements. This is what `CodexNode` starts.
///
/// ```swift
/// let exchange = Exchange(host: host, store: repo, discovery: discovery, logger: logger)
/// try await exchange.start()              // mounts /codex/blockexc/1.0.0 on host.registry
/// try await exchange.connect(peer: id, addresses: addrs)
/// let manifest = try await exchange.networkStore.manifest(cid)
/// for try await chunk in exchange.networkStore.bytes(of: manifest) { ... }     // GET /data/{cid}/network/stream
/// try await exchange.networkStore.fetchDataset(manifest)                        // POST /data/{cid}/network
/// await exchange.announce(manifestCid: cid, manifest: manifest)                 // after an upload
/// await exchange.stop()
/// ```
public final class Exchange: Sendable {
  public let host: P2PHost
  public let network: LibP2PExchangeNetwork
  public let engine: BlockExchangeEngine
  /// Reads locally, fetches what is missing; use it wherever the node reads dataset blocks.
  public let networkStore: NetworkStore
  public let discovery: any Discovery
  let logger: Logger
  private let advertiser = Mutex<Task<Void, Never>?>(nil)

  /// - Parameters:
  ///   - host: a started or not-yet-started libp2p host; `start()` mounts the protocol on it.
  ///   - store: the local store (the repo).
  ///   - blockTimeout: how long a read through `networkStore` waits for one missing block.
  public init(
    host: P2PHost, store: any BlockStore, discovery: any Discovery, config: ExchangeConfig = ExchangeConfig(),
    blockTimeout: Duration? = .seconds(300), logger: Logger
  ) {
    self.host = host
    self.discovery = discovery
    self.logger = logger
    network = LibP2PExchangeNetwork(host: host, logger: logger)
    engine = BlockExchangeEngine(network: network, store: store, discovery: discovery, config: config, logger: logger)
    networkStore = NetworkStore(local: store, engine: engine, blockTimeout: blockTimeout)
  }

  /// Mounts the protocol and starts the engine. Peers already connected to the host are added.
  public func start() async throws { try await engine.start() }

  /// Unmounts the protocol and stops the engine; pending reads fail with `ExchangeError.stopped`.
  public func stop() async {
    advertiser.withLock { t in
      t?.cancel()
      t = nil
    }
    await engine.stop()
  }

  /// Re-announces every stored dataset (manifest CID and tree CID) now and then every `interval`
  /// (`DefaultAdvertiseLoopSleep`, 30 minutes), at most 10 announcements at a time. `datasets` lists the local
  /// manifests as (manifest CID, manifest). Replaces an earlier loop; `stop()` ends it.
  public func startAdvertising(
    interval: Duration = .seconds(1800), datasets: @escaping @Sendable () async -> [(Cid, Manifest)]
  ) {
    let task = Task { [weak self] in
      while !Task.isCancelled {
        guard let self else { return }
        let list = await datasets()
        await withTaskGroup(of: Void.self) { group in
          var running = 0
          for (cid, manifest) in list {
            if running >= 10 {
              await group.next()
              running -= 1
            }
            group.addTask { await self.announce(manifestCid: cid, manifest: manifest) }
            running += 1
          }
        }
        try? await Task.sleep(for: interval)
      }
    }
    advertiser.withLock { t in
      t?.cancel()
      t = task
    }
  }

  /// Dials `peer` at `addresses` (if not connected); the engine then exchanges want-lists with it.
  /// If `discovery` is a `StaticDiscovery`, the peer is remembered as a provider.
  public func connect(peer: PeerID, addresses: [Multiaddr]) async throws {
    let info = ProviderInfo(peer: peer, addresses: addresses)
    try await network.connect(info)
    (discovery as? StaticDiscovery)?.add(info)
  }

  /// Announces a stored dataset: the manifest CID and its tree CID (`blockexc.md` §4.3). Errors are logged.
  public func announce(manifestCid: Cid, manifest: Manifest) async {
    for cid in [manifestCid, manifest.treeCid] {
      do {
        try await discovery.provide(cid)
      } catch {
        logger.warning("announce failed", metadata: ["cid": "\(cid)", "error": "\(error)"])
      }
    }
  }
}
