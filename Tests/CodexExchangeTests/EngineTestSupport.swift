import CodexFormats
import CodexStore
import Foundation
import LibP2P
import Logging
import Multiformats
import Synchronization

@testable import CodexExchange

func testLogger() -> Logger {
  var l = Logger(label: "exchange-test")
  l.logLevel =
    ProcessInfo.processInfo.environment["BLOCKEXC_TEST_LOG"].flatMap { Logger.Level(rawValue: $0) } ?? .critical
  return l
}

func randomPeer() -> PeerID { PeerID(publicKey: PrivateKey.generateSecp256k1().publicKey) }

/// One engine on an in-memory hub.
struct TestNode: Sendable {
  let peer: PeerID
  let store: MemoryBlockStore
  let network: InMemoryExchangeNetwork
  let engine: BlockExchangeEngine
  let networkStore: NetworkStore
  let discovery: StaticDiscovery
}

/// Fast timers so tests finish quickly; nothing asserts on time.
func fastConfig(seed: UInt64 = 1) -> ExchangeConfig {
  var c = ExchangeConfig()
  c.retryInterval = .milliseconds(40)
  c.discoveryRateLimit = .milliseconds(40)
  c.minRefreshInterval = .milliseconds(40)
  c.peerActivityTimeout = .seconds(5)
  c.seed = seed
  return c
}

extension InMemoryExchangeHub {
  func node(config: ExchangeConfig = fastConfig(), blockTimeout: Duration? = .seconds(20)) async throws -> TestNode {
    let peer = randomPeer()
    let store = MemoryBlockStore()
    let network = makeNetwork(peer: peer)
    let discovery = StaticDiscovery()
    let engine = BlockExchangeEngine(
      network: network, store: store, discovery: discovery, config: config, logger: testLogger())
    try await engine.start()
    return TestNode(
      peer: peer, store: store, network: network, engine: engine,
      networkStore: NetworkStore(local: store, engine: engine, blockTimeout: blockTimeout), discovery: discovery)
  }
}

/// A scripted peer: records every message it receives; the test sends whatever it likes.
final class RawPeer: ExchangeNetworkHandler, Sendable {
  let network: InMemoryExchangeNetwork
  private let box = Mutex<[Message]>([])
  private let malformedCount = Mutex(0)

  let log: ArrivalLog?

  init(hub: InMemoryExchangeHub, log: ArrivalLog? = nil) async throws {
    network = hub.makeNetwork(peer: randomPeer())
    self.log = log
    try await network.start(handler: self)
  }

  var peer: PeerID { network.localPeer }
  var messages: [Message] { box.withLock { $0 } }

  func peerConnected(_ peer: PeerID) async {}
  func peerDisconnected(_ peer: PeerID) async {}
  func received(_ message: Message, from peer: PeerID) async {
    box.withLock { $0.append(message) }
    if !message.payload.isEmpty { log?.append(self.peer) }
  }
  func receivedMalformed(from peer: PeerID, error: MessageError) async { malformedCount.withLock { $0 += 1 } }

  func send(_ m: Message, to peer: PeerID) async throws { try await network.send(m, to: peer) }

  /// Waits until `condition` holds on the received messages (bounded).
  func waitFor(
    _ what: String = "", timeout: Duration = .seconds(60), _ condition: @escaping @Sendable ([Message]) -> Bool
  ) async -> Bool {
    await eventually(timeout: timeout) { condition(self.messages) }
  }
}

/// Polls `condition` until true or timeout; returns its final value.
func eventually(timeout: Duration = .seconds(60), _ condition: @Sendable () async -> Bool) async -> Bool {
  let clock = ContinuousClock()
  let deadline = clock.now.advanced(by: timeout)
  while clock.now < deadline {
    if await condition() { return true }
    try? await Task.sleep(for: .milliseconds(10))
  }
  return await condition()
}

/// The order in which raw peers received block deliveries.
final class ArrivalLog: Sendable {
  private let entries = Mutex<[PeerID]>([])
  func append(_ p: PeerID) { entries.withLock { $0.append(p) } }
  var order: [PeerID] { entries.withLock { $0 } }
}
