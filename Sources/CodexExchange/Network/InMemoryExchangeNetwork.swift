import LibP2P
import Multiformats
import NIOCore
import Synchronization

/// Connects `InMemoryExchangeNetwork` endpoints in one process, so several engines can be tested together
/// deterministically. Messages really are encoded and decoded (as on the wire), in order per direction.
public final class InMemoryExchangeHub: Sendable {
  private struct Key: Hashable {
    let from: PeerID
    let to: PeerID
  }
  private struct State {
    var endpoints: [PeerID: InMemoryExchangeNetwork] = [:]
    var links: [Key: AsyncStream<[UInt8]>.Continuation] = [:]
    var sent: [(from: PeerID, to: PeerID, deliveries: Int)] = []
  }
  private let state = Mutex(State())

  public init() {}

  /// A new endpoint for `peer` on this hub.
  public func makeNetwork(peer: PeerID) -> InMemoryExchangeNetwork {
    let n = InMemoryExchangeNetwork(peer: peer, hub: self)
    state.withLock { $0.endpoints[peer] = n }
    return n
  }

  /// Connects two endpoints (both directions); returns after both handlers heard of it.
  public func connect(_ a: PeerID, _ b: PeerID) async throws {
    let ends = try state.withLock { s -> (InMemoryExchangeNetwork, InMemoryExchangeNetwork)? in
      guard let ea = s.endpoints[a] else { throw ExchangeError.notConnected(a) }
      guard let eb = s.endpoints[b] else { throw ExchangeError.notConnected(b) }
      if s.links[Key(from: a, to: b)] != nil { return nil }
      s.links[Key(from: a, to: b)] = makeLink(from: a, to: eb)
      s.links[Key(from: b, to: a)] = makeLink(from: b, to: ea)
      return (ea, eb)
    }
    guard let (ea, eb) = ends else { return }
    await ea.handler?.peerConnected(b)
    await eb.handler?.peerConnected(a)
  }

  private func makeLink(from: PeerID, to receiver: InMemoryExchangeNetwork) -> AsyncStream<[UInt8]>.Continuation {
    let (stream, continuation) = AsyncStream<[UInt8]>.makeStream()
    let key = Key(from: from, to: receiver.localPeer)
    Task { [weak self] in
      for await bytes in stream {
        // Messages still queued when the link was cut are lost, as on a closed connection.
        guard let self, self.state.withLock({ $0.links[key] != nil }) else { continue }
        guard let handler = receiver.handler else { continue }
        let decoded: Result<Message, MessageError> = Result { () throws(MessageError) in try Message(encoded: bytes) }
        switch decoded {
        case .success(let m): await handler.received(m, from: from)
        case .failure(let error): await handler.receivedMalformed(from: from, error: error)
        }
      }
    }
    return continuation
  }

  /// Cuts the link between `a` and `b`; both handlers hear `peerDisconnected`.
  public func disconnect(_ a: PeerID, _ b: PeerID) async {
    let ends = state.withLock { s -> (InMemoryExchangeNetwork?, InMemoryExchangeNetwork?)? in
      guard let l1 = s.links.removeValue(forKey: Key(from: a, to: b)) else { return nil }
      l1.finish()
      s.links.removeValue(forKey: Key(from: b, to: a))?.finish()
      return (s.endpoints[a], s.endpoints[b])
    }
    guard let (ea, eb) = ends else { return }
    await ea?.handler?.peerDisconnected(b)
    await eb?.handler?.peerDisconnected(a)
  }

  /// Takes `peer` off the hub (as if its process died): every link to it is cut.
  public func remove(_ peer: PeerID) async {
    let others = state.withLock { s -> [PeerID] in
      s.endpoints[peer] = nil
      return s.links.keys.filter { $0.from == peer }.map(\.to)
    }
    for o in others { await disconnect(peer, o) }
  }

  /// The last 10 000 messages sent through the hub, in send order: sender, receiver, number of deliveries.
  public var sendLog: [(from: PeerID, to: PeerID, deliveries: Int)] { state.withLock { $0.sent } }

  func record(from: PeerID, to: PeerID, deliveries: Int) {
    state.withLock { s in
      if s.sent.count >= 10_000 { s.sent.removeFirst(s.sent.count - 9_999) }
      s.sent.append((from, to, deliveries))
    }
  }

  /// Peers linked to `peer`.
  public func neighbours(of peer: PeerID) -> [PeerID] {
    state.withLock { s in s.links.keys.filter { $0.from == peer }.map(\.to) }
  }

  func deliver(_ bytes: [UInt8], from: PeerID, to: PeerID) throws {
    guard bytes.count <= Message.maxSize else { throw MessageError.tooLarge(bytes.count, limit: Message.maxSize) }
    let link = state.withLock { $0.links[Key(from: from, to: to)] }
    guard let link else { throw ExchangeError.notConnected(to) }
    link.yield(bytes)
  }
}

/// One node's endpoint on an `InMemoryExchangeHub`.
public final class InMemoryExchangeNetwork: ExchangeNetwork {
  public let localPeer: PeerID
  private let hub: InMemoryExchangeHub
  private let handlerBox = Mutex<(any ExchangeNetworkHandler)?>(nil)

  init(peer: PeerID, hub: InMemoryExchangeHub) {
    localPeer = peer
    self.hub = hub
  }

  var handler: (any ExchangeNetworkHandler)? { handlerBox.withLock { $0 } }

  public func start(handler: any ExchangeNetworkHandler) async throws {
    handlerBox.withLock { $0 = handler }
  }

  public func stop() async {
    await hub.remove(localPeer)
    handlerBox.withLock { $0 = nil }
  }

  public func send(_ message: Message, to peer: PeerID) async throws {
    try hub.deliver(message.encoded, from: localPeer, to: peer)
    hub.record(from: localPeer, to: peer, deliveries: message.payload.count)
  }

  /// Sends the framed message's body as it is (no decoding, as `send(_:to:)` sends an encoded message).
  public func send(framed frame: ByteBuffer, to peer: PeerID) async throws {
    let body = try MessageFraming.body(of: frame)
    try hub.deliver(body, from: localPeer, to: peer)
    hub.record(from: localPeer, to: peer, deliveries: try readProtobuf(body).repeatedSlices(3).count)
  }

  /// Sends raw bytes as one message body (tests use it to inject garbage).
  public func sendRaw(_ bytes: [UInt8], to peer: PeerID) throws {
    try hub.deliver(bytes, from: localPeer, to: peer)
  }

  public func connect(_ provider: ProviderInfo) async throws {
    try await hub.connect(localPeer, provider.peer)
  }

  public func disconnect(_ peer: PeerID) async {
    await hub.disconnect(localPeer, peer)
  }
}
